/**
 * Credentials → caller, against the local user store (DESIGN §4). An
 * unknown login costs the same KDF call as a wrong password, and both
 * answer with the same error.
 */
import type { Kdf } from '../crypto/kdf.ts';
import { AuthenticationFailed } from '../errors.ts';
import type { PinStore } from '../store/index.ts';
import type { Credentials } from './basic-credentials.ts';

export interface Caller {
  readonly login: string;
}

export interface Authenticator {
  authenticate(credentials: Credentials | undefined): Promise<Caller>;
}

export function localAuthenticator(store: PinStore, kdf: Kdf, realm: string): Authenticator {
  return {
    async authenticate(credentials) {
      if (!credentials) throw new AuthenticationFailed(realm);
      const verifier = await store.findPasswordVerifier(credentials.login);
      const valid = verifier === undefined
        ? await kdf.verifyDecoy(credentials.password)
        : await kdf.verifyPassword(verifier, credentials.password);
      if (!valid) throw new AuthenticationFailed(realm);
      return { login: credentials.login };
    },
  };
}
