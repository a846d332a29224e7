/**
 * The outbox worker (issue 5): delivers queued PIN mails, retrying
 * transient failures with doubling waits, giving up on a permanent refusal
 * or after the configured time. A PIN activates only on delivery; giving up
 * discards it, so the old PIN stays. Per-item results, never a throw for
 * one item (STYLE 9).
 */
import { decryptPayloadWithAny } from '../crypto/payload-cipher.ts';
import { InvalidArgument, MailHandOffFailed, toUmpinError } from '../errors.ts';
import { handOffAuditDetail, handOffWithin, toHandOffFacts } from '../mail/hand-off.ts';
import type { MailMessage } from '../mail/transport.ts';
import type { AuditEvent, ClaimedMail, QueuedMail } from '../store/index.ts';
import { handOffLeaseUntil, retryDelayMs } from './outbox-policy.ts';
import { ADMIN, type Services } from './services.ts';

export type DeliveryStatus = 'Sent' | 'Retry' | 'Failed';

export interface OutboxRun {
  readonly results: Array<{ id: string; login: string; status: DeliveryStatus; reply: string }>;
}

/** Rows one run takes at most; the next run takes the rest. */
const BATCH = 20;

export async function deliverDueMail(services: Services): Promise<OutboxRun> {
  const now = services.now();
  const claimed = await services.store.claimDueMail(now, services.owner, handOffLeaseUntil(services, now), BATCH);
  const results: OutboxRun['results'] = [];
  for (const mail of claimed) {
    try {
      results.push({ id: mail.id, login: mail.login, ...(await deliverOne(services, mail)) });
    } catch (error) {
      services.log.error({ err: error, login: mail.login, id: mail.id }, 'outbox delivery failed unexpectedly; the row will be retried after its lease');
      results.push({ id: mail.id, login: mail.login, status: 'Retry', reply: 'internal error' });
    }
  }
  for (const r of results) services.metrics.countOutboxDelivery(r.status);
  return { results };
}

async function deliverOne(services: Services, mail: ClaimedMail): Promise<{ status: DeliveryStatus; reply: string }> {
  const { store } = services;
  const audit = (outcome: string, detail: Record<string, string | number | boolean>): AuditEvent => ({
    at: services.now(), event: `pin.${mail.reason}`, outcome, login: mail.login, actor: 'system', source: 'outbox',
    detail: { ...detail, attempts: mail.attempts, delivery: 'outbox', to: mail.recipient },
  });
  try {
    // Inside the try: a row this instance cannot open (no key of its ring, after a rotation elsewhere
    // it has not restarted for; or a damaged row) is retried and given up at its deadline like any
    // other failure, its lease released, instead of failing the same way on every run for ever.
    const message = openSealedMail(services, mail);
    const receipt = await handOffWithin(services.transport, message, services.mail.handOffTimeoutMs, (outcome) => services.metrics.countMailHandOff('outbox', outcome));
    const activation = await store.activatePinChange(mail.id, services.now(), audit('success', {
      messageId: receipt.messageId, handOff: receipt.reply,
    }));
    if (activation !== 'activated') services.log.warn({ login: mail.login, activation }, 'a queued PIN mail was delivered but its change was gone; the old PIN stays');
    return { status: 'Sent', reply: receipt.reply };
  } catch (error) {
    const facts = toHandOffFacts(toUmpinError(error));
    const reply = facts.reply ?? '';
    if (facts.permanent || services.now() >= mail.giveUpAt) {
      await store.discardPinChange(mail.id, audit('mail-failed', { ...handOffAuditDetail(facts), gaveUp: !facts.permanent }));
      return { status: 'Failed', reply };
    }
    await store.scheduleMailRetry(mail.id, new Date(services.now().getTime() + retryDelayMs(services, mail.attempts)), reply);
    await store.appendAudit(audit('mail-queued', handOffAuditDetail(facts)));
    return { status: 'Retry', reply };
  }
}

/** The queued mail, or a MailHandOffFailed (temporary: another instance's keyring may open it) saying why not. */
function openSealedMail(services: Services, mail: ClaimedMail): MailMessage {
  let plaintext: Buffer;
  try {
    plaintext = decryptPayloadWithAny(services.keyring.keys, mail.sealedMail, `pending:${mail.id}`).plaintext;
  } catch (error) {
    throw new MailHandOffFailed({ permanent: false, reply: 'no key of this server secret opens the sealed mail (restart with the current secret file)' }, { cause: error });
  }
  try {
    return JSON.parse(plaintext.toString('utf8')) as MailMessage;
  } catch (error) {
    throw new MailHandOffFailed({ permanent: false, reply: 'the sealed mail is damaged: it is not a mail message' }, { cause: error });
  }
}

export function listOutbox(services: Services): Promise<QueuedMail[]> {
  return services.store.listQueuedMail(services.now());
}

export async function retryOutboxMail(services: Services, id: string): Promise<void> {
  if (!(await services.store.retryMailNow(id, services.now()))) throw new InvalidArgument(`There is no queued mail ${id}; list them with: umpin outbox`);
  await services.store.appendAudit({ at: services.now(), event: 'pin.outbox', outcome: 'retry-requested', login: null, ...ADMIN, detail: { id } });
}

/** Drops a queued mail: its PIN never takes effect, the old one stays. */
export async function dropOutboxMail(services: Services, id: string): Promise<void> {
  const queued = (await services.store.listQueuedMail(services.now())).find((m) => m.id === id);
  if (!queued) throw new InvalidArgument(`There is no queued mail ${id}; list them with: umpin outbox`);
  if (queued.inFlight) throw new InvalidArgument(`The mail ${id} is being delivered right now; try again in a minute.`);
  await services.store.discardPinChange(id, { at: services.now(), event: `pin.${queued.reason}`, outcome: 'dropped', login: queued.login, ...ADMIN, detail: { id } });
}
