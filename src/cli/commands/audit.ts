/** The audit trail: what changed, who did it and from where. */
import { listAudit } from '../../operations/admin.ts';
import type { StoredAuditEvent } from '../../store/index.ts';
import { UsageError, parseSince, parseWholeNumber, print, stringOption, withServices, type Command } from '../command.ts';

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
  --json            one JSON object per line`,
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
      const events = await withServices((services) => listAudit(services, {
        ...(login === undefined ? {} : { login }),
        ...(since === undefined ? {} : { since }),
        ...(limit === undefined ? {} : { limit }),
      }));
      for (const event of events) {
        print(options.json === true
          ? JSON.stringify({ id: event.id, at: event.at.toISOString(), event: event.event, outcome: event.outcome, login: event.login, actor: event.actor, source: event.source, detail: event.detail ?? {} })
          : formatAuditEvent(event));
      }
    },
  },
];
