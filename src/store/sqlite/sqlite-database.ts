import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from '../schema.ts';

export interface SqliteDatabase {
  readonly db: Kysely<Database>;
  /**
   * Runs `work` inside one IMMEDIATE transaction on the single connection,
   * so another process (the CLI beside the server, or a second CLI) waits
   * instead of interleaving. Kysely's SQLite migrator locks only within its
   * own process, and two first starts at once would both create the tables.
   */
  exclusively<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Opens the embedded database. WAL lets the CLI read while the server
 * writes; synchronous=FULL makes a committed PIN change survive power loss;
 * busy_timeout lets a CLI command and the server take turns.
 */
export function openSqliteDatabase(file: string): SqliteDatabase {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const connection = new BetterSqlite3(file, { timeout: 10_000 });
  withBusyRetry(() => connection.pragma('journal_mode = WAL'));
  connection.pragma('synchronous = FULL');
  connection.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(connection) }) });
  return {
    db,
    async exclusively(work) {
      connection.exec('BEGIN IMMEDIATE');
      try {
        const result = await work();
        connection.exec('COMMIT');
        return result;
      } catch (error) {
        if (connection.inTransaction) connection.exec('ROLLBACK');
        throw error;
      }
    },
  };
}

/**
 * Kysely begins its transactions with a plain (deferred) BEGIN. In WAL mode a
 * deferred transaction that has read and then writes, after another process
 * (the CLI beside the server, or two CLI commands) committed, fails at once
 * with "database is locked": SQLite cannot wait for a lock upgrade. Taking the
 * write lock at BEGIN makes it wait through the busy timeout instead. Done in
 * the driver's own hook, as the PostgreSQL dialect swaps its introspector.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = Object.freeze({ ...config });
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/** The store's queries are a fixed set; more distinct texts than this means something builds SQL with values in it. */
const MAX_CACHED_STATEMENTS = 500;

/**
 * Kysely's SQLite driver prepares every query anew, and preparing was a
 * tenth of a reset's main-thread time (README, Performance). The store's
 * SQL texts repeat with only parameters changing, so each is prepared once.
 * Safe because the one connection runs one statement at a time and Kysely
 * never streams (`iterate`) from these.
 */
function withStatementCache(connection: BetterSqlite3.Database): { prepare(sql: string): BetterSqlite3.Statement; close(): void } {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = connection.prepare(sql);
        if (statements.size < MAX_CACHED_STATEMENTS) statements.set(sql, statement);
      }
      return statement;
    },
    close: () => connection.close(),
  };
}

const BUSY_RETRY_MS = 10_000;

/**
 * Switching a fresh file to WAL needs an exclusive lock, and SQLite answers
 * SQLITE_BUSY at once instead of waiting when another process (a second
 * first start) holds one; so wait and try again, as the busy timeout would.
 */
function withBusyRetry<T>(work: () => T): T {
  const deadline = Date.now() + BUSY_RETRY_MS;
  for (;;) {
    try {
      return work();
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25); // a synchronous pause: this runs once per open
    }
  }
}
