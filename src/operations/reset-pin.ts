/**
 * [MS-OXWUMS] ResetPIN: the authenticated caller gets a new random PIN by
 * mail. The request names no target; a caller only ever resets their own PIN.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { AuthenticationFailed, MailboxNotEnabled } from '../errors.ts';
import { RESET_EFFECTS, changePin } from './change-pin.ts';
import { enforce } from './limits.ts';
import type { Services } from './services.ts';

export async function resetPin(services: Services, credentials: Credentials | undefined, source: string): Promise<{ login: string }> {
  const { limits } = services;
  enforce(await limits.requestsPerAddress.hit(source), 'Too many requests from your address; try again later.');
  const signInKey = `${credentials?.login ?? ''}\u0000${source}`;
  enforce(await limits.failedSignIns.isBlocked(signInKey), 'Too many failed sign-ins for this user from your address; try again later.');
  let login: string;
  try {
    ({ login } = await services.authenticator.authenticate(credentials));
  } catch (error) {
    if (error instanceof AuthenticationFailed) {
      await limits.failedSignIns.hit(signInKey);
      await services.store.appendAudit({
        at: services.now(), event: 'pin.reset', outcome: 'auth-failed',
        login: credentials ? credentials.login.slice(0, 256) : null, actor: 'anonymous', source,
      });
    }
    throw error;
  }
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
