/**
 * Signing in with a login and password, the way every road in does it
 * (DESIGN §4): SOAP's Basic credentials today, the self-service page's form
 * and anything later. The abuse limits are part of it, so a caller of
 * `signIn` inherits them whole: the failed-sign-in slot is reserved before
 * the password work and given back only when the password was right (or
 * when no password was judged), so N concurrent guesses reach the KDF at
 * most the limit's count (docs/limits.md).
 */
import type { Caller } from '../auth/authenticate.ts';
import type { Credentials } from '../auth/basic-credentials.ts';
import { AuthenticationFailed } from '../errors.ts';
import { enforce } from './limits.ts';
import type { Services } from './services.ts';

/** No login is longer (validateLogin): a longer one is refused before any work, whatever it costs to send. */
export const MAX_LOGIN_LENGTH = 256;

/** Counts one request from `source` against the per-address limit; throws ServerBusy beyond it. Refused requests count too. */
export async function admitRequest(services: Services, source: string): Promise<void> {
  const { limits } = services;
  enforce(await limits.requestsPerAddress.hit(limits.address(source)), 'Too many requests from your address; try again later.');
}

/**
 * The caller behind `credentials`, or AuthenticationFailed (one error for an
 * unknown login, a wrong password, missing or over-long credentials), or
 * ServerBusy when this login has failed too often from this address.
 * `event` names the audit event a failure is recorded under; `via`, when
 * given, the road in (the self-service page's `web`), in its detail.
 */
export async function signIn(services: Services, credentials: Credentials | undefined, source: string, event: string, via?: string): Promise<Caller> {
  const { limits } = services;
  // An over-long login is answered like missing credentials: the authenticator refuses it without work.
  const presented = credentials !== undefined && credentials.login.length <= MAX_LOGIN_LENGTH ? credentials : undefined;
  const slot = presented === undefined ? undefined : await limits.failedSignIns.reserve(`${presented.login}\u0000${limits.address(source)}`);
  if (slot !== undefined) enforce(slot, 'Too many failed sign-ins for this user from your address; try again later.');
  try {
    const caller = await services.authenticator.authenticate(presented);
    await slot?.refund(); // a right password is not a failed sign-in
    return caller;
  } catch (error) {
    if (!(error instanceof AuthenticationFailed)) {
      // Busy KDF, directory down: no password was judged wrong.
      await slot?.refund();
      throw error;
    }
    await services.store.appendAudit({
      at: services.now(), event, outcome: 'auth-failed',
      login: credentials ? credentials.login.slice(0, MAX_LOGIN_LENGTH) : null, actor: 'anonymous', source,
      ...(via ? { detail: { via } } : {}),
    });
    throw error;
  }
}
