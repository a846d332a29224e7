/**
 * Credentials → caller, against the local user store (DESIGN §4). An
 * unknown login costs the same KDF call as a wrong password, and both
 * answer with the same error.
 */
import type { Kdf } from '../crypto/kdf.ts';
import { AuthenticationFailed } from '../errors.ts';
import type { PinStore } from '../store/index.ts';
import type { Credentials } from './basic-credentials.ts';
import type { CredentialCache } from './credential-cache.ts';

export interface Caller {
  readonly login: string;
}

export interface Authenticator {
  authenticate(credentials: Credentials | undefined): Promise<Caller>;
}

export function localAuthenticator(store: PinStore, kdf: Kdf, realm: string, cache?: CredentialCache): Authenticator {
  return {
    async authenticate(credentials) {
      if (!credentials) throw new AuthenticationFailed(realm);
      const { login, password } = credentials;
      const verifier = await store.findPasswordVerifier(login);
      if (verifier === undefined) {
        await kdf.verifyDecoy(password);
        throw new AuthenticationFailed(realm);
      }
      if (cache?.has(login, password, verifier)) return { login };
      if (!(await kdf.verifyPassword(verifier, password))) throw new AuthenticationFailed(realm);
      cache?.remember(login, password, verifier);
      return { login };
    },
  };
}
