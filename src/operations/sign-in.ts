/**
 * The sign-in every SOAP operation starts with (DESIGN §4): the per-address
 * limit before any password work, the failed-sign-in block per login and
 * address, then the password; a failure is counted and audited under the
 * operation's event. ResetPIN and the other Voice Mail Settings operations
 * share it, so none has a private copy of a rule.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { AuthenticationFailed } from '../errors.ts';
import { enforce } from './limits.ts';
import type { Services } from './services.ts';

export async function signInCaller(services: Services, credentials: Credentials | undefined, source: string, event: string): Promise<string> {
  const { limits } = services;
  enforce(await limits.requestsPerAddress.hit(source), 'Too many requests from your address; try again later.');
  const signInKey = `${credentials?.login ?? ''}\u0000${source}`;
  enforce(await limits.failedSignIns.isBlocked(signInKey), 'Too many failed sign-ins for this user from your address; try again later.');
  try {
    return (await services.authenticator.authenticate(credentials)).login;
  } catch (error) {
    if (error instanceof AuthenticationFailed) {
      await limits.failedSignIns.hit(signInKey);
      await services.store.appendAudit({
        at: services.now(), event, outcome: 'auth-failed',
        login: credentials ? credentials.login.slice(0, 256) : null, actor: 'anonymous', source,
      });
    }
    throw error;
  }
}
