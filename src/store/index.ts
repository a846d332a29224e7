import type { Kysely, MigrationResultSet } from 'kysely';
import { KyselyPinStore } from './kysely-pin-store.ts';
import { migrateToLatest } from './migrations.ts';
import type { PinStore } from './pin-store.ts';
import { openPostgresDatabase } from './postgres/postgres-database.ts';
import type { Database } from './schema.ts';
import { openSqliteDatabase } from './sqlite/sqlite-database.ts';

export type * from './pin-store.ts';

/** Where the state lives: a SQLite file (embedded default) or a PostgreSQL server (postgres://…, libpq style). */
export type DatabaseLocation = { readonly engine: 'sqlite'; readonly file: string } | { readonly engine: 'postgres'; readonly url: string };

/** Opens the database, brings its schema up to date and returns the store. */
export async function openPinStore(location: DatabaseLocation): Promise<PinStore> {
  const { db, migrate, rowLocks } = await openDatabase(location);
  const { error, results } = await migrate();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
  return new KyselyPinStore(db, { rowLocks });
}

interface OpenedDatabase {
  readonly db: Kysely<Database>;
  readonly migrate: () => Promise<MigrationResultSet>;
  readonly rowLocks: boolean;
}

async function openDatabase(location: DatabaseLocation): Promise<OpenedDatabase> {
  if (location.engine === 'postgres') {
    const { db, schema } = await openPostgresDatabase(location.url);
    // Kysely's PostgreSQL migrator holds an advisory lock while it migrates, so instances starting at once take turns.
    return { db, migrate: () => migrateToLatest(db as Kysely<unknown>, 'postgres', schema), rowLocks: true };
  }
  const { db, exclusively } = openSqliteDatabase(location.file);
  // SQLite has one writer at a time and no row locks; `exclusively` makes a migration wait for another process's.
  return { db, migrate: () => exclusively(() => migrateToLatest(db as Kysely<unknown>, 'sqlite')), rowLocks: false };
}
