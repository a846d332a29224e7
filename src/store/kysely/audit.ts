/**
 * AuditStore on Kysely: the audit trail, appended to inside other roles' transactions (insertAudit),
 * listed, paged by id and pruned in batches.
 */
import { sql, type Kysely } from 'kysely';
import type { AuditEvent, AuditFilter, AuditStore } from '../pin-store.ts';
import type { Database } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { fromAuditEvent, toAuditEvent } from './rows.ts';

export function createAuditStore({ db }: StoreContext): AuditStore {
  const auditMatching = (filter: AuditFilter) => {
    let query = db.selectFrom('audit_events');
    if (filter.login !== undefined) query = query.where('login', '=', filter.login);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since.toISOString());
    return query;
  };

  return {
    async appendAudit(event) {
      await insertAudit(db, event);
    },

    async listAudit(filter) {
      // Newest first so that a limit keeps the latest events; returned oldest first.
      let query = auditMatching(filter).selectAll().orderBy('id', 'desc');
      if (filter.limit !== undefined) query = query.limit(filter.limit);
      return (await query.execute()).reverse().map(toAuditEvent);
    },

    async listAuditPage(filter) {
      let query = auditMatching(filter).selectAll().orderBy('id', 'asc').limit(filter.limit);
      if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId);
      return (await query.execute()).map(toAuditEvent);
    },

    async findAuditIdBeforeNewest(filter, count) {
      const row = await auditMatching(filter).select('id').orderBy('id', 'desc').limit(1).offset(count).executeTakeFirst();
      return row === undefined ? undefined : Number(row.id);
    },

    async findLastMailEvent(login) {
      // The outcome term matches the partial index audit_mail_by_login (migration 0006) word for word, so both engines use it.
      const row = await db.selectFrom('audit_events').selectAll()
        .where('login', '=', login)
        .where(sql<boolean>`outcome in ('success', 'mail-failed')`)
        .where((eb) => eb.or([eb('outcome', '=', 'mail-failed'), eb('detail', 'like', '%"messageId":%')]))
        .orderBy('id', 'desc').limit(1).executeTakeFirst();
      return row === undefined ? undefined : toAuditEvent(row);
    },

    async pruneAudit(before, limit) {
      // In batches by id, so one prune of a year of events never holds the table for long.
      const oldest = db.selectFrom('audit_events').select('id').where('at', '<', before.toISOString()).orderBy('at').orderBy('id').limit(limit);
      const result = await db.deleteFrom('audit_events').where('id', 'in', oldest).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** Writes one event on `db`: the store's handle, or the transaction of the change it records. */
export async function insertAudit(db: Kysely<Database>, event: AuditEvent): Promise<void> {
  await db.insertInto('audit_events').values(fromAuditEvent(event)).execute();
}
