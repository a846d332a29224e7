/**
 * Moving a whole umpin database between engines (`umpin export` / `umpin import`) as JSON lines:
 * a header line, then one record per row, each with its `type` and the row's columns by their
 * column names. Verifiers move as they are (binary columns as base64), so no PIN, password or
 * API key changes; they verify only under the same server secret, which the header names by key id.
 * Each verifier carries the id of the server key it was made under (KEY_ID_COLUMNS); an export made
 * before keys could be rotated lacks those fields, and its verifiers are all under the header's key.
 *
 * This works on the tables through Kysely rather than through the PinStore: it is a copy of rows,
 * not an operation in the service's words, and the PinStore stays narrow.
 */
import type { Kysely } from 'kysely';
import { TransferRefused } from '../errors.ts';
import type { Engine } from './migrations.ts';
import { SERVER_KEY_ID, type Database } from './schema.ts';

export const EXPORT_FORMAT = 'umpin-export';
/** Bumped when a record's columns change incompatibly; an import refuses a version it does not know. */
export const EXPORT_VERSION = 1;

/** Rows read per query while exporting; keeps memory flat for any number of mailboxes. */
const PAGE_SIZE = 500;

type ColumnKind = 'text' | 'int' | 'bytes';
interface Column {
  readonly kind: ColumnKind;
  readonly nullable: boolean;
}
const text: Column = { kind: 'text', nullable: false };
const textOrNull: Column = { kind: 'text', nullable: true };
const int: Column = { kind: 'int', nullable: false };
const intOrNull: Column = { kind: 'int', nullable: true };
const bytes: Column = { kind: 'bytes', nullable: false };
const bytesOrNull: Column = { kind: 'bytes', nullable: true };

interface RecordKind {
  readonly table: keyof Database;
  /** The key rows are paged and written in: history and audit keep their order, and with it their meaning. */
  readonly orderBy: string;
  readonly columns: Readonly<Record<string, Column>>;
}

/**
 * In the order they are written and must be imported (a mailbox names its policy, history its mailbox).
 * Not exported: pending PIN changes (refused, see exportDatabase), the autoincrement ids of history and
 * audit rows (the target numbers them anew, in the same order), and Kysely's migration tables.
 */
const RECORD_KINDS = {
  policy: {
    table: 'policies',
    orderBy: 'name',
    columns: {
      name: text, min_pin_length: int, pin_lifetime_days: intOrNull, pin_history_count: int, allow_common_patterns: int, strict_rules: int,
      logon_failures_before_pin_reset: intOrNull, max_logon_attempts: intOrNull, reset_pin_text: text, um_enabled_text: text,
    },
  },
  user: { table: 'users', orderBy: 'login', columns: { login: text, password_verifier: text, password_key_id: text, created_at: text, updated_at: text } },
  mailbox: {
    table: 'mailboxes',
    orderBy: 'login',
    columns: {
      login: text, email: text, notify_email: textOrNull, extension: text, language: text, policy_name: text, first_name: text, last_name: text,
      pin_salt: bytes, pin_verifier: bytesOrNull, pin_key_id: textOrNull, pin_length: intOrNull, pin_set_at: textOrNull, pin_expired: int, first_time_user: int,
      locked_out: int, failed_logons: int, pin_generation: int, created_at: text,
      oof_status: int, missed_call_notification: int, play_on_phone_dial_string: text, telephone_access_folder: text,
    },
  },
  'pin-history': { table: 'pin_history', orderBy: 'id', columns: { login: text, pin_verifier: bytes, key_id: text, retired_at: text } },
  'api-key': { table: 'api_keys', orderBy: 'id', columns: { id: text, name: text, verifier: bytes, key_id: text, created_at: text, revoked_at: textOrNull } },
  audit: {
    table: 'audit_events',
    orderBy: 'id',
    columns: { at: text, event: text, outcome: text, login: textOrNull, actor: text, source: text, detail: text },
  },
} as const satisfies Readonly<Record<string, RecordKind>>;

export type RecordType = keyof typeof RECORD_KINDS;

/**
 * Each record type's verifier key id column. Added without a version bump (version 1 files from before
 * rotation lack them, and still import: see parseRecordLine); an older umpin refuses a newer file by
 * naming the field it does not know.
 */
const KEY_ID_COLUMNS: Readonly<Partial<Record<RecordType, string>>> = {
  user: 'password_key_id', mailbox: 'pin_key_id', 'pin-history': 'key_id', 'api-key': 'key_id',
};
/**
 * Columns added after version 1 files were first written, with the value a row made before them has
 * (migration 0005's defaults): an older export lacks them and still imports.
 */
