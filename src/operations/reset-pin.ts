/**
 * [MS-OXWUMS] ResetPIN: the authenticated caller gets a new random PIN by
 * mail. The request names no target; a caller only ever resets their own PIN.
 * The self-service page resets through `resetOwnPin` after its own sign-in.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { MailboxNotEnabled } from '../errors.ts';
import { RESET_EFFECTS, changePin, type PinChangeOutcome } from './change-pin.ts';
import { enforce } from './limits.ts';
import type { Actor, Services } from './services.ts';
import { admitRequest, signIn } from './sign-in.ts';

export async function resetPin(services: Services, credentials: Credentials | undefined, source: string): Promise<{ login: string }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, 'pin.reset');
  await resetOwnPin(services, login, { actor: login, source });
  return { login };
}

/** The reset of a caller already signed in (`by.actor` is the login): the per-login limit, then the one PIN change path. */
export async function resetOwnPin(services: Services, login: string, by: Actor): Promise<PinChangeOutcome> {
  const detail = by.via ? { detail: { via: by.via } } : {};
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) {
    await services.store.appendAudit({ at: services.now(), event: 'pin.reset', outcome: 'not-enabled', login, actor: by.actor, source: by.source, ...detail });
    throw new MailboxNotEnabled();
  }
  // Counted after sign-in, so only the mailbox's owner can spend it; one atomic hit decides and counts.
  const allowed = await services.limits.resetsPerLogin.hit(login);
  if (!allowed.allowed) {
    await services.store.appendAudit({ at: services.now(), event: 'pin.reset', outcome: 'rate-limited', login, actor: by.actor, source: by.source, ...detail });
    enforce(allowed, 'Too many PIN resets for your mailbox; try again later.');
  }
  return changePin(services, login, { reason: 'reset', by, effects: RESET_EFFECTS });
}
