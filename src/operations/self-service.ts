/**
 * What the self-service page (src/web/) asks of the core beyond sign-in and
 * reset (sign-in.ts, reset-pin.ts): the caller's PIN state, and a PIN of
 * their own choosing. Both for the signed-in caller only; neither returns a
 * PIN or a verifier.
 */
import { MailboxNotEnabled } from '../errors.ts';
import { isPinExpired, type PinPolicy } from '../pin/index.ts';
import type { PinChangeEffects } from '../store/index.ts';
import { findLastMail, type LastMail } from './admin/pins.ts';
import { changePin } from './change-pin.ts';
import type { Actor, Services } from './services.ts';
import { admitRequest } from './sign-in.ts';

const DAY_MS = 86_400_000;

/**
 * A PIN chosen after proving the password: the user knows it, so it is not
 * expired, and it clears a lockout as a reset by the same user would (the
 * lockout guards against PIN guessing, which a password holder need not do).
 */
export const SELF_CHOSEN_EFFECTS: PinChangeEffects = Object.freeze({
  pinExpired: false, lockedOut: 'unlock', clearFailedLogons: true, clearFirstTimeUser: true,
});

export interface OwnPinState {
  readonly login: string;
  readonly policy: PinPolicy;
  readonly extension: string;
  readonly hasPin: boolean;
  readonly pinSetAt: Date | null;
  /** When the PIN lifetime runs out; null when the policy sets none or no PIN is set. */
  readonly expiresAt: Date | null;
  /** The phone will ask for a new PIN at the next logon. */
  readonly mustChange: boolean;
  readonly lockedOut: boolean;
  /** Where PIN mails go (shown masked by the page). */
  readonly mailTo: string;
  readonly lastMail: LastMail | undefined;
}

export async function describeOwnPin(services: Services, login: string): Promise<OwnPinState> {
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) throw new MailboxNotEnabled();
  const { policy } = mailbox;
  const expiresAt = mailbox.pinSetAt === null || policy.pinLifetimeDays === null ? null : new Date(mailbox.pinSetAt.getTime() + policy.pinLifetimeDays * DAY_MS);
  return {
    login,
    policy,
    extension: mailbox.extension,
    hasPin: mailbox.hasPin,
    pinSetAt: mailbox.pinSetAt,
    expiresAt,
    mustChange: mailbox.hasPin && isPinExpired(mailbox, policy, services.now()),
    lockedOut: mailbox.lockedOut,
    mailTo: mailbox.notifyEmail ?? mailbox.email,
    lastMail: await findLastMail(services, login),
  };
}

/**
 * The caller's own PIN, checked by the policy's checker and history like
 * every chosen PIN (PinPolicyViolated names every failed rule). Each try
 * costs KDF work, so it counts against the per-address request limit.
 */
export async function chooseOwnPin(services: Services, login: string, pin: string, by: Actor): Promise<void> {
  await admitRequest(services, by.source);
  if (!(await services.store.findMailbox(login))) throw new MailboxNotEnabled();
  await changePin(services, login, { reason: 'change', by, chosenPin: pin, mailTo: null, effects: SELF_CHOSEN_EFFECTS });
}
