/** Raised when the wait queue is full; callers turn it into their own "busy" answer. */
export class SemaphoreQueueFull extends Error {}

/**
 * Bounds concurrent work and the queue in front of it: beyond `maxQueued`
 * waiters, `run` fails at once instead of queueing without end.
 */
export class Semaphore {
  readonly #limit: number;
  readonly #maxQueued: number;
  #active = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(limit: number, maxQueued: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`semaphore limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
    this.#maxQueued = maxQueued;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiters.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active += 1;
      return Promise.resolve();
    }
    if (this.#waiters.length >= this.#maxQueued) return Promise.reject(new SemaphoreQueueFull());
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.#active -= 1;
  }
}
