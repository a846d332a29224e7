/**
 * PolicyStore on Kysely: the PIN policies; one a mailbox uses is never deleted.
 */
import type { PolicyStore } from '../pin-store.ts';
import type { StoreContext } from './context.ts';
import { fromPolicy, toPolicy } from './rows.ts';

export function createPolicyStore({ db }: StoreContext): PolicyStore {
  return {
    async findPolicy(name) {
      const row = await db.selectFrom('policies').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toPolicy(row);
    },

    async listPolicies() {
      const rows = await db.selectFrom('policies').selectAll().orderBy('name').execute();
      return rows.map(toPolicy);
    },

    async createPolicy(policy) {
      const result = await db.insertInto('policies').values(fromPolicy(policy))
        .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async updatePolicy(policy) {
      const result = await db.updateTable('policies').set(fromPolicy(policy)).where('name', '=', policy.name).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async deletePolicy(name) {
      return db.transaction().execute(async (trx) => {
        const users = await trx.selectFrom('mailboxes').select('login').where('policy_name', '=', name).limit(1).executeTakeFirst();
        if (users) return 'in-use';
        const result = await trx.deleteFrom('policies').where('name', '=', name).executeTakeFirst();
        return Number(result.numDeletedRows) === 1 ? 'deleted' : 'missing';
      });
    },
  };
}
