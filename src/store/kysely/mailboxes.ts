/**
 * MailboxStore on Kysely: mailboxes, their voice mail settings and their lockout counter.
 */
import { sql } from 'kysely';
import type { MailboxStore } from '../pin-store.ts';
import { insertAudit } from './audit.ts';
import type { StoreContext } from './context.ts';
import { fromMailboxSettings, toMailboxState } from './rows.ts';

export function createMailboxStore({ db }: StoreContext): MailboxStore {
  const selectMailboxes = () => db.selectFrom('mailboxes')
    .innerJoin('policies', 'policies.name', 'mailboxes.policy_name')
    .selectAll('policies')
    .select([
      'mailboxes.login', 'mailboxes.email', 'mailboxes.notify_email', 'mailboxes.extension', 'mailboxes.language',
      'mailboxes.first_name', 'mailboxes.last_name', 'mailboxes.pin_salt', 'mailboxes.pin_verifier', 'mailboxes.pin_length',
      'mailboxes.pin_set_at', 'mailboxes.pin_expired', 'mailboxes.first_time_user', 'mailboxes.locked_out',
      'mailboxes.failed_logons', 'mailboxes.pin_generation', 'mailboxes.oof_status', 'mailboxes.missed_call_notification',
      'mailboxes.play_on_phone_dial_string', 'mailboxes.telephone_access_folder',
    ]);

  return {
    async createMailbox(mailbox, now) {
      const result = await db.insertInto('mailboxes').values({
        login: mailbox.login,
        ...fromMailboxSettings(mailbox),
        pin_salt: mailbox.pinSalt,
        pin_verifier: null,
        pin_length: null,
        pin_set_at: null,
        pin_expired: 1,
        first_time_user: 1,
        locked_out: 0,
        failed_logons: 0,
        pin_generation: 0,
        created_at: now.toISOString(),
      }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async updateMailbox(login, settings) {
      const result = await db.updateTable('mailboxes').set(fromMailboxSettings(settings)).where('login', '=', login).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async deleteMailbox(login) {
      const result = await db.deleteFrom('mailboxes').where('login', '=', login).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async findMailbox(login) {
      const row = await selectMailboxes().where('mailboxes.login', '=', login).executeTakeFirst();
      return row && toMailboxState(row);
    },

    async findMailboxLoginByExtension(extension) {
      const row = await db.selectFrom('mailboxes').select('login').where('extension', '=', extension).executeTakeFirst();
      return row?.login;
    },

    async listMailboxesPage({ after, limit }) {
      // The login column is collated "C" on PostgreSQL (migration 0001), as SQLite compares: the `>` and the
      // order agree byte for byte on both engines, and both walk the primary key's index.
      let query = selectMailboxes().orderBy('mailboxes.login').limit(limit);
      if (after !== undefined) query = query.where('mailboxes.login', '>', after);
      return (await query.execute()).map(toMailboxState);
    },

    async updateVoiceMailSettings(login, settings, audit) {
      const columns = {
        ...(settings.oofStatus === undefined ? {} : { oof_status: settings.oofStatus ? 1 : 0 }),
        ...(settings.missedCallNotificationEnabled === undefined ? {} : { missed_call_notification: settings.missedCallNotificationEnabled ? 1 : 0 }),
        ...(settings.playOnPhoneDialString === undefined ? {} : { play_on_phone_dial_string: settings.playOnPhoneDialString }),
        ...(settings.telephoneAccessFolder === undefined ? {} : { telephone_access_folder: settings.telephoneAccessFolder }),
      };
      if (Object.keys(columns).length === 0) throw new TypeError('updateVoiceMailSettings needs at least one setting');
      return db.transaction().execute(async (trx) => {
        const result = await trx.updateTable('mailboxes').set(columns).where('login', '=', login).executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await insertAudit(trx, audit);
        return true;
      });
    },

    async setLockedOut(login, lockedOut) {
      const result = await db.updateTable('mailboxes')
        .set(lockedOut ? { locked_out: 1 } : { locked_out: 0, failed_logons: 0 })
        .where('login', '=', login).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async recordFailedLogon(login, maxLogonAttempts) {
      // One statement, so concurrent failures all count and the lock is decided on the count they produce.
      const row = await db.updateTable('mailboxes')
        .set({
          failed_logons: sql<number>`failed_logons + 1`,
          locked_out: maxLogonAttempts === null
            ? sql<number>`locked_out`
            : sql<number>`case when failed_logons + 1 >= ${maxLogonAttempts} then 1 else locked_out end`,
        })
        .where('login', '=', login)
        .returning(['failed_logons', 'locked_out'])
        .executeTakeFirstOrThrow();
      return { failedLogons: row.failed_logons, lockedOut: row.locked_out === 1 };
    },

    async recordGoodLogon(login) {
      // A mailbox locked meanwhile (an administrator, another instance) keeps its counter with its lock.
      await db.updateTable('mailboxes').set({ failed_logons: 0 }).where('login', '=', login).where('locked_out', '=', 0).execute();
    },
  };
}
