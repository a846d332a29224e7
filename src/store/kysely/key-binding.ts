/**
 * KeyBindingStore on Kysely: the server key the database is bound to (umpin_meta), its rotation, and
 * how many verifiers each key still protects.
 */
import { sql, type Kysely } from 'kysely';
import type { KeyBindingStore, VerifierKeyCounts } from '../pin-store.ts';
import { SERVER_KEY_ID } from '../schema.ts';
import { insertAudit } from './audit.ts';
import type { StoreContext } from './context.ts';

export function createKeyBindingStore({ db }: StoreContext): KeyBindingStore {
  return {
    async bindServerKey(keyId) {
      const inserted = await db.insertInto('umpin_meta').values({ key: SERVER_KEY_ID, value: keyId })
        .onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { status: 'bound' };
      const row = await db.selectFrom('umpin_meta').select('value').where('key', '=', SERVER_KEY_ID).executeTakeFirstOrThrow();
      return row.value === keyId ? { status: 'matched' } : { status: 'mismatch', expected: row.value };
    },

    async findServerKeyId() {
      const row = await db.selectFrom('umpin_meta').select('value').where('key', '=', SERVER_KEY_ID).executeTakeFirst();
      return row?.value;
    },

    async rebindServerKey(from, to, reseal, audit) {
      return db.transaction().execute(async (trx) => {
        // A write first: it takes SQLite's write lock, and on PostgreSQL the meta row's lock, so two rotations take turns.
        const rebound = await trx.updateTable('umpin_meta').set({ value: to }).where('key', '=', SERVER_KEY_ID).where('value', '=', from).executeTakeFirst();
        if (Number(rebound.numUpdatedRows) !== 1) return 'conflict';
        const sealed = await trx.selectFrom('pending_pin_changes').select(['id', 'sealed_mail']).where('sealed_mail', 'is not', null).execute();
        for (const row of sealed) {
          await trx.updateTable('pending_pin_changes').set({ sealed_mail: reseal(row.id, row.sealed_mail as Buffer) })
            .where('id', '=', row.id).where('sealed_mail', '=', row.sealed_mail as Buffer).execute();
        }
        await insertAudit(trx, audit);
        return 'rebound';
      });
    },

    async listSealedMail() {
      const rows = await db.selectFrom('pending_pin_changes').select(['id', 'sealed_mail']).where('sealed_mail', 'is not', null).execute();
      return rows.map((r) => ({ id: r.id, sealedMail: r.sealed_mail as Buffer }));
    },

    async countVerifiersByKey(): Promise<VerifierKeyCounts> {
      const count = async (table: 'users' | 'mailboxes' | 'pin_history' | 'pending_pin_changes' | 'api_keys', column: string) => {
        const rows = await (db as unknown as Kysely<Record<string, Record<string, string | null>>>).selectFrom(table)
          .select([sql<string>`${sql.ref(column)}`.as('key_id'), (eb) => eb.fn.countAll<number>().as('n')])
          .where(column, 'is not', null).$if(table === 'api_keys', (q) => q.where('revoked_at', 'is', null)).groupBy(column).execute();
        return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
      };
      return {
        passwords: await count('users', 'password_key_id'),
        pins: await count('mailboxes', 'pin_key_id'),
        history: await count('pin_history', 'key_id'),
        pending: await count('pending_pin_changes', 'new_pin_key_id'),
        apiKeys: await count('api_keys', 'key_id'),
      };
    },
  };
}

/** For a verifier written without its key id: the key this database is bound to, read in the same statement. */
export function boundKeyId() {
  return sql<string>`coalesce((select value from umpin_meta where key = ${SERVER_KEY_ID}), '')`;
}
