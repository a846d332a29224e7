/**
 * Fixed-window counters per key. `RateCounter` is what the operations use;
 * `RateLimiter` keeps the counters in memory (one process), and
 * redis-rate-limiter.ts shares them between instances. A hit beyond the
 * limit is refused with the seconds until the window ends.
 */
export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * One rule's counters, wherever they live. The in-memory limiter answers
 * synchronously (it is on every request's path and does no I/O), the Redis
 * one asynchronously; callers `await` either form.
 */
export interface RateCounter {
  /** Counts one hit for `key` and says whether it is within the limit. */
  hit(key: string): RateDecision | Promise<RateDecision>;
  /** Whether `key` is over its limit now, without counting a hit. */
  isBlocked(key: string): RateDecision | Promise<RateDecision>;
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

  /** Counts one hit for `key` and says whether it is within the limit. */
  hit(key: string): RateDecision {
    const now = this.#now();
    this.#sweep(now);
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.#rule.windowMs) {
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    if (window.count <= this.#rule.limit) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.#rule.windowMs - now) / 1000)) };
  }

  /** Whether `key` is over its limit now, without counting a hit. */
  isBlocked(key: string): RateDecision {
    const now = this.#now();
    const window = this.#windows.get(key);
    if (!window || now - window.start >= this.#rule.windowMs || window.count < this.#rule.limit) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.#rule.windowMs - now) / 1000)) };
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#rule.windowMs) return;
    this.#lastSweep = now;
    for (const [key, window] of this.#windows) if (now - window.start >= this.#rule.windowMs) this.#windows.delete(key);
  }
}
