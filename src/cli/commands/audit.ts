/** The audit trail: what changed, who did it and from where. */
import { pruneAudit, streamAudit } from '../../operations/audit.ts';
import type { StoredAuditEvent } from '../../store/index.ts';
import { UsageError, parseSince, parseWholeNumber, print, stringOption, withServices, type Command } from '../command.ts';
import { printLine } from '../io.ts';

export function formatAuditEvent(event: StoredAuditEvent): string {
  const detail = event.detail && Object.keys(event.detail).length > 0 ? `  ${JSON.stringify(event.detail)}` : '';
  return `${event.at.toISOString()}  ${event.event}  ${event.outcome}  ${event.login ?? '-'}  by ${event.actor} from ${event.source}${detail}`;
}

export const AUDIT_COMMANDS: readonly Command[] = [
  {
    name: 'audit',
    usage: 'umpin audit [--login <login>] [--since <time>] [--limit N] [--json]',
    summary: 'show the audit trail',
    help: `Every change umpin made or refused, oldest first: when, the event, its outcome,
the mailbox, who acted and from where, and details (never a PIN or password).
  --login <login>   only this mailbox's events
  --since <time>    only events at or after an ISO time (2026-11-23, 2026-11-23T19:00:00Z)
                    or an age (30m, 24h, 7d, 2w)
  --limit N         only the newest N of them
  --json            one JSON object per line
Events are read a page at a time and written as they come, so the whole trail
of a busy service can be piped through without filling the memory. Events
older than UMPIN_AUDIT_RETENTION_DAYS (default 365) are deleted by the
running service; see "umpin audit prune" and docs/audit.md.`,
    examples: ['umpin audit --login alice --since 7d', 'umpin audit --since 24h --json | jq -c "select(.outcome != \\"success\\")"'],
    options: { login: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const login = stringOption(options, 'login');
      const sinceText = stringOption(options, 'since');
      const limitText = stringOption(options, 'limit');
      const limit = limitText === undefined ? undefined : parseWholeNumber('limit', limitText);
      if (limit === 0) throw new UsageError('--limit must be at least 1.');
      // Parsed before the database is opened, so a typo touches nothing.
      const since = sinceText === undefined ? undefined : parseSince('since', sinceText, new Date());
      await withServices(async (services) => {
        const events = streamAudit(services, {
          ...(login === undefined ? {} : { login }),
          ...(since === undefined ? {} : { since }),
          ...(limit === undefined ? {} : { newest: limit }),
        });
        for await (const event of events) {
          await printLine(options.json === true
            ? JSON.stringify({ id: event.id, at: event.at.toISOString(), event: event.event, outcome: event.outcome, login: event.login, actor: event.actor, source: event.source, detail: event.detail ?? {} })
            : formatAuditEvent(event));
        }
      });
    },
  },
  {
    name: 'audit prune',
    usage: 'umpin audit prune --before <time>',
    summary: 'delete audit events older than a time',
    help: `Deletes every audit event from before --before, an ISO time (2025-12-01,
2025-12-01T00:00:00Z) or an age (90d, 52w: older than that), in short batches,
and records the prune itself as an audit event (audit.prune, with the count).
The running service does this every hour for events older than
UMPIN_AUDIT_RETENTION_DAYS; this is for a one-off clean-up, or with
UMPIN_AUDIT_RETENTION_DAYS=0 (keep everything) for pruning by hand.`,
    examples: ['umpin audit prune --before 2025-12-01', 'umpin audit prune --before 90d'],
    options: { before: { type: 'string' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const beforeText = stringOption(options, 'before');
      if (beforeText === undefined) throw new UsageError('--before <time> is required: which events to delete is never a default.');
      // Parsed before the database is opened, so a typo deletes nothing.
      const before = parseSince('before', beforeText, new Date());
      const deleted = await withServices((services) => pruneAudit(services, before));
      print(`Deleted ${deleted} audit event${deleted === 1 ? '' : 's'} from before ${before.toISOString()}.`);
    },
  },
];
