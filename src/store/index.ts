import type { Kysely, MigrationInfo, MigrationResultSet } from 'kysely';
import { DatabaseUnavailable } from '../errors.ts';
import { createKyselyPinStore } from './kysely/index.ts';
import { listMigrations, migrateToLatest, type Engine } from './migrations.ts';
import type { PinStore } from './pin-store.ts';
import type { Database } from './schema.ts';
import { openSqliteDatabase } from './sqlite/sqlite-database.ts';

export type * from './pin-store.ts';

/** Where the state lives: a SQLite file (embedded default) or a PostgreSQL server (postgres://…, libpq style). */
export type DatabaseLocation = { readonly engine: 'sqlite'; readonly file: string } | { readonly engine: 'postgres'; readonly url: string };

/** Opens the database, brings its schema up to date and returns the store. */
export async function openPinStore(location: DatabaseLocation): Promise<PinStore> {
  const { db, migrate, status, rowLocks } = await openDatabase(location);
  const { error, results } = await migrate();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
  const pendingMigrations = async () => (await status()).filter((m) => m.executedAt === undefined).map((m) => m.name);
  return createKyselyPinStore(db, { rowLocks, pendingMigrations });
}

interface OpenedDatabase {
  readonly db: Kysely<Database>;
  readonly migrate: () => Promise<MigrationResultSet>;
  /** Every migration this version knows, with when it ran here (`executedAt`), without running any. */
  readonly status: () => Promise<readonly MigrationInfo[]>;
  readonly rowLocks: boolean;
}

async function openDatabase(location: DatabaseLocation): Promise<OpenedDatabase> {
  if (location.engine === 'postgres') {
    // Imported only here: the pg client is some 30 modules that a SQLite installation never uses.
    const { openPostgresDatabase } = await import('./postgres/postgres-database.ts');
    const { db, schema } = await openPostgresDatabase(location.url);
    // Kysely's PostgreSQL migrator holds an advisory lock while it migrates, so instances starting at once take turns.
    return {
      db,
      migrate: () => migrateToLatest(db as Kysely<unknown>, 'postgres', schema),
      status: () => listMigrations(db as Kysely<unknown>, 'postgres', schema),
      rowLocks: true,
    };
  }
  const { db, exclusively } = openSqlite(location.file);
  // SQLite has one writer at a time and no row locks; `exclusively` makes a migration wait for another process's.
  return {
    db,
    migrate: () => exclusively(() => migrateToLatest(db as Kysely<unknown>, 'sqlite')),
    status: () => listMigrations(db as Kysely<unknown>, 'sqlite'),
    rowLocks: false,
  };
}

/** A file that cannot be opened (a directory in its place, no permission, not a database) is named, with what to check. */
function openSqlite(file: string): ReturnType<typeof openSqliteDatabase> {
  try {
    return openSqliteDatabase(file);
  } catch (error) {
    throw new DatabaseUnavailable(
      `Cannot open the SQLite database ${file} (${error instanceof Error ? error.message : String(error)}); ` +
        'check UMPIN_DATABASE_URL or UMPIN_DATA_DIR, and that this user may read and write the file and its directory.',
      { cause: error },
    );
  }
}

/**
 * The database without a PinStore around it, for the administrator's maintenance commands
 * (`umpin migrate`, `umpin export`, `umpin import`): nothing is migrated until `migrate` is called.
 */
export interface MaintenanceDatabase {
  readonly engine: Engine;
  readonly db: Kysely<Database>;
  migrate(): Promise<MigrationResultSet>;
  status(): Promise<readonly MigrationInfo[]>;
  close(): Promise<void>;
}

export async function openMaintenanceDatabase(location: DatabaseLocation): Promise<MaintenanceDatabase> {
  const { db, migrate, status } = await openDatabase(location);
  return { engine: location.engine, db, migrate, status, close: () => db.destroy() };
}

/** Opens the database and brings its schema up to date, or fails naming the migration that failed. */
export async function openMigratedDatabase(location: DatabaseLocation): Promise<MaintenanceDatabase> {
  const opened = await openMaintenanceDatabase(location);
  const { error, results } = await opened.migrate();
  if (error) {
    await opened.close();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
  return opened;
}
