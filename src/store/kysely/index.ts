/**
 * PinStore on Kysely: the single query code path every engine shares, one file per storage role, put
 * together here over one StoreContext.
 */
import { sql, type Kysely } from 'kysely';
import type { PinStore } from '../pin-store.ts';
import type { Database } from '../schema.ts';
import { createApiKeyStore } from './api-keys.ts';
import { createAuditStore } from './audit.ts';
import type { StoreContext } from './context.ts';
import { createKeyBindingStore } from './key-binding.ts';
import { createMailboxStore } from './mailboxes.ts';
import { createOutboxStore } from './outbox.ts';
import { createPinChangeStore } from './pin-changes.ts';
import { createPolicyStore } from './policies.ts';
import { createUserStore } from './users.ts';

export interface KyselyPinStoreOptions {
  /** StoreContext.rowLocks; off unless asked for. */
  readonly rowLocks?: boolean;
  /** The known migrations not yet run on this database, for checkReady; without it only the connection is checked. */
  readonly pendingMigrations?: () => Promise<string[]>;
}

/** Each store's database handle, for test support's readers (test/support/store-readers.ts); nothing else reads it. */
const databases = new WeakMap<PinStore, Kysely<Database>>();

export function createKyselyPinStore(db: Kysely<Database>, options: KyselyPinStoreOptions = {}): PinStore {
  const context: StoreContext = { db, rowLocks: options.rowLocks ?? false };
  const pendingMigrations = options.pendingMigrations ?? (async () => []);
  const store: PinStore = {
    ...createKeyBindingStore(context),
    ...createUserStore(context),
    ...createPolicyStore(context),
    ...createMailboxStore(context),
    ...createPinChangeStore(context),
    ...createOutboxStore(context),
    ...createApiKeyStore(context),
    ...createAuditStore(context),
    async close() {
      await db.destroy();
    },
    async checkReady() {
      await sql`select 1`.execute(db);
      return { pendingMigrations: await pendingMigrations() };
    },
  };
  databases.set(store, db);
  return store;
}

/** The database handle behind a store createKyselyPinStore made. */
export function databaseOf(store: PinStore): Kysely<Database> {
  const db = databases.get(store);
  if (db === undefined) throw new TypeError('not a store createKyselyPinStore made (a wrapper or a fake?)');
  return db;
}
