/**
 * argon2id, the service's real cost (DESIGN §3, §6): password verifiers as
 * PHC strings with their own salt, PIN verifiers as raw hashes under the
 * mailbox's salt so a candidate is checked against the whole PIN history
 * with one KDF call. The pepper (`secret`) never leaves the process.
 *
 * The Kdf knows every pepper of the server keyring by key id
 * (docs/secret-rotation.md): it hashes with the current key, and verifies
 * with the key a verifier names, so verifiers made before a rotation still
 * verify.
 *
 * Concurrency is bounded to the cores: more threads than cores only slow
 * every hash down (DESIGN §6, measured 20–35 %).
 */
import { hash, hashRaw, verify, type Options } from '@node-rs/argon2';
import { timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ServerBusy } from '../errors.ts';
import type { KdfPurpose } from '../observability/metrics.ts';
import { Semaphore, SemaphoreQueueFull } from '../lib/semaphore.ts';

/** @node-rs/argon2's `Algorithm` is a const enum that does not exist at run time. */
const ARGON2ID = 2;

export const DEFAULT_KDF_COST = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });

export interface KdfOptions {
  /** The current key's pepper: every new verifier is made with it. */
  readonly pepper: Buffer;
  /** The current key's id; verifiers that name no key are taken to be under it. */
  readonly keyId?: string;
  /** The keyring's previous peppers, by key id: verified with, never hashed with. */
  readonly previous?: ReadonlyArray<{ readonly keyId: string; readonly pepper: Buffer }>;
  readonly concurrency?: number;
  /** Waiters beyond this get ServerBusy at once. */
  readonly maxQueued?: number;
  readonly cost?: { memoryCost: number; timeCost: number; parallelism: number };
  /** Told how long each call took once it had a slot (the metrics' KDF histogram). */
  readonly observe?: (purpose: KdfPurpose, seconds: number) => void;
}

/** Stands for the current key when a Kdf is built without key ids (tests, tools). */
const CURRENT = 'current';

export class Kdf {
  readonly currentKeyId: string;
  readonly #options: Options;
  /** The argon2 options of every key in the ring, the current one included. */
  readonly #byKeyId: ReadonlyMap<string, Options>;
  readonly #gate: Semaphore;
  readonly #observe: ((purpose: KdfPurpose, seconds: number) => void) | undefined;
  /** Verified against when the user is unknown, so both paths cost one KDF call. */
  #decoy: Promise<string> | undefined;

  constructor(options: KdfOptions) {
    const cost = options.cost ?? DEFAULT_KDF_COST;
    this.#options = Object.freeze({ ...cost, algorithm: ARGON2ID, secret: options.pepper });
    this.currentKeyId = options.keyId ?? CURRENT;
    const byKeyId = new Map<string, Options>([[this.currentKeyId, this.#options]]);
    for (const key of options.previous ?? []) {
      if (!byKeyId.has(key.keyId)) byKeyId.set(key.keyId, Object.freeze({ ...cost, algorithm: ARGON2ID, secret: key.pepper }));
    }
    this.#byKeyId = byKeyId;
    const concurrency = options.concurrency ?? availableParallelism();
    this.#gate = new Semaphore(concurrency, options.maxQueued ?? concurrency * 64);
    this.#observe = options.observe;
  }

  hashPassword(password: string): Promise<string> {
    return this.#limit('password-hash', () => hash(password, this.#options));
  }

  /** True when the ring holds the key: a verifier under a key the ring lacks can never verify. */
  hasKey(keyId: string): boolean {
    return this.#byKeyId.has(keyId);
  }

  /**
   * `keyId`: the key the verifier was made under (the current one when absent). A key the ring
   * does not hold costs the same work as a wrong password and is false.
   */
  async verifyPassword(verifier: string, password: string, keyId?: string): Promise<boolean> {
    const options = this.#byKeyId.get(keyId ?? this.currentKeyId);
    if (options === undefined) return this.verifyDecoy(password);
    return this.#limit('password-verify', () => verify(verifier, password, options));
  }

  /**
   * Spends one verification's worth of work for a login that does not exist. The decoy verifier is made
   * once, outside the gate: made through it, a full queue at the first unknown login would leave a
   * rejected promise here for the life of the process, and every unknown login would then answer 503
   * where a known one answers 401 (issue 12). A failure to make it is not kept either.
   */
  async verifyDecoy(password: string): Promise<false> {
    this.#decoy ??= hash('umpin decoy password', this.#options).catch((error: unknown) => {
      this.#decoy = undefined;
      throw error;
    });
    await this.verifyPassword(await this.#decoy, password);
    return false;
  }

  /**
   * `keyId`: compute it as a verifier under that key would have been made, to compare with one
   * (the current key when absent; new verifiers are always made so). Throws TypeError for a key
   * the ring does not hold: callers skip such verifiers (hasKey).
   */
  pinVerifier(pin: string, salt: Buffer, keyId?: string): Promise<Buffer> {
    const options = this.#byKeyId.get(keyId ?? this.currentKeyId);
    if (options === undefined) throw new TypeError(`the keyring holds no key ${keyId ?? ''}`);
    return this.#limit('pin', () => hashRaw(pin, { ...options, salt }));
  }

  async #limit<T>(purpose: KdfPurpose, task: () => Promise<T>): Promise<T> {
    try {
      return await this.#gate.run(() => this.#timed(purpose, task));
    } catch (error) {
      if (error instanceof SemaphoreQueueFull) throw new ServerBusy(2);
      throw error;
    }
  }

  async #timed<T>(purpose: KdfPurpose, task: () => Promise<T>): Promise<T> {
    const observe = this.#observe;
    if (observe === undefined) return task();
    const started = process.hrtime.bigint();
    try {
      return await task();
    } finally {
      observe(purpose, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }
}

/** A stored verifier and the server key it was made under (docs/secret-rotation.md); the store keeps them so. */
export interface KeyedVerifier {
  readonly verifier: Buffer;
  readonly keyId: string;
}

/**
 * Whether `pin` is among `remembered`, computing the candidate once per distinct key id among them
 * (usually one: the current key's, which is also `current`, the candidate already computed under the
 * current key). Verifiers under a key the ring no longer holds cannot be compared and are skipped.
 */
export async function isPinAmong(kdf: Kdf, pin: string, salt: Buffer, current: Buffer, remembered: readonly KeyedVerifier[]): Promise<boolean> {
  let found = false;
  for (const keyId of new Set(remembered.map((r) => r.keyId))) {
    if (!kdf.hasKey(keyId)) continue;
    const candidate = keyId === kdf.currentKeyId ? current : await kdf.pinVerifier(pin, salt, keyId);
    if (isAmongVerifiers(candidate, remembered.filter((r) => r.keyId === keyId).map((r) => r.verifier))) found = true;
  }
  return found;
}

/** Constant-time membership: every entry is compared, whatever matches. */
export function isAmongVerifiers(candidate: Buffer, verifiers: readonly Buffer[]): boolean {
  let found = false;
  for (const verifier of verifiers) {
    if (verifier.length === candidate.length && timingSafeEqual(verifier, candidate)) found = true;
  }
  return found;
}