const LATER_COLUMNS: Readonly<Partial<Record<RecordType, Readonly<Record<string, unknown>>>>> = {
  mailbox: { oof_status: 0, missed_call_notification: 1, play_on_phone_dial_string: '', telephone_access_folder: '' },
};
export const RECORD_TYPES = Object.keys(RECORD_KINDS) as RecordType[];
export type RecordCounts = Readonly<Record<RecordType, number>>;

/** The first line of an export. */
export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: typeof EXPORT_VERSION;
  /** The server secret the verifiers are peppered with; null when the source never bound one (it then holds no verifiers). */
  readonly keyId: string | null;
  readonly exportedAt: string;
  readonly engine: Engine;
  /** How many records of each type follow: an import that reads fewer knows the file was cut short. */
  readonly counts: RecordCounts;
}

/** Tables addressed by name at run time; the column lists above are what keeps this honest. */
type AnyRow = Record<string, unknown>;
type AnyDatabase = Kysely<Record<string, AnyRow>>;

export interface ExportOptions {
  readonly engine: Engine;
  readonly now: Date;
  readonly includeAudit: boolean;
  /** Receives each line (with its newline) and resolves when it may be given the next. */
  readonly write: (line: string) => Promise<void>;
  readonly onProgress?: (done: number, total: number, type: RecordType) => void;
}

/**
 * Writes the header and every record, from one consistent snapshot (a repeatable-read transaction on
 * PostgreSQL; on SQLite a read transaction, which WAL keeps stable while the service writes).
 */
export async function exportDatabase(db: Kysely<Database>, options: ExportOptions): Promise<ExportHeader> {
  const types = RECORD_TYPES.filter((type) => type !== 'audit' || options.includeAudit);
  const transaction = options.engine === 'postgres' ? db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only') : db.transaction();
  return transaction.execute(async (trx) => {
    const tables = trx as unknown as AnyDatabase;
    await checkNoPendingChanges(tables);
    const key = await tables.selectFrom('umpin_meta').select('value').where('key', '=', SERVER_KEY_ID).executeTakeFirst();
    const counts = Object.fromEntries(RECORD_TYPES.map((type) => [type, 0])) as Record<RecordType, number>;
    for (const type of types) counts[type] = await countRows(tables, RECORD_KINDS[type].table);
    const header: ExportHeader = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      keyId: typeof key?.value === 'string' ? key.value : null,
      exportedAt: options.now.toISOString(),
      engine: options.engine,
      counts,
    };
    await options.write(`${JSON.stringify(header)}\n`);
    const total = types.reduce((sum, type) => sum + counts[type], 0);
    let done = 0;
    for (const type of types) {
      for await (const row of pageThrough(tables, RECORD_KINDS[type])) {
        await options.write(`${JSON.stringify(encodeRecord(type, row))}\n`);
        done += 1;
        if (done % 100 === 0 || done === total) options.onProgress?.(done, total, type);
      }
    }
    return header;
  });
}

/**
 * A pending change holds a PIN mail sealed for this process's outbox and a lease owned by a process on
 * this host; neither means anything in another database, and dropping it silently would lose a PIN mail.
 */
async function checkNoPendingChanges(tables: AnyDatabase): Promise<void> {
  const pending = await countRows(tables, 'pending_pin_changes');
  if (pending === 0) return;
  throw new TransferRefused(
    `${pending} PIN change${pending === 1 ? ' is' : 's are'} pending (a PIN mail waiting in the outbox or being handed off), and pending changes cannot be exported. ` +
      'Let the running service deliver them, or drop them with "umpin outbox drop <id>" ("umpin outbox" lists them); then stop the service and export again.',
  );
}

