/**
 * Fixed-window counters per key. `RateCounter` is what the operations use;
 * `RateLimiter` keeps the counters in memory (one process), and
 * redis-rate-limiter.ts shares them between instances. Every decision is
 * one step with its bookkeeping (STYLE 16): nothing reads a count and
 * writes it later, so concurrent callers can never share the last slot.
 */
import { createHash } from 'node:crypto';

export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * A slot taken by `reserve`: `refund()` gives it back (at most once; a no-op
 * once its window has ended). Refused reservations took nothing.
 */
export type Reservation =
  | { readonly allowed: true; refund(): Promise<void> }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * One rule's counters, wherever they live. The in-memory limiter answers
 * synchronously (it is on every request's path and does no I/O), the Redis
 * one asynchronously; callers `await` either form.
 */
export interface RateCounter {
  /** Counts one hit for `key`, refused ones too, and says whether it is within the limit. */
  hit(key: string): RateDecision | Promise<RateDecision>;
  /**
   * Takes one slot for `key` before the work it pays for, if one is free;
   * a refusal counts nothing. The caller refunds the slot when the work
   * turned out not to be what the limit counts (a right password, a right PIN).
   */
  reserve(key: string): Reservation | Promise<Reservation>;
}

/** Counters are held under a digest of their key: an attacker-chosen key (a 12 KB login) costs a fixed few bytes. */
export function digestKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 22);
}

/** In memory; windows of idle keys are dropped as they expire, so memory follows the active keys. */
export class RateLimiter implements RateCounter {
  readonly #rule: RateLimit;
  readonly #now: () => number;
  readonly #windows = new Map<string, { start: number; count: number }>();
  #lastSweep = 0;

  constructor(rule: RateLimit, now: () => number = Date.now) {
    if (!Number.isInteger(rule.limit) || rule.limit < 1 || rule.windowMs < 1) throw new TypeError('a rate limit needs a positive limit and window');
    this.#rule = rule;
    this.#now = now;
  }

  hit(key: string): RateDecision {
    const now = this.#now();
    const window = this.#current(digestKey(key), now);
    window.count += 1;
    return window.count <= this.#rule.limit ? { allowed: true } : this.#refusal(window, now);
  }

  reserve(key: string): Reservation {
    const now = this.#now();
    const digest = digestKey(key);
    const window = this.#current(digest, now);
    if (window.count >= this.#rule.limit) return this.#refusal(window, now);
    window.count += 1;
    let refunded = false;
    return {
      allowed: true,
      refund: async () => {
        // Only into the window it was taken from: a new window owes nothing.
        if (refunded || this.#windows.get(digest) !== window || window.count === 0) return;
        refunded = true;
        window.count -= 1;
      },
    };
  }

  /** The key's window now, a fresh one when none is running. */
  #current(digest: string, now: number): { start: number; count: number } {
    this.#sweep(now);
    let window = this.#windows.get(digest);
    if (!window || now - window.start >= this.#rule.windowMs) {
      window = { start: now, count: 0 };
      this.#windows.set(digest, window);
    }
    return window;
  }

  #refusal(window: { start: number }, now: number): { allowed: false; retryAfterSeconds: number } {
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.#rule.windowMs - now) / 1000)) };
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#rule.windowMs) return;
    this.#lastSweep = now;
    for (const [key, window] of this.#windows) if (now - window.start >= this.#rule.windowMs) this.#windows.delete(key);
  }
}
