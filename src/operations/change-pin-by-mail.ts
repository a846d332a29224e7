/**
 * The one path by which a generated PIN takes effect (DESIGN §2):
 * generate → store a pending change → hand the mail off → activate.
 * Invariant: no PIN becomes active unless the mail that carries it was
 * handed off. Changes of one mailbox run one at a time (in this process by
 * a lock, across processes by the single pending row per mailbox).
 */
import { randomUUID } from 'node:crypto';
import { isAmongVerifiers } from '../crypto/kdf.ts';
import { encryptPayload } from '../crypto/payload-cipher.ts';
import { InternalError, MailHandOffFailed, NoPinSatisfiesPolicy, ServerBusy, toUmpinError } from '../errors.ts';
import type { MailMessage } from '../mail/mail-message.ts';
import { composePinMail } from '../mail/pin-message.ts';
import { generatePin } from '../pin/index.ts';
import type { MailboxState, PinChangeReason } from '../store/index.ts';
import type { Actor, Services } from './services.ts';

/** Candidates that collide with a remembered PIN are drawn again; each draw costs one KDF call. */
export const MAX_HISTORY_REDRAWS = 8;

/** A sweeper may discard a pending change this long after the hand-off's own timeout. */
const LEASE_MARGIN_MS = 60_000;

export interface PinChangeOutcome {
  readonly messageId: string;
  readonly reply: string;
}

export function changePinByMail(services: Services, mailbox: MailboxState, reason: PinChangeReason, by: Actor): Promise<PinChangeOutcome> {
  return services.mailboxLocks.run(mailbox.login, () => changeLocked(services, mailbox.login, reason, by));
}

async function changeLocked(services: Services, login: string, reason: PinChangeReason, by: Actor): Promise<PinChangeOutcome> {
  const { store } = services;
  const event = `pin.${reason}`;
  const audit = (outcome: string, detail?: Record<string, string | number | boolean>) =>
    ({ at: services.now(), event, outcome, login, actor: by.actor, source: by.source, detail });

  // Re-read under the lock: a change that finished while we waited moved the generation and the history.
  const mailbox = await store.findMailbox(login);
  if (!mailbox) throw new InternalError({ cause: new Error(`mailbox ${login} vanished during a PIN change`) });

  const chosen = await drawPin(services, mailbox);
  if (!chosen) {
    await store.appendAudit(audit('no-pin'));
    throw new NoPinSatisfiesPolicy();
  }

  const id = randomUUID();
  const message = composePinMail({
    kind: reason,
    pin: chosen.pin,
    from: services.mail.from,
    to: mailbox.email,
    extension: mailbox.extension,
    policyText: reason === 'reset' ? mailbox.policy.resetPinText : mailbox.policy.umEnabledText,
  });
  const started = services.now();
  const begun = await store.beginPinChange({
    id,
    login,
    reason,
    newPinVerifier: chosen.verifier,
    sealedMail: encryptPayload(services.secret.payloadKey, Buffer.from(JSON.stringify(message)), `pending:${id}`),
    baseGeneration: mailbox.pinGeneration,
    ownerHost: services.owner.host,
    ownerPid: services.owner.pid,
    leaseUntil: new Date(started.getTime() + services.mail.handOffTimeoutMs + LEASE_MARGIN_MS),
    actor: by.actor,
    source: by.source,
  }, started);
  if (!begun) {
    await store.appendAudit(audit('busy'));
    throw new ServerBusy(5, 'A PIN change for this mailbox is already in progress; try again in a few seconds.');
  }

  let receipt;
  try {
    receipt = await handOffWithin(services, message);
  } catch (error) {
    const failure = toUmpinError(error);
    const facts = failure instanceof MailHandOffFailed ? failure.facts : { permanent: false, reply: failure.code };
    await store.discardPinChange(id, audit('mail-failed', { permanent: facts.permanent, reply: facts.reply ?? '', ...(facts.responseCode ? { responseCode: facts.responseCode } : {}) }));
    throw failure;
  }

  const activation = await store.activatePinChange(id, services.now(), audit('success', { messageId: receipt.messageId, handOff: receipt.reply }));
  if (activation !== 'activated') {
    // The mail went out but its PIN did not take effect; the old PIN still works, so the invariant holds.
    services.log.error({ login, changeId: id, activation }, 'PIN mail was handed off but the pending change was gone; the old PIN stays active');
    throw new InternalError();
  }
  return receipt;
}

async function drawPin(services: Services, mailbox: MailboxState): Promise<{ pin: string; verifier: Buffer } | undefined> {
  const remembered = await services.store.findRememberedPinVerifiers(mailbox.login);
  for (let draw = 0; draw < MAX_HISTORY_REDRAWS; draw += 1) {
    const pin = generatePin(mailbox.policy, { extension: mailbox.extension }, services.digits);
    if (pin === undefined) return undefined;
    const verifier = await services.kdf.pinVerifier(pin, mailbox.pinSalt);
    if (!isAmongVerifiers(verifier, remembered)) return { pin, verifier };
  }
  return undefined;
}

async function handOffWithin(services: Services, message: MailMessage) {
  const timeoutMs = services.mail.handOffTimeoutMs;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const failure = new MailHandOffFailed({ permanent: false, reply: `no answer within ${timeoutMs} ms` });
      controller.abort(failure);
      reject(failure);
    }, timeoutMs);
  });
  try {
    return await Promise.race([services.transport.handOff(message, controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
