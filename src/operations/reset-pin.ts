/**
 * [MS-OXWUMS] ResetPIN: the authenticated caller gets a new random PIN by
 * mail. The request names no target; a caller only ever resets their own PIN.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { AuthenticationFailed, MailboxNotEnabled } from '../errors.ts';
import { RESET_EFFECTS, changePin } from './change-pin.ts';
import type { Services } from './services.ts';

export async function resetPin(services: Services, credentials: Credentials | undefined, source: string): Promise<{ login: string }> {
  let login: string;
  try {
    ({ login } = await services.authenticator.authenticate(credentials));
  } catch (error) {
    if (error instanceof AuthenticationFailed) {
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
  await changePin(services, login, { reason: 'reset', by: { actor: login, source }, effects: RESET_EFFECTS });
  return { login };
}
