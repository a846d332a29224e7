/**
 * OutboxStore on Kysely: outbox rows (pending changes with `delivery = 'outbox'`) claimed by one worker at
 * a time under a lease, retried, and listed.
 */
import { sql, type Kysely } from 'kysely';
import type { ClaimedMail, OutboxStore } from '../pin-store.ts';
import type { Database } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { toQueuedMail } from './rows.ts';

/** A lease that ran out long ago: the row is free for any worker. */
const UNLEASED_AT = new Date(0).toISOString();

export function createOutboxStore({ db, rowLocks }: StoreContext): OutboxStore {
  async function claimDueMail(on: Kysely<Database>, now: Date, owner: { host: string; pid: number }, leaseUntil: Date, limit: number): Promise<ClaimedMail[]> {
    const at = now.toISOString();
    const due = await on.selectFrom('pending_pin_changes').select('id')
      .where('delivery', '=', 'outbox').where('next_attempt_at', '<=', at).where('lease_until', '<', at)
      .orderBy('next_attempt_at').limit(limit)
      // Rows another worker is claiming right now are passed over, not waited for: it takes them.
      .$if(rowLocks, (q) => q.forUpdate().skipLocked())
      .execute();
    const claimed: ClaimedMail[] = [];
    for (const { id } of due) {
      // The same conditions again: whoever updates first owns the row; the other worker changes nothing.
      const row = await on.updateTable('pending_pin_changes')
        .set({ owner_host: owner.host, owner_pid: owner.pid, lease_until: leaseUntil.toISOString(), attempts: sql<number>`attempts + 1` })
        .where('id', '=', id).where('next_attempt_at', '<=', at).where('lease_until', '<', at)
        .returningAll().executeTakeFirst();
      if (row?.sealed_mail) claimed.push({ ...toQueuedMail(row, now), sealedMail: row.sealed_mail });
    }
    return claimed;
  }

  return {
    async claimDueMail(now, owner, leaseUntil, limit) {
      // With row locks the pick and the claims are one transaction, so the locks last until the claims commit.
      // SQLite runs them as single statements: a read transaction that later writes can fail to upgrade there.
      if (rowLocks) return db.transaction().execute((trx) => claimDueMail(trx, now, owner, leaseUntil, limit));
      return claimDueMail(db, now, owner, leaseUntil, limit);
    },

    async scheduleMailRetry(id, nextAttemptAt, reply) {
      await db.updateTable('pending_pin_changes')
        .set({ next_attempt_at: nextAttemptAt.toISOString(), last_reply: reply, lease_until: UNLEASED_AT })
        .where('id', '=', id).execute();
    },

    async retryMailNow(id, now) {
      const result = await db.updateTable('pending_pin_changes')
        .set({ next_attempt_at: now.toISOString() })
        .where('id', '=', id).where('delivery', '=', 'outbox').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async listQueuedMail(now) {
      const rows = await db.selectFrom('pending_pin_changes').selectAll()
        .where('delivery', '=', 'outbox').orderBy('created_at').execute();
      return rows.map((row) => toQueuedMail(row, now));
    },

    async countQueuedMail() {
      const row = await db.selectFrom('pending_pin_changes').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('delivery', '=', 'outbox').executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
