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

/**
 * `directory`, when given, decides the logins the local store does not hold
 * (docs/ldap.md). A login the local store holds is decided by its local
 * password alone: no fallback to the directory, so a local account cannot be
 * taken over by a directory entry of the same name, and a directory outage
 * never locks it out. Without a directory an unknown login costs a decoy KDF
 * call, as a wrong password does.
 */
export function localAuthenticator(store: PinStore, kdf: Kdf, realm: string, cache?: CredentialCache, directory?: Authenticator): Authenticator {
  return {
    async authenticate(credentials) {
      if (!credentials) throw new AuthenticationFailed(realm);
      const { login, password } = credentials;
      const stored = await store.findPassword(login);
      if (stored === undefined) {
        if (directory) return fromDirectoryAtLocalCost(directory, credentials);
        await kdf.verifyDecoy(password);
        throw new AuthenticationFailed(realm);
      }
      if (cache?.has(login, password, stored.verifier)) return { login };
      if (!(await kdf.verifyPassword(stored.verifier, password, stored.keyId))) throw new AuthenticationFailed(realm);
      const verifier = stored.keyId === kdf.currentKeyId ? stored.verifier : await rehashPassword(store, kdf, login, password, stored.verifier);
      cache?.remember(login, password, verifier);
      return { login };
    },
  };

  /**
   * A login the local store lacks also spends the KDF call a local login spends, during the bind and
   * awaited whatever the bind answers: it then costs max(KDF, bind), not the bind alone, so timing does
   * not tell local accounts from the rest (DESIGN §4; docs/limits.md says what remains). A full KDF queue
   * answers busy first, as it does for a local login.
   */
  async function fromDirectoryAtLocalCost(directory: Authenticator, credentials: Credentials): Promise<Caller> {
    const [caller, decoy] = await Promise.allSettled([fromDirectory(directory, credentials), kdf.verifyDecoy(credentials.password)]);
    if (decoy.status === 'rejected') throw decoy.reason;
    if (caller.status === 'rejected') throw caller.reason;
    return caller.value;
  }

  async function fromDirectory(directory: Authenticator, credentials: Credentials): Promise<Caller> {
    const caller = await directory.authenticate(credentials);
    // The directory equates spellings ("ALICE", " alice") that the local store does not; the local store still owns its logins.
    if (caller.login !== credentials.login && (await store.findPassword(caller.login)) !== undefined) throw new AuthenticationFailed(realm);
    return caller;
  }
}

/**
 * Re-hash on use (docs/secret-rotation.md): a verifier made under a previous server key is made again
 * under the current one, once, with the password just proved; only if it is still the one checked (a
 * password change in between wins). Returns the verifier now stored; a failure never fails the sign-in.
 */
async function rehashPassword(store: PinStore, kdf: Kdf, login: string, password: string, checked: string): Promise<string> {
  try {
    const verifier = await kdf.hashPassword(password);
    return (await store.replacePasswordVerifier(login, checked, { verifier, keyId: kdf.currentKeyId }, new Date())) ? verifier : checked;
  } catch {
    return checked;
  }
}
