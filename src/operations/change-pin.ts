/**
 * The one path by which a PIN takes effect (DESIGN §2): choose or generate
 * → store a pending change → hand its mail off → activate. Invariant: a
 * generated PIN becomes active only once the mail that carries it was handed
 * off; a chosen PIN (the user's own, or an administrator's) may skip the
 * mail because a person already knows it. Changes of one mailbox run one at
 * a time: in this process by a lock, across processes by the single pending
 * row per mailbox.
 */
import { randomUUID } from 'node:crypto';
import { isPinAmong } from '../crypto/kdf.ts';
import { encryptPayload } from '../crypto/payload-cipher.ts';
import { InternalError, NoPinSatisfiesPolicy, PinPolicyViolated, ServerBusy, toUmpinError } from '../errors.ts';
import { handOffAuditDetail, handOffWithin, toHandOffFacts } from '../mail/hand-off.ts';
import type { HandOffReceipt, MailMessage } from '../mail/transport.ts';
import { composePinMail } from '../mail/compose-pin-mail.ts';
import { HISTORY_FAILURE, checkPin, generatePin, type PinContext } from '../pin/index.ts';
import type { MailboxState, PinChangeEffects, PinChangeReason } from '../store/index.ts';
import { handOffLeaseUntil, retryDelayMs } from './outbox-policy.ts';
import type { Actor, Services } from './services.ts';

/** Candidates that collide with a remembered PIN are drawn again; each draw costs one KDF call. */
export const MAX_HISTORY_REDRAWS = 8;

export interface PinChangeRequest {
  readonly reason: PinChangeReason;
  readonly by: Actor;
  readonly effects: PinChangeEffects;
  /** A PIN someone chose; checked against the policy and history. Generated when absent. */
  readonly chosenPin?: string;
  /** Where the PIN mail goes: the mailbox's own address when undefined, no mail when null. */
  readonly mailTo?: string | null;
}

export interface PinChangeOutcome {
  /** The relay took the mail and the PIN is active. */
  readonly receipt?: HandOffReceipt;
  /** The relay could not take it now; the outbox will retry, and the PIN activates on delivery. */
  readonly queued?: { readonly id: string; readonly reply: string; readonly nextAttemptAt: Date };
}

/**
 * Changes nobody waits for go through the durable outbox (issue 5): one
 * attempt at once, then retries by the worker. The SOAP caller's own reset
 * is answered by one inline attempt, as [MS-OXWUMS] expects a result.
 */
const OUTBOX_REASONS: ReadonlySet<PinChangeReason> = new Set(['welcome', 'admin-reset', 'auto-reset']);

/**
 * The effects of a reset that a user (ResetPIN, proved by the password) or an administrator (enable, reset)
 * starts: the user must choose a PIN at the next logon, and the lock and counter are cleared (DESIGN §2 step 6).
 */
export const RESET_EFFECTS: PinChangeEffects = Object.freeze({
  pinExpired: true, lockedOut: 'unlock', clearFailedLogons: true, clearFirstTimeUser: false,
});

export function pinContext(mailbox: MailboxState): PinContext {
  return { extension: mailbox.extension, firstName: mailbox.firstName, lastName: mailbox.lastName };
}

export function changePin(services: Services, login: string, request: PinChangeRequest): Promise<PinChangeOutcome> {
  if (request.mailTo === null && request.chosenPin === undefined) {
    throw new TypeError('a generated PIN must be mailed: nobody would know it otherwise');
  }
  return services.mailboxLocks.run(login, () => withPinChangeCounted(services, request.reason, changeLocked(services, login, request)));
}

/** Every change that ends is counted once, by how it ended: activated, queued, or the code of the error that stopped it. */
async function withPinChangeCounted(services: Services, reason: PinChangeReason, change: Promise<PinChangeOutcome>): Promise<PinChangeOutcome> {
  try {
    const outcome = await change;
    services.metrics.countPinChange(reason, outcome.queued ? 'queued' : 'activated');
    return outcome;
  } catch (error) {
    services.metrics.countPinChange(reason, toUmpinError(error).code);
    throw error;
  }
}

