/**
 * argon2id, the service's real cost (DESIGN §3, §6): password verifiers as
 * PHC strings with their own salt, PIN verifiers as raw hashes under the
 * mailbox's salt so a candidate is checked against the whole PIN history
 * with one KDF call. The pepper (`secret`) never leaves the process.
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
  readonly pepper: Buffer;
  readonly concurrency?: number;
  /** Waiters beyond this get ServerBusy at once. */
  readonly maxQueued?: number;
  readonly cost?: { memoryCost: number; timeCost: number; parallelism: number };
  /** Told how long each call took once it had a slot (the metrics' KDF histogram). */
  readonly observe?: (purpose: KdfPurpose, seconds: number) => void;
}

export class Kdf {
  readonly #options: Options;
  readonly #gate: Semaphore;
  readonly #observe: ((purpose: KdfPurpose, seconds: number) => void) | undefined;
  /** Verified against when the user is unknown, so both paths cost one KDF call. */
  #decoy: Promise<string> | undefined;

  constructor(options: KdfOptions) {
    const cost = options.cost ?? DEFAULT_KDF_COST;
    this.#options = Object.freeze({ ...cost, algorithm: ARGON2ID, secret: options.pepper });
    const concurrency = options.concurrency ?? availableParallelism();
    this.#gate = new Semaphore(concurrency, options.maxQueued ?? concurrency * 64);
    this.#observe = options.observe;
  }

  hashPassword(password: string): Promise<string> {
    return this.#limit('password-hash', () => hash(password, this.#options));
  }

  verifyPassword(verifier: string, password: string): Promise<boolean> {
    return this.#limit('password-verify', () => verify(verifier, password, this.#options));
  }

  /** Spends one verification's worth of work for a login that does not exist. */
  async verifyDecoy(password: string): Promise<false> {
    this.#decoy ??= this.hashPassword('umpin decoy password');
    await this.verifyPassword(await this.#decoy, password);
    return false;
  }

  pinVerifier(pin: string, salt: Buffer): Promise<Buffer> {
    return this.#limit('pin', () => hashRaw(pin, { ...this.#options, salt }));
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

/** Constant-time membership: every entry is compared, whatever matches. */
export function isAmongVerifiers(candidate: Buffer, verifiers: readonly Buffer[]): boolean {
  let found = false;
  for (const verifier of verifiers) {
    if (verifier.length === candidate.length && timingSafeEqual(verifier, candidate)) found = true;
  }
  return found;
}
