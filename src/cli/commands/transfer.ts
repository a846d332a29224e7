/**
 * `umpin export` and `umpin import`: move every mailbox, policy, user, PIN history entry, API key and
 * audit event to another database (SQLite → PostgreSQL) as JSON lines, without anyone's PIN changing.
 */
import { once } from 'node:events';
import { createReadStream, existsSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { describeDatabase, loadConfig } from '../../config.ts';
import { loadOrCreateServerSecret } from '../../crypto/secret-key.ts';
import { TransferRefused } from '../../errors.ts';
import { openMigratedDatabase } from '../../store/index.ts';
import { checkExportKey, exportDatabase, importRecords, parseExportHeader, RECORD_TYPES, type RecordCounts } from '../../store/transfer.ts';
import { print, stringOption, type Command } from '../command.ts';
import { progressLine } from '../io.ts';

const NOUNS: Readonly<Record<(typeof RECORD_TYPES)[number], readonly [string, string]>> = {
  policy: ['policy', 'policies'],
  user: ['user', 'users'],
  mailbox: ['mailbox', 'mailboxes'],
  'pin-history': ['PIN history entry', 'PIN history entries'],
  'api-key': ['API key', 'API keys'],
  audit: ['audit event', 'audit events'],
};

function describeCounts(counts: RecordCounts): string {
  return RECORD_TYPES.map((type) => `${counts[type]} ${NOUNS[type][counts[type] === 1 ? 0 : 1]}`).join(', ');
}

export const TRANSFER_COMMANDS: readonly Command[] = [
  {
    name: 'export',
    usage: 'umpin export [--output <file>] [--no-audit]',
    summary: 'write the whole database as JSON lines, to move it to another engine',
    help: `Writes a header line (format, version, the server secret's key id, time, engine,
record counts) and then one JSON record per policy, user, mailbox, PIN history
entry, API key and audit event, read from one consistent snapshot. Secrets are
exported only as the verifiers the database holds (binary columns as base64),
never a PIN or password in clear; but those verifiers are what an attacker
would want, so keep the file as safe as the database: --output writes it with
mode 0600 (it must not exist yet), otherwise it goes to standard output.

The export is refused while PIN changes are pending (mails in the outbox or
being handed off): let the service deliver them or "umpin outbox drop" them.
Stop the service before exporting, so that nothing changes after the snapshot.
--no-audit leaves the audit trail out.`,
    examples: [
      'umpin export --output umpin.jsonl',
      'umpin export | UMPIN_DATABASE_URL=postgres://umpin@db/umpin umpin import',
    ],
    options: { output: { type: 'string' }, 'no-audit': { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const config = loadConfig();
      const output = stringOption(options, 'output');
      if (output !== undefined && existsSync(output)) {
        throw new TransferRefused(`${output} already exists; choose a new file name, or remove it first. Nothing was exported.`);
      }
      const database = await openMigratedDatabase(config.database);
      const progress = progressLine();
      const sink = output === undefined ? stdoutSink() : await fileSink(output);
      try {
        const header = await exportDatabase(database.db, {
          engine: database.engine,
          now: new Date(),
          includeAudit: options['no-audit'] !== true,
          write: sink.write,
          onProgress: (done, total, type) => progress.update(done, total, type),
        });
        await sink.finish();
        progress.clear();
        const summary = `Exported ${describeCounts(header.counts)} from ${describeDatabase(config.database)} (server secret key id ${header.keyId ?? 'none'}). ` +
          'Import it with the same UMPIN_SECRET_FILE: umpin import <file>';
        // On standard output the records are the output; the summary must not end up in the file.
        if (output === undefined) console.error(summary);
        else print(summary);
      } catch (error) {
        progress.clear();
        await sink.abandon();
        throw error;
      } finally {
        await database.close();
      }
    },
  },
  {
    name: 'import',
    usage: 'umpin import [<file>]',
    summary: 'load an export into a new, empty database (PINs keep working)',
    help: `Reads what "umpin export" wrote, from <file> or standard input, into the
database UMPIN_DATABASE_URL names, in one transaction. UMPIN_SECRET_FILE must be
a copy of the source's secret file: every verifier is bound to it, and an
export whose key id differs is refused before anything is written.

The target must be new: its schema is created (migrated) if needed, and an
import into a database that holds any user, mailbox, policy besides "default",
API key or audit event is refused. A line that is not a valid record is
refused with its line number, and a file shorter than its header announces is
refused; in every refusal nothing is imported.`,
    examples: [
      'UMPIN_DATABASE_URL=postgres://umpin@db.example.com/umpin UMPIN_SECRET_FILE=/etc/umpin/secret.key umpin import umpin.jsonl',
    ],
    options: {},
    positionals: { min: 0, max: 1 },
    async run({ positionals }) {
      const config = loadConfig();
      const file = positionals[0];
      const input = file === undefined || file === '-' ? process.stdin : createReadStream(file);
      const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
      try {
        const first = await lines.next();
        const header = parseExportHeader(first.done === true ? undefined : first.value);
        if (header.keyId !== null) {
          // Creating a new secret here could never match the export's key id; say what to copy instead.
          if (!existsSync(config.secretFile)) {
            throw new TransferRefused(
              `${config.secretFile} does not exist. The export's verifiers are bound to the server secret with key id ${header.keyId}: ` +
                'copy the source\'s secret file there (or point UMPIN_SECRET_FILE at it) and import again; nothing was imported.',
            );
          }
          checkExportKey(header, { keyId: loadOrCreateServerSecret(config.secretFile).secret.keyId, file: config.secretFile });
        }
        const database = await openMigratedDatabase(config.database);
        const progress = progressLine();
        try {
          const counts = await importRecords(database.db, header, { [Symbol.asyncIterator]: () => lines }, {
            onProgress: (done, total, type) => progress.update(done, total, type),
          });
          progress.clear();
          print(`Imported ${describeCounts(counts)} into ${describeDatabase(config.database)}, from a ${header.engine} export of ${header.exportedAt}.`);
        } finally {
          progress.clear();
          await database.close();
        }
      } finally {
        await lines.return?.();
        if (input !== process.stdin) input.destroy();
      }
    },
  },
];

interface Sink {
  write(line: string): Promise<void>;
  finish(): Promise<void>;
  abandon(): Promise<void>;
}

function stdoutSink(): Sink {
  return {
    async write(line) {
      if (!process.stdout.write(line)) await once(process.stdout, 'drain');
    },
    finish: async () => undefined,
    abandon: async () => undefined,
  };
}

/** Lines are gathered up to this many characters per write call: one syscall per line would dominate a large export. */
const FILE_CHUNK = 64 * 1024;

/**
 * The export holds every verifier: 0600 from its first byte, written under a temporary name and
 * renamed only when complete and flushed, so a failed export never leaves a plausible half file.
 */
async function fileSink(path: string): Promise<Sink> {
  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  let pending = '';
  let closed = false;
  const flush = async () => {
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    await handle.write(chunk);
  };
  return {
    async write(line) {
      pending += line;
      if (pending.length >= FILE_CHUNK) await flush();
    },
    async finish() {
      await flush();
      await handle.sync();
      closed = true;
      await handle.close();
      await rename(temporary, path);
    },
    async abandon() {
      if (!closed) await handle.close().catch(() => undefined);
      await unlink(temporary).catch(() => undefined);
    },
  };
}