async function countRows(tables: AnyDatabase, table: string): Promise<number> {
  const row = await tables.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Keyset paging: each query starts after the last key seen, so a page costs the same at any depth. */
async function* pageThrough(tables: AnyDatabase, kind: RecordKind): AsyncGenerator<AnyRow> {
  let last: unknown;
  for (;;) {
    let query = tables.selectFrom(kind.table).selectAll().orderBy(kind.orderBy).limit(PAGE_SIZE);
    if (last !== undefined) query = query.where(kind.orderBy, '>', last);
    const rows = await query.execute();
    yield* rows;
    if (rows.length < PAGE_SIZE) return;
    last = rows[rows.length - 1]?.[kind.orderBy];
  }
}

function encodeRecord(type: RecordType, row: AnyRow): AnyRow {
  const record: AnyRow = { type };
  for (const [name, column] of Object.entries(RECORD_KINDS[type].columns as Readonly<Record<string, Column>>)) {
    const value = row[name];
    record[name] = column.kind === 'bytes' && value != null ? Buffer.from(value as Uint8Array).toString('base64') : value;
  }
  return record;
}

// ---- import -------------------------------------------------------------------------------------

const NOTHING_IMPORTED = 'nothing was imported';

/** Reads and checks line 1; anything else in its place means this is not an umpin export. */
export function parseExportHeader(line: string | undefined): ExportHeader {
  if (line === undefined) throw new TransferRefused(`The input is empty; give the file "umpin export" wrote. ${capitalised(NOTHING_IMPORTED)}.`);
  const refuse = (why: string): never => {
    throw new TransferRefused(`Line 1 is not the header of an umpin export (${why}); give the file "umpin export" wrote, unchanged. ${capitalised(NOTHING_IMPORTED)}.`);
  };
  const header = parseJsonObject(line) ?? refuse('not a JSON object');
  if (header.format !== EXPORT_FORMAT) refuse(`"format" is not "${EXPORT_FORMAT}"`);
  if (header.version !== EXPORT_VERSION) {
    throw new TransferRefused(
      `The export is in format version ${JSON.stringify(header.version)}, and this umpin reads version ${EXPORT_VERSION} only; ` +
        `import it with the umpin version that wrote it, or a newer one. ${capitalised(NOTHING_IMPORTED)}.`,
    );
  }
  if (header.keyId !== null && (typeof header.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(header.keyId))) refuse('"keyId" is not a key id');
  if (typeof header.exportedAt !== 'string') refuse('"exportedAt" is missing');
  if (header.engine !== 'sqlite' && header.engine !== 'postgres') refuse('"engine" is neither sqlite nor postgres');
  const counts = header.counts as Record<string, unknown> | undefined;
  if (typeof counts !== 'object' || counts === null || RECORD_TYPES.some((type) => !Number.isSafeInteger(counts[type]) || (counts[type] as number) < 0)) {
    refuse('"counts" does not give a count for every record type');
  }
  return header as unknown as ExportHeader;
}

/** The export's verifiers are peppered with its secret: under any other secret no PIN or password would verify. */
export function checkExportKey(header: ExportHeader, target: { keyId: string; file: string }): void {
  if (header.keyId === null || header.keyId === target.keyId) return;
  throw new TransferRefused(
    `The export was made with the server secret whose key id is ${header.keyId}, but UMPIN_SECRET_FILE (${target.file}) has key id ${target.keyId}. ` +
      'Every password, PIN and API key verifier is bound to the source\'s secret, so with this one none would verify. ' +
      `Point UMPIN_SECRET_FILE at a copy of the source's secret file and import again; ${NOTHING_IMPORTED}.`,
  );
}

export interface ImportOptions {
  readonly onProgress?: (done: number, total: number, type: RecordType) => void;
}

/**
 * Imports every record after the header into an empty database, in one transaction: any refused line
 * (its number is in the message), a non-empty target or a file cut short rolls everything back.
 * `lines` yields the lines after the header; their numbers start at 2.
 */
export async function importRecords(db: Kysely<Database>, header: ExportHeader, lines: AsyncIterable<string>, options: ImportOptions = {}): Promise<RecordCounts> {
  const total = RECORD_TYPES.reduce((sum, type) => sum + header.counts[type], 0);
  return db.transaction().execute(async (trx) => {
    const tables = trx as unknown as AnyDatabase;
    await checkEmptyTarget(tables, header);
    const counts = Object.fromEntries(RECORD_TYPES.map((type) => [type, 0])) as Record<RecordType, number>;
    let lineNumber = 1;
    let done = 0;
    for await (const line of lines) {
      lineNumber += 1;
      const { type, row } = parseRecordLine(line, lineNumber, header);
      await insertRecord(tables, type, row, lineNumber);
      counts[type] += 1;
      done += 1;
      if (done % 100 === 0 || done === total) options.onProgress?.(done, total, type);
    }
    for (const type of RECORD_TYPES) {
      if (counts[type] !== header.counts[type]) {
        throw new TransferRefused(
          `The file holds ${counts[type]} ${type} record${counts[type] === 1 ? '' : 's'} but its header announces ${header.counts[type]}: ` +
            `it was cut short or edited. Export again and import the whole file; ${NOTHING_IMPORTED}.`,
        );
      }
    }
    if (header.keyId !== null) {
      await tables.insertInto('umpin_meta').values({ key: SERVER_KEY_ID, value: header.keyId }).onConflict((oc) => oc.column('key').doNothing()).execute();
    }
    return counts;
  });
}

/**
 * Import fills a new database only: merging two sets of mailboxes raises questions (whose policy,
 * whose history, which extension) that a copy should not answer silently. A fresh database holds
 * the default policy (from its first migration) and nothing else.
 */
async function checkEmptyTarget(tables: AnyDatabase, header: ExportHeader): Promise<void> {
  const held: string[] = [];
  for (const [table, one, many] of [
    ['users', 'user', 'users'], ['mailboxes', 'mailbox', 'mailboxes'], ['pin_history', 'PIN history entry', 'PIN history entries'],
    ['pending_pin_changes', 'pending PIN change', 'pending PIN changes'], ['api_keys', 'API key', 'API keys'], ['audit_events', 'audit event', 'audit events'],
  ] as const) {
    const n = await countRows(tables, table);
    if (n > 0) held.push(`${n} ${n === 1 ? one : many}`);
  }
  const policies = await tables.selectFrom('policies').select('name').where('name', '!=', 'default').execute();
  if (policies.length > 0) held.push(`${policies.length} polic${policies.length === 1 ? 'y' : 'ies'} besides "default"`);
  if (held.length > 0) {
    throw new TransferRefused(
      `The target database already holds data (${held.join(', ')}); import fills a new, empty database only. ` +
        `Point UMPIN_DATABASE_URL at a new PostgreSQL schema or database, or a new SQLite file, and import again; ${NOTHING_IMPORTED}.`,
    );
  }
  const bound = await tables.selectFrom('umpin_meta').select('value').where('key', '=', SERVER_KEY_ID).executeTakeFirst();
  if (bound !== undefined && header.keyId !== null && bound.value !== header.keyId) {
    throw new TransferRefused(
      `The target database is bound to the server secret with key id ${String(bound.value)}, and the export to key id ${header.keyId}. ` +
        `Import into a new database with the source's secret file; ${NOTHING_IMPORTED}.`,
    );
  }
}

function parseRecordLine(line: string, lineNumber: number, header: ExportHeader): { type: RecordType; row: AnyRow } {
  const refuse = (why: string): never => {
    throw new TransferRefused(`Line ${lineNumber} is not a valid export record (${why}); ${NOTHING_IMPORTED}. Export again, and do not edit the file.`);
  };
  const record = parseJsonObject(line) ?? refuse(line.trim() === '' ? 'it is empty' : 'not a JSON object');
  const type = record.type;
  if (typeof type !== 'string' || !Object.hasOwn(RECORD_KINDS, type)) refuse(`unknown type ${JSON.stringify(type)}`);
  const columns = RECORD_KINDS[type as RecordType].columns as Readonly<Record<string, Column>>;
  const unknown = Object.keys(record).filter((name) => name !== 'type' && !Object.hasOwn(columns, name));
  if (unknown.length > 0) refuse(`unknown field ${JSON.stringify(unknown[0])}`);
  const row: AnyRow = {};
  const keyIdColumn = KEY_ID_COLUMNS[type as RecordType];
  for (const [name, column] of Object.entries(columns)) {
    if (name === keyIdColumn && !Object.hasOwn(record, name)) {
      // Made before rotation existed: under the one key the source was bound to. A mailbox without a PIN has no key.
      row[name] = type === 'mailbox' && record.pin_verifier === null ? null : (header.keyId ?? '');
      continue;
    }
    const later = LATER_COLUMNS[type as RecordType];
    if (later !== undefined && Object.hasOwn(later, name) && !Object.hasOwn(record, name)) {
      row[name] = later[name];
      continue;
    }
    if (!Object.hasOwn(record, name)) refuse(`"${name}" is missing`);
    const value = decodeValue(record[name], column);
    if (value === INVALID) refuse(`"${name}" is not ${describeColumn(column)}`);
    row[name] = value;
  }
  return { type: type as RecordType, row };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const INVALID = Symbol('invalid');

/** The column's value, or INVALID when the JSON value does not fit it (null fits a nullable column). */
function decodeValue(value: unknown, column: Column): unknown {
  if (value === null) return column.nullable ? null : INVALID;
  if (column.kind === 'text') return typeof value === 'string' ? value : INVALID;
  if (column.kind === 'int') return Number.isSafeInteger(value) ? value : INVALID;
  return typeof value === 'string' && BASE64.test(value) ? Buffer.from(value, 'base64') : INVALID;
}

function describeColumn(column: Column): string {
  const what = { text: 'a string', int: 'a whole number', bytes: 'base64' }[column.kind];
  return column.nullable ? `${what} or null` : what;
}

async function insertRecord(tables: AnyDatabase, type: RecordType, row: AnyRow, lineNumber: number): Promise<void> {
  const { table } = RECORD_KINDS[type];
  try {
    // The target's default policy (from its first migration) takes the source's settings.
    if (type === 'policy') await tables.insertInto(table).values(row).onConflict((oc) => oc.column('name').doUpdateSet(row)).execute();
    else await tables.insertInto(table).values(row).execute();
  } catch (error) {
    throw new TransferRefused(
      `Line ${lineNumber}: the database refused this ${type} record (${error instanceof Error ? error.message : String(error)}); ` +
        `${NOTHING_IMPORTED}. Export again, and do not edit the file.`,
      { cause: error },
    );
  }
}

function parseJsonObject(line: string): AnyRow | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AnyRow) : undefined;
  } catch {
    return undefined;
  }
}

function capitalised(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
