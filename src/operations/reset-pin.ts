/**
 * [MS-OXWUMS] ResetPIN: the authenticated caller gets a new random PIN by
 * mail. The request names no target; a caller only ever resets their own PIN.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { MailboxNotEnabled } from '../errors.ts';
import { RESET_EFFECTS, changePin } from './change-pin.ts';
import { enforce } from './limits.ts';
import type { Services } from './services.ts';
import { signInCaller } from './sign-in.ts';

export async function resetPin(services: Services, credentials: Credentials | undefined, source: string): Promise<{ login: string }> {
  const { limits } = services;
  const login = await signInCaller(services, credentials, source, 'pin.reset');
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) {
    await services.store.appendAudit({ at: services.now(), event: 'pin.reset', outcome: 'not-enabled', login, actor: login, source });
    throw new MailboxNotEnabled();
  }
  const allowed = await limits.resetsPerLogin.hit(login);
  if (!allowed.allowed) {
    await services.store.appendAudit({ at: services.now(), event: 'pin.reset', outcome: 'rate-limited', login, actor: login, source });
    enforce(allowed, 'Too many PIN resets for your mailbox; try again later.');
  }
  await changePin(services, login, { reason: 'reset', by: { actor: login, source }, effects: RESET_EFFECTS });
  return { login };
}
