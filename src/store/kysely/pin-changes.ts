/**
 * PinChangeStore on Kysely: a mailbox's PIN verifiers and history, and each change of the PIN from
 * begun (pending) to activated, superseded or discarded.
 */
import { sql } from 'kysely';
import type { KeyedVerifier, PinChangeStore, RecoveryCandidate } from '../pin-store.ts';
import { insertAudit } from './audit.ts';
import type { StoreContext } from './context.ts';
import { boundKeyId } from './key-binding.ts';
import { LOCK_EFFECT_CODES } from './rows.ts';

export function createPinChangeStore({ db, rowLocks }: StoreContext): PinChangeStore {
  async function findActivePinVerifier(login: string): Promise<KeyedVerifier | undefined> {
    const row = await db.selectFrom('mailboxes').select(['pin_verifier', 'pin_key_id']).where('login', '=', login).executeTakeFirst();
    return row?.pin_verifier ? { verifier: row.pin_verifier, keyId: row.pin_key_id ?? '' } : undefined;
  }

  return {
    findActivePinVerifier,

    async findKeyedPinVerifiers(login) {
      const current = await findActivePinVerifier(login);
      const history = await db.selectFrom('pin_history').select(['pin_verifier', 'key_id']).where('login', '=', login).orderBy('id', 'desc').execute();
      return [...(current ? [current] : []), ...history.map((h) => ({ verifier: h.pin_verifier, keyId: h.key_id }))];
    },

    async replaceActivePinVerifier(login, previous, next) {
      // The same PIN under another key: no new generation, so a pending change started before stays valid.
      const result = await db.updateTable('mailboxes').set({ pin_verifier: next.verifier, pin_key_id: next.keyId })
        .where('login', '=', login).where('pin_verifier', '=', previous).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async beginPinChange(change, now) {
      const result = await db.insertInto('pending_pin_changes').values({
        id: change.id,
        login: change.login,
        reason: change.reason,
        new_pin_verifier: change.newPinVerifier,
        new_pin_key_id: change.newPinKeyId ?? boundKeyId(),
        new_pin_length: change.newPinLength,
        sealed_mail: change.sealedMail ?? null,
        set_pin_expired: change.effects.pinExpired ? 1 : 0,
        set_locked_out: LOCK_EFFECT_CODES[change.effects.lockedOut],
        clear_failed_logons: change.effects.clearFailedLogons ? 1 : 0,
        clear_first_time_user: change.effects.clearFirstTimeUser ? 1 : 0,
        delivery: change.delivery,
        recipient: change.recipient ?? null,
        attempts: change.delivery === 'outbox' ? 1 : 0,
        next_attempt_at: change.delivery === 'outbox' ? now.toISOString() : null,
        give_up_at: change.giveUpAt?.toISOString() ?? null,
        last_reply: null,
        base_generation: change.baseGeneration,
        owner_host: change.ownerHost,
        owner_pid: change.ownerPid,
        lease_until: change.leaseUntil.toISOString(),
        actor: change.actor,
        source: change.source,
        created_at: now.toISOString(),
      }).onConflict((oc) => oc.column('login').doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    activatePinChange(id, now, audit) {
      return db.transaction().execute(async (trx) => {
        // A write first, so SQLite takes its write lock at once instead of upgrading a read lock later.
        const pending = await trx.deleteFrom('pending_pin_changes').where('id', '=', id)
          .returningAll().executeTakeFirst();
        if (!pending) return 'gone';
        const mailbox = await trx.selectFrom('mailboxes')
          .innerJoin('policies', 'policies.name', 'mailboxes.policy_name')
          .select(['mailboxes.pin_verifier', 'mailboxes.pin_key_id', 'mailboxes.pin_generation', 'policies.pin_history_count'])
          .where('mailboxes.login', '=', pending.login)
          // The lock the UPDATE below takes anyway, taken at the read: no other instance changes the PIN
          // between them. Only the mailbox row: locking the policy would serialise every mailbox that shares it.
          .$if(rowLocks, (q) => q.forNoKeyUpdate('mailboxes'))
          .executeTakeFirstOrThrow();
        if (mailbox.pin_generation !== pending.base_generation) {
          await insertAudit(trx, { ...audit, outcome: 'superseded' });
          return 'superseded';
        }
        const at = now.toISOString();
        if (mailbox.pin_verifier !== null) {
          await trx.insertInto('pin_history')
            .values({ login: pending.login, pin_verifier: mailbox.pin_verifier, key_id: mailbox.pin_key_id ?? '', retired_at: at }).execute();
          const keep = trx.selectFrom('pin_history').select('id').where('login', '=', pending.login)
            .orderBy('id', 'desc').limit(mailbox.pin_history_count);
          await trx.deleteFrom('pin_history').where('login', '=', pending.login).where('id', 'not in', keep).execute();
        }
        const updated = await trx.updateTable('mailboxes').set({
          pin_verifier: pending.new_pin_verifier,
          pin_key_id: pending.new_pin_key_id,
          pin_length: pending.new_pin_length,
          pin_set_at: at,
          pin_expired: pending.set_pin_expired,
          // `keep` reads the lock in this statement, under the row lock: a lockout that happened after the change began stays.
          ...(pending.set_locked_out === LOCK_EFFECT_CODES.keep ? {} : { locked_out: pending.set_locked_out }),
          ...(pending.clear_failed_logons !== 1 ? {}
            : pending.set_locked_out === LOCK_EFFECT_CODES.keep ? { failed_logons: sql<number>`case when locked_out = 1 then failed_logons else 0 end` }
            : { failed_logons: 0 }),
          ...(pending.clear_first_time_user === 1 ? { first_time_user: 0 } : {}),
          pin_generation: sql<number>`pin_generation + 1`,
        }).where('login', '=', pending.login).where('pin_generation', '=', pending.base_generation).executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) throw new Error(`mailbox ${pending.login} changed during activation`);
        await insertAudit(trx, audit);
        return 'activated';
      });
    },

    async discardPinChange(id, audit) {
      return db.transaction().execute(async (trx) => {
        const gone = await trx.deleteFrom('pending_pin_changes').where('id', '=', id).executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) return false;
        await insertAudit(trx, audit);
        return true;
      });
    },

    async findRecoveryCandidates(now, host): Promise<RecoveryCandidate[]> {
      const rows = await db.selectFrom('pending_pin_changes')
        .select(['id', 'login', 'reason', 'owner_pid', 'owner_host', 'lease_until', 'delivery'])
        .where((eb) => eb.or([
          eb.and([eb('delivery', '=', 'inline'), eb('lease_until', '<', now.toISOString())]),
          eb('owner_host', '=', host),
        ]))
        .execute();
      return rows.map((r) => ({
        id: r.id,
        login: r.login,
        reason: r.reason as RecoveryCandidate['reason'],
        ownerHost: r.owner_host,
        ownerPid: r.owner_pid,
        leaseUntil: new Date(r.lease_until),
        delivery: r.delivery,
      }));
    },

    async supersedeQueuedPinChange(login, now, audit) {
      return db.transaction().execute(async (trx) => {
        const gone = await trx.deleteFrom('pending_pin_changes')
          .where('login', '=', login).where('delivery', '=', 'outbox').where('lease_until', '<', now.toISOString())
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) return false;
        await insertAudit(trx, audit);
        return true;
      });
    },
  };
}