async function changeLocked(services: Services, login: string, request: PinChangeRequest): Promise<PinChangeOutcome> {
  const { store } = services;
  const { by } = request;
  const audit = (outcome: string, detail?: Record<string, string | number | boolean>) => ({
    at: services.now(), event: `pin.${request.reason}`, outcome, login, actor: by.actor, source: by.source,
    detail: by.via ? { via: by.via, ...detail } : detail,
  });

  // Read under the lock: a change that finished while we waited moved the generation and the history.
  const mailbox = await store.findMailbox(login);
  if (!mailbox) throw new InternalError({ cause: new Error(`mailbox ${login} vanished during a PIN change`) });

  const chosen = request.chosenPin === undefined ? await drawPin(services, mailbox) : await acceptPin(services, mailbox, request.chosenPin);
  if (!chosen) {
    await store.appendAudit(audit('no-pin'));
    throw new NoPinSatisfiesPolicy();
  }
  if ('failures' in chosen) {
    await store.appendAudit(audit('policy-violated', { rules: chosen.failures.map((f) => f.id).join(' ') }));
    throw new PinPolicyViolated(chosen.failures);
  }

  const id = randomUUID();
  const delivery = OUTBOX_REASONS.has(request.reason) ? 'outbox' : 'inline';
  const recipient = request.mailTo === undefined ? (mailbox.notifyEmail ?? mailbox.email) : request.mailTo;
  const message = recipient === null ? undefined : withReplyTo(services, composePinMail({
    kind: request.reason === 'welcome' ? 'welcome' : 'reset',
    pin: chosen.pin,
    from: services.mail.from,
    to: recipient,
    extension: mailbox.extension,
    policyText: request.reason === 'welcome' ? mailbox.policy.umEnabledText : mailbox.policy.resetPinText,
    language: mailbox.language,
    ...(services.mail.accessNumber ? { accessNumber: services.mail.accessNumber } : {}),
    ...(services.mail.templateDir ? { templateDir: services.mail.templateDir } : {}),
  }));
  const started = services.now();
  // A queued mail nobody is sending right now gives way to the newer change.
  await store.supersedeQueuedPinChange(login, started, { ...audit('superseded'), event: 'pin.outbox' });
  const begun = await store.beginPinChange({
    id,
    login,
    reason: request.reason,
    newPinVerifier: chosen.verifier,
    newPinKeyId: services.kdf.currentKeyId,
    newPinLength: chosen.pin.length,
    ...(message ? { sealedMail: encryptPayload(services.keyring.payloadKey, Buffer.from(JSON.stringify(message)), `pending:${id}`) } : {}),
    effects: request.effects,
    delivery,
    ...(recipient === null ? {} : { recipient, giveUpAt: new Date(started.getTime() + services.mail.giveUpAfterMs) }),
    baseGeneration: mailbox.pinGeneration,
    ownerHost: services.owner.host,
    ownerPid: services.owner.pid,
    leaseUntil: handOffLeaseUntil(services, started),
    actor: by.actor,
    source: by.source,
  }, started);
  if (!begun) {
    await store.appendAudit(audit('busy'));
    throw new ServerBusy(5, 'A PIN change for this mailbox is already in progress; try again in a few seconds.');
  }
  // Another process (a second instance, or the CLI) may have begun and activated a change of this
  // mailbox after our read above, while we drew the PIN: our change would then mail a PIN that can
  // never activate. Our pending row now keeps every other change out, so one read settles it,
  // before any mail goes out (found by test/e2e/multi-instance.test.ts).
  if ((await store.findMailbox(login))?.pinGeneration !== mailbox.pinGeneration) {
    await store.discardPinChange(id, audit('busy', { note: 'another PIN change of this mailbox finished first' }));
    throw new ServerBusy(5, 'Another PIN change for this mailbox has just finished; try again in a few seconds.');
  }

  let receipt: HandOffReceipt | undefined;
  if (message) {
    try {
      receipt = await handOffWithin(services.transport, message, services.mail.handOffTimeoutMs, (outcome) => services.metrics.countMailHandOff(delivery, outcome));
    } catch (error) {
      const failure = toUmpinError(error);
      const facts = toHandOffFacts(failure);
      if (delivery === 'outbox' && !facts.permanent) {
        const nextAttemptAt = new Date(services.now().getTime() + retryDelayMs(services, 1));
        await store.scheduleMailRetry(id, nextAttemptAt, facts.reply ?? '');
        await store.appendAudit(audit('mail-queued', { ...handOffAuditDetail(facts), delivery }));
        return { queued: { id, reply: facts.reply ?? '', nextAttemptAt } };
      }
      await store.discardPinChange(id, audit('mail-failed', { ...handOffAuditDetail(facts), delivery }));
      throw failure;
    }
  }

  const detail: Record<string, string> = receipt ? { messageId: receipt.messageId, handOff: receipt.reply, to: recipient ?? '', delivery } : { mail: 'none' };
  const activation = await store.activatePinChange(id, services.now(), audit('success', detail));
  if (activation !== 'activated') {
    // The mail went out but its PIN did not take effect; the old PIN still works, so the invariant holds.
    services.log.error({ login, changeId: id, activation }, 'a pending PIN change was gone at activation; the old PIN stays active');
    throw new InternalError();
  }
  return receipt ? { receipt } : {};
}

function withReplyTo(services: Services, message: MailMessage): MailMessage {
  const { replyTo } = services.mail;
  return replyTo === undefined ? message : { ...message, headers: { ...message.headers, 'Reply-To': replyTo } };
}

type Candidate = { pin: string; verifier: Buffer };

async function drawPin(services: Services, mailbox: MailboxState): Promise<Candidate | undefined> {
  const remembered = await services.store.findKeyedPinVerifiers(mailbox.login);
  for (let draw = 0; draw < MAX_HISTORY_REDRAWS; draw += 1) {
    const pin = generatePin(mailbox.policy, pinContext(mailbox), services.digits);
    if (pin === undefined) return undefined;
    const verifier = await services.kdf.pinVerifier(pin, mailbox.pinSalt);
    if (!(await isPinAmong(services.kdf, pin, mailbox.pinSalt, verifier, remembered))) return { pin, verifier };
  }
  return undefined;
}

/** Every rule the chosen PIN breaks, history included, or the PIN with its verifier. */
export async function acceptPin(services: Services, mailbox: MailboxState, pin: string): Promise<Candidate | { failures: ReturnType<typeof checkPin> }> {
  const failures = checkPin(pin, mailbox.policy, pinContext(mailbox));
  if (failures.some((f) => f.id === 'pin.not-digits')) return { failures };
  const verifier = await services.kdf.pinVerifier(pin, mailbox.pinSalt);
  if (await isPinAmong(services.kdf, pin, mailbox.pinSalt, verifier, await services.store.findKeyedPinVerifiers(mailbox.login))) failures.push(HISTORY_FAILURE);
  return failures.length > 0 ? { failures } : { pin, verifier };
}
