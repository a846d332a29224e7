/** The durable outbox of PIN mails: what waits, what happened, and the administrator's retry and drop. */
import { listAudit } from '../../operations/audit.ts';
import { dropOutboxMail, listOutbox, retryOutboxMail } from '../../operations/outbox.ts';
import { print, withServices, type Command } from '../command.ts';
import { formatTable } from '../io.ts';

/** How many finished outbox mails `umpin outbox` shows under the waiting ones. */
const RECENT = 20;

export const OUTBOX_COMMANDS: readonly Command[] = [
  {
    name: 'outbox',
    usage: 'umpin outbox [--json]',
    summary: 'show PIN mails waiting for delivery, and the latest delivered or failed ones',
    help: `PIN mails nobody waits for (welcome mails, administrator resets, automatic
resets after failed phone logons) are tried once at once; if the relay answers
4xx or cannot be reached they wait here, with the PIN sealed, and the running
service retries them with doubling waits (UMPIN_OUTBOX_RETRY_MS) until they are
delivered, refused with 5xx, or older than UMPIN_OUTBOX_GIVE_UP_MINUTES. A new
PIN takes effect only when its mail is delivered; until then the old PIN works.`,
    examples: ['umpin outbox', 'umpin outbox --json'],
    options: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const { waiting, finished } = await withServices(async (services) => ({
        waiting: await listOutbox(services),
        finished: (await listAudit(services, { limit: 500 }))
          .filter((e) => e.detail?.delivery === 'outbox' && (e.outcome === 'success' || e.outcome === 'mail-failed'))
          .slice(-RECENT),
      }));
      const rows = [
        ...waiting.map((m) => ({
          id: m.id, status: m.inFlight ? 'sending' : m.attempts > 1 || m.lastReply ? 'retrying' : 'pending', login: m.login,
          recipient: m.recipient, attempts: m.attempts, lastReply: m.lastReply ?? '', at: m.nextAttemptAt.toISOString(),
        })),
        ...finished.map((e) => ({
          id: '', status: e.outcome === 'success' ? 'delivered' : 'failed', login: e.login ?? '', recipient: String(e.detail?.to ?? ''),
          attempts: Number(e.detail?.attempts ?? 1), lastReply: String(e.detail?.handOff ?? e.detail?.reply ?? ''), at: e.at.toISOString(),
        })),
      ];
      if (options.json === true) return print(JSON.stringify(rows));
      if (rows.length === 0) return print('The outbox is empty: no PIN mail waits, and none was queued recently.');
      print(formatTable([
        ['STATUS', 'LOGIN', 'RECIPIENT', 'ATTEMPTS', 'NEXT/AT', 'LAST REPLY', 'ID'],
        ...rows.map((r) => [r.status, r.login, r.recipient, String(r.attempts), r.at, r.lastReply.slice(0, 90), r.id]),
      ]));
    },
  },
  {
    name: 'outbox retry',
    usage: 'umpin outbox retry <id>',
    summary: 'make a waiting PIN mail due now',
    help: 'The running service tries it at its next outbox run (within UMPIN_OUTBOX_INTERVAL_MS).',
    examples: ['umpin outbox retry 6f1c…'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const id = positionals[0] as string;
      await withServices((services) => retryOutboxMail(services, id));
      print(`The mail ${id} is due now; the running service will try it shortly.`);
    },
  },
  {
    name: 'outbox drop',
    usage: 'umpin outbox drop <id>',
    summary: 'drop a waiting PIN mail; its PIN never takes effect',
    help: 'The sealed mail is deleted and the old PIN stays. Audited as "dropped".',
    examples: ['umpin outbox drop 6f1c…'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const id = positionals[0] as string;
      await withServices((services) => dropOutboxMail(services, id));
      print(`Dropped the mail ${id}; the old PIN stays.`);
    },
  },
];
