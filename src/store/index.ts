import type { Kysely } from 'kysely';
import { KyselyPinStore } from './kysely-pin-store.ts';
import { migrateToLatest } from './migrations.ts';
import type { PinStore } from './pin-store.ts';
import { openSqliteDatabase } from './sqlite/sqlite-database.ts';

export type * from './pin-store.ts';

/** Where the state lives: a SQLite file (embedded default); PostgreSQL arrives with issue 6. */
export type DatabaseLocation = { readonly engine: 'sqlite'; readonly file: string };

/** Opens the database, brings its schema up to date and returns the store. */
export async function openPinStore(location: DatabaseLocation): Promise<PinStore> {
  const { db, exclusively } = openSqliteDatabase(location.file);
  const { error, results } = await exclusively(() => migrateToLatest(db as Kysely<unknown>, location.engine));
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
  return new KyselyPinStore(db);
}
