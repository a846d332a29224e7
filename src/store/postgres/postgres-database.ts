import { Kysely, PostgresDialect, PostgresIntrospector, sql, type DatabaseIntrospector, type DatabaseMetadata, type SchemaMetadata, type TableMetadata } from 'kysely';
import pg from 'pg';
import { DatabaseUnavailable } from '../../errors.ts';
import { redactSecretsIn } from '../../lib/redact-url.ts';
import type { Database } from '../schema.ts';

export interface PostgresDatabase {
  readonly db: Kysely<Database>;
  /** Where unqualified tables are created and found: the first schema of the search_path that exists. */
  readonly schema: string;
}

/** Connections per instance; several instances share one server (DESIGN §5 scale-out). */
export const DEFAULT_POOL_SIZE = 10;
/** A database that is down or unroutable fails the start (or a query) within this, with its reason. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

const INT8_OID = 20;

/**
 * int8 (bigserial ids, COUNT) arrives as text, because JavaScript numbers are exact only up to 2^53.
 * Ids and counts never come near that, so they are numbers here, as SQLite returns them and as
 * schema.ts declares them; a value past 2^53 fails its query instead of being rounded.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value ${text} does not fit a JavaScript number`);
  return value;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid, format) => (oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

/**
 * Opens a pool on `url` (libpq-style: postgres://user:password@host:5432/db?sslmode=require&options=…)
 * and checks, with one round trip, that the server answers and a schema to work in exists.
 */
export async function openPostgresDatabase(url: string): Promise<PostgresDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS,
    application_name: 'umpin',
    types,
  });
  // An idle connection the server closes (restart, idle timeout) is dropped from the pool and the next
  // query opens a new one; without a listener the 'error' event would end the process.
  pool.on('error', () => {});
  // The pool listens to a connection's errors only while the connection is idle in it: an error that
  // reaches a connection handed out, or one the pool has just dropped (a reset after the server's
  // "terminating connection"), would be an uncaught 'error' event and end the process. The query in
  // flight is failed by pg either way, and a broken connection is not reused.
  pool.on('connect', (client) => client.on('error', () => {}));
  let schema: string | null | undefined;
  try {
    const { rows } = await pool.query<{ schema: string | null }>('select current_schema() as schema');
    schema = rows[0]?.schema;
  } catch (error) {
    await pool.end();
    throw new DatabaseUnavailable(
      `Cannot connect to PostgreSQL at ${describeServer(url)} (${redactSecretsIn(describeFailure(error), url)}); ` +
        'check that the server is running and reachable, and that UMPIN_DATABASE_URL names the right host, port, database, user and password.',
      { cause: error },
    );
  }
  if (!schema) {
    await pool.end();
    throw new DatabaseUnavailable(`PostgreSQL at ${describeServer(url)}: no schema of the search_path exists; create one (CREATE SCHEMA …) or set search_path`);
  }
  return { db: new Kysely<Database>({ dialect: new SchemaScopedPostgresDialect({ pool }) }), schema };
}

/**
 * Kysely's migrator asks the introspector whether its tables exist, and the stock PostgreSQL
 * introspector reads every table of every schema in the database, calling has_schema_privilege and
 * pg_get_serial_sequence by name on each: when another application (or test) drops a schema, table or
 * column during that query, it fails with "… does not exist" and umpin would not start. Only
 * umpin's own schema matters, so only it is read, from the catalogs, with no lookups by name.
 */
class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector { // eslint-disable-line @typescript-eslint/no-explicit-any -- Kysely's signature
    return new SchemaScopedIntrospector(db);
  }
}

class SchemaScopedIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the catalogs are not in umpin's schema type
  readonly #stock: PostgresIntrospector;

  constructor(db: Kysely<any>) { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.#db = db;
    this.#stock = new PostgresIntrospector(db);
  }

  /** The schema names alone (pg_namespace): no per-schema lookups, so nothing to race. */
  getSchemas(): Promise<SchemaMetadata[]> {
    return this.#stock.getSchemas();
  }

  /** The tables of the current schema, without their columns (the migrator needs only the names). */
  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; isView: boolean }>`
      select c.relname as name, n.nspname as schema, c.relkind in ('v', 'm') as "isView"
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm')
      order by c.relname`.execute(this.#db);
    return rows.map((row) => ({ ...row, columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

/** host:port/database, never the user or password. */
function describeServer(url: string): string {
  try {
    const parsed = new URL(url);
    // postgres://u:12/x@host/db parses as host "u:12" and path "/x@host/db": a password with an unencoded /.
    if (!/^(\/[^/@]*)?$/.test(parsed.pathname)) return 'the configured server';
    return `${parsed.searchParams.get('host') ?? (parsed.host || 'localhost')}${parsed.pathname}`;
  } catch {
    return 'the configured server';
  }
}

/** Node reports a refused connection to a name with several addresses as an AggregateError without a message. */
function describeFailure(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}
