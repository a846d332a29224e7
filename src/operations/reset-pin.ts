/**
 * [MS-OXWUMS] ResetPIN: the authenticated caller gets a new random PIN by
 * mail. The request names no target; a caller only ever resets their own PIN.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { MailboxNotEnabled } from '../errors.ts';
import { RESET_EFFECTS, changePin } from './change-pin.ts';
import { enforce } from './limits.ts';
import type { Services } from './services.ts';
import { admitRequest, signIn } from './sign-in.ts';

export async function resetPin(services: Services, credentials: Credentials | undefined, source: string): Promise<{ login: string }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, 'pin.reset');
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) {
    await services.store.appendAudit({ at: services.now(), event: 'pin.reset', outcome: 'not-enabled', login, actor: login, source });
    throw new MailboxNotEnabled();
  }
  // Counted after sign-in, so only the mailbox's owner can spend it; one atomic hit decides and counts.
  const allowed = await services.limits.resetsPerLogin.hit(login);
  if (!allowed.allowed) {
    await services.store.appendAudit({ at: services.now(), event: 'pin.reset', outcome: 'rate-limited', login, actor: login, source });
    enforce(allowed, 'Too many PIN resets for your mailbox; try again later.');
  }
  await changePin(services, login, { reason: 'reset', by: { actor: login, source }, effects: RESET_EFFECTS });
  return { login };
}
