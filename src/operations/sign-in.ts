/**
 * The one sign-in of every road in that takes a password (DESIGN §4): the
 * SOAP service's Basic credentials and the self-service page's form. Limits
 * run before the password work, and a failure is counted and audited the
 * same way whichever road it came by, so a flood on one road is limited on
 * both (they share the counters: login and source address).
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import type { Caller } from '../auth/authenticate.ts';
import { AuthenticationFailed } from '../errors.ts';
import { enforce } from './limits.ts';
import type { Services } from './services.ts';

export interface SignInAudit {
  /** The audit event a failed sign-in is written as: `pin.reset` for SOAP, `web.sign-in` for the page. */
  readonly event: string;
  /** The road in, recorded in the audit detail (`web`); the SOAP road writes none, as before. */
  readonly via?: string;
}

export async function signIn(services: Services, credentials: Credentials | undefined, source: string, audit: SignInAudit): Promise<Caller> {
  const { limits } = services;
  enforce(await limits.requestsPerAddress.hit(source), 'Too many requests from your address; try again later.');
  const signInKey = `${credentials?.login ?? ''}\u0000${source}`;
  enforce(await limits.failedSignIns.isBlocked(signInKey), 'Too many failed sign-ins for this user from your address; try again later.');
  try {
    return await services.authenticator.authenticate(credentials);
  } catch (error) {
    if (error instanceof AuthenticationFailed) {
      await limits.failedSignIns.hit(signInKey);
      await services.store.appendAudit({
        at: services.now(), event: audit.event, outcome: 'auth-failed',
        login: credentials ? credentials.login.slice(0, 256) : null, actor: 'anonymous', source,
        ...(audit.via ? { detail: { via: audit.via } } : {}),
      });
    }
    throw error;
  }
}
