/**
 * The audit trail over years (issue 13): read it a page at a time, and delete
 * what is older than the retention (UMPIN_AUDIT_RETENTION_DAYS, run by the
 * service; `umpin audit prune --before` by hand). Neither ever holds more
 * than one page or one batch in memory, however large the table has grown.
 */
import type { AuditFilter, StoredAuditEvent } from '../store/index.ts';
import { ADMIN, type Actor, type Services } from './services.ts';

/** Records a change an administrator made (`user.add`, `policy.set`, `mailbox.enable` …) as a success by ADMIN. */
export function auditAdminChange(services: Services, event: string, login: string | null, detail?: Record<string, string | number | boolean>): Promise<void> {
  return services.store.appendAudit({ at: services.now(), event, outcome: 'success', login, ...ADMIN, ...(detail ? { detail } : {}) });
}

/** The events matching the filter, at once; `streamAudit` for the whole trail. */
export function listAudit(services: Services, filter: { login?: string; since?: Date; limit?: number }): Promise<StoredAuditEvent[]> {
  return services.store.listAudit(filter);
}

/** Events one page reads; a page is one indexed range query. */
export const AUDIT_PAGE_SIZE = 500;

/** Events one prune statement deletes; a year of phone logons is deleted in many short statements, not one long one. */
export const AUDIT_PRUNE_BATCH = 5_000;

const DAY_MS = 86_400_000;

/** The events matching the filter, oldest first, page by page; `newest`: only the newest that many. */
export async function* streamAudit(services: Services, filter: AuditFilter & { readonly newest?: number }, pageSize = AUDIT_PAGE_SIZE): AsyncGenerator<StoredAuditEvent> {
  const { newest, ...matching } = filter;
  let afterId = newest === undefined ? undefined : await services.store.findAuditIdBeforeNewest(matching, newest);
  for (;;) {
    const page = await services.store.listAuditPage({ ...matching, limit: pageSize, ...(afterId === undefined ? {} : { afterId }) });
    yield* page;
    if (page.length < pageSize) return;
    afterId = (page.at(-1) as StoredAuditEvent).id;
  }
}

/**
 * Deletes every event from before `before`, in batches, and records the prune itself (who deleted the
 * history is history too). `by`: the administrator (`umpin audit prune`) or the service's retention.
 */
export async function pruneAudit(services: Services, before: Date, options: { by?: Actor; batch?: number } = {}): Promise<number> {
  const { by = ADMIN, batch = AUDIT_PRUNE_BATCH } = options;
  let deleted = 0;
  for (;;) {
    const count = await services.store.pruneAudit(before, batch);
    deleted += count;
    if (count < batch) break;
  }
  if (deleted > 0) {
    await services.store.appendAudit({ at: services.now(), event: 'audit.prune', outcome: 'success', login: null, ...by, detail: { before: before.toISOString(), deleted } });
  }
  return deleted;
}

/** The service's retention run: events older than `retentionDays` go; 0 keeps everything. */
export async function pruneExpiredAudit(services: Services, retentionDays: number, batch = AUDIT_PRUNE_BATCH): Promise<{ before: Date; deleted: number } | undefined> {
  if (retentionDays === 0) return undefined;
  const before = new Date(services.now().getTime() - retentionDays * DAY_MS);
  return { before, deleted: await pruneAudit(services, before, { by: { actor: 'system', source: 'retention' }, batch }) };
}
