/**
 * Remembers, briefly, that a login and password were verified, so a client
 * that signs in on every request does not pay the KDF every time (DESIGN §4).
 *
 * Entries are keyed by an HMAC (under the pepper) of the login, the password
 * and the stored verifier, so the password is never held, and a changed
 * password — a new verifier, by any process — simply misses. Only successes
 * are cached; a failure always costs the full KDF call.
 */
import { createHmac } from 'node:crypto';

export const DEFAULT_CREDENTIAL_TTL_MS = 60_000;
export const DEFAULT_CREDENTIAL_CACHE_SIZE = 10_000;

export class CredentialCache {
  readonly #pepper: Buffer;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Insertion order is expiry order (every entry lives `ttlMs`), so the first key is the oldest. */
  readonly #expiries = new Map<string, number>();

  constructor(options: { pepper: Buffer; ttlMs?: number; maxEntries?: number; now?: () => number }) {
    this.#pepper = options.pepper;
    this.#ttlMs = options.ttlMs ?? DEFAULT_CREDENTIAL_TTL_MS;
    this.#maxEntries = options.maxEntries ?? DEFAULT_CREDENTIAL_CACHE_SIZE;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#expiries.size;
  }

  has(login: string, password: string, verifier: string): boolean {
    const key = this.#key(login, password, verifier);
    const expiry = this.#expiries.get(key);
    if (expiry === undefined) return false;
    if (expiry > this.#now()) return true;
    this.#expiries.delete(key);
    return false;
  }

  remember(login: string, password: string, verifier: string): void {
    const key = this.#key(login, password, verifier);
    this.#expiries.delete(key);
    this.#expiries.set(key, this.#now() + this.#ttlMs);
    while (this.#expiries.size > this.#maxEntries) {
      const oldest = this.#expiries.keys().next().value as string;
      this.#expiries.delete(oldest);
    }
  }

  #key(login: string, password: string, verifier: string): string {
    // Lengths first, so no two different triples can produce the same input.
    return createHmac('sha256', this.#pepper)
      .update(`${login.length}:${login}${password.length}:${password}${verifier}`)
      .digest('base64url');
  }
}
