/**
 * Abuse-limit counters shared through Redis, so that instances behind one
 * load balancer count the same client, login or mailbox together.
 *
 * - Each decision is one Lua script (a hit: INCR, then PEXPIRE when the key
 *   has no expiry; a reservation: INCR only below the limit; a refund: DECR
 *   above zero): atomic, so two instances can never both take the last slot.
 * - The window's end comes from Redis (PTTL), never from this machine's
 *   clock, so instances with skewed clocks agree on Retry-After.
 * - Counter names are `<prefix><rule>:<HMAC of the key>`: logins, mailboxes
 *   and addresses never reach Redis in clear.
 * - Redis failing never fails a request: each limit falls back to its
 *   in-memory counters (per instance) until Redis answers again, and the
 *   outage is reported once. docs/limits.md explains why fail-open.
 */
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as ioredis from 'ioredis';
import { RateLimiter, type RateCounter, type RateDecision, type RateLimit, type Reservation } from './rate-limiter.ts';

export const DEFAULT_KEY_PREFIX = 'umpin:limit:';
/** Redis on a LAN answers in about a millisecond; a second without an answer means it is not answering. */
export const DEFAULT_REDIS_TIMEOUT_MS = 1_000;
/** After a failed command, Redis is left alone this long: a hung Redis costs one timeout per interval, not one per request. */
export const DEFAULT_RETRY_AFTER_FAILURE_MS = 5_000;

/**
 * KEYS[1] the counter, ARGV[1] the window in ms; returns {count, ms left}.
 * `ttl < 0` also mends a counter that lost its expiry, which would
 * otherwise block its key for ever.
 */
const HIT_SCRIPT = `local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/**
 * KEYS[1] the counter, ARGV[1] the window in ms, ARGV[2] the limit; returns
 * {count, ms left, 1 when a slot was taken}. At the limit nothing is
 * counted: a refused reservation must not lengthen anyone's wait.
 */
const RESERVE_SCRIPT = `local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local taken = 0
if count < tonumber(ARGV[2]) then
  count = redis.call('INCR', KEYS[1])
  taken = 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl, taken}`;

/** Gives one reserved slot back; a counter whose window ended (gone) owes nothing. */
const REFUND_SCRIPT = `local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  count = redis.call('DECR', KEYS[1])
end
return {count, redis.call('PTTL', KEYS[1])}`;

/** The part of an ioredis client used here. */
export interface RedisScriptClient {
  readonly status: string;
  connect(): Promise<unknown>;
  evalsha(sha1: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisCountersOptions {
  readonly client: RedisScriptClient;
  /** Keys counter names (HMAC-SHA256); instances that share counters must share it. */
  readonly keySecret: Uint8Array;
  readonly keyPrefix?: string;
  /** How long the first connection may take before the in-memory counters serve. */
  readonly timeoutMs?: number;
  readonly retryAfterFailureMs?: number;
  /** Called once when Redis stops answering, with why. */
  readonly onUnavailable?: (error: Error) => void;
  /** Called once when it answers again. */
  readonly onRestored?: () => void;
  /** Monotonic milliseconds, for the back-off only; the windows are Redis's. */
  readonly now?: () => number;
}

type Counter = { readonly count: number; readonly msLeft: number; readonly taken: boolean };

/** The connection and its health, shared by every rule's limiter. */
export class RedisCounters {
  readonly #client: RedisScriptClient;
  readonly #keySecret: Buffer;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #retryAfterFailureMs: number;
  readonly #onUnavailable: (error: Error) => void;
  readonly #onRestored: () => void;
  readonly #now: () => number;
  #connecting: Promise<void> | undefined;
  #down = false;
  #leaveAloneUntil = 0;

  constructor(options: RedisCountersOptions) {
    if (options.keySecret.length < 16) throw new TypeError('the key secret for counter names needs at least 16 bytes');
    this.#client = options.client;
    this.#keySecret = Buffer.from(options.keySecret);
    this.#keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
    this.#retryAfterFailureMs = options.retryAfterFailureMs ?? DEFAULT_RETRY_AFTER_FAILURE_MS;
    this.#onUnavailable = options.onUnavailable ?? (() => {});
    this.#onRestored = options.onRestored ?? (() => {});
    this.#now = options.now ?? (() => performance.now());
  }

  /** The Redis key that counts `key` under `rule`. */
  keyFor(rule: string, key: string): string {
    const digest = createHmac('sha256', this.#keySecret).update(key, 'utf8').digest('hex').slice(0, 32);
    return `${this.#keyPrefix}${rule}:${digest}`;
  }

  /** Counts one hit; undefined when Redis cannot answer (the caller falls back). */
  hit(redisKey: string, windowMs: number): Promise<Counter | undefined> {
    return this.#run(HIT, redisKey, windowMs);
  }

  /** Takes a slot when the count is below `limit`; undefined when Redis cannot answer. */
  reserve(redisKey: string, windowMs: number, limit: number): Promise<Counter | undefined> {
    return this.#run(RESERVE, redisKey, windowMs, limit);
  }

  refund(redisKey: string): Promise<Counter | undefined> {
    return this.#run(REFUND, redisKey);
  }

  async #run(script: Script, redisKey: string, ...args: number[]): Promise<Counter | undefined> {
    if (this.#now() < this.#leaveAloneUntil) return undefined;
    // Connected on first use, so a CLI command that checks no limit never touches Redis. Every decision
    // that arrives while that first connection is made waits for it (one promise): were they to fall back,
    // a burst at start-up would be counted per instance instead of together.
    if (this.#client.status !== 'ready') await this.#connectOnce();
    if (this.#client.status !== 'ready') {
      // ioredis keeps reconnecting in the background; until then, no command is sent.
      this.#reportDown(new Error(`Redis is not connected (${this.#client.status})`));
      return undefined;
    }
    try {
      const counter = parseCounter(await this.#eval(script, redisKey, args));
      this.#reportUp();
      return counter;
    } catch (error) {
      this.#leaveAloneUntil = this.#now() + this.#retryAfterFailureMs;
      this.#reportDown(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
  }

  /** EVALSHA, loading the script with EVAL when Redis does not know it yet (a fresh or restarted server). */
  async #eval(script: Script, redisKey: string, args: readonly number[]): Promise<unknown> {
    try {
      return await this.#client.evalsha(script.sha1, 1, redisKey, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#client.eval(script.source, 1, redisKey, ...args);
    }
  }

  /** Waits for the first connection at most `timeoutMs`: ioredis's own connect() never settles against a server that accepts but does not answer. */
  #connectOnce(): Promise<void> {
    this.#connecting ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#timeoutMs);
      timer.unref();
      this.#client.connect().then(() => {}, () => {}).finally(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#connecting;
  }

  #reportDown(error: Error): void {
    if (this.#down) return;
    this.#down = true;
    this.#onUnavailable(error);
  }

  #reportUp(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#onRestored();
  }
}

interface Script {
  readonly source: string;
  readonly sha1: string;
}

const script = (source: string): Script => Object.freeze({ source, sha1: createHash('sha1').update(source).digest('hex') });
const HIT = script(HIT_SCRIPT);
const RESERVE = script(RESERVE_SCRIPT);
const REFUND = script(REFUND_SCRIPT);

function parseCounter(reply: unknown): Counter {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw new TypeError(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
  }
  return { count: reply[0], msLeft: reply[1], taken: reply[2] === 1 };
}

/** One rule's counters in Redis, with the rule's in-memory limiter standing in while Redis cannot answer. */
export class RedisRateLimiter implements RateCounter {
  readonly #counters: RedisCounters;
  readonly #rule: string;
  readonly #limit: RateLimit;
  readonly #fallback: RateLimiter;

  constructor(counters: RedisCounters, rule: string, limit: RateLimit, fallback: RateLimiter = new RateLimiter(limit)) {
    if (!/^[a-z][a-z0-9-]*$/.test(rule)) throw new TypeError(`a rule name is lower-case words joined by "-", got "${rule}"`);
    this.#counters = counters;
    this.#rule = rule;
    this.#limit = limit;
    this.#fallback = fallback;
  }

  async hit(key: string): Promise<RateDecision> {
    const counter = await this.#counters.hit(this.#counters.keyFor(this.#rule, key), this.#limit.windowMs);
    if (counter === undefined) return this.#fallback.hit(key);
    return counter.count <= this.#limit.limit ? { allowed: true } : this.#refusal(counter);
  }

  async reserve(key: string): Promise<Reservation> {
    const redisKey = this.#counters.keyFor(this.#rule, key);
    const counter = await this.#counters.reserve(redisKey, this.#limit.windowMs, this.#limit.limit);
    // The slot is given back where it was taken: Redis, or this instance's counters while Redis was away.
    if (counter === undefined) return this.#fallback.reserve(key);
    if (!counter.taken) return this.#refusal(counter);
    let refunded = false;
    return {
      allowed: true,
      refund: async () => {
        if (refunded) return;
        refunded = true;
        // A refund Redis cannot take is lost: the caller keeps one slot less until the window ends.
        await this.#counters.refund(redisKey);
      },
    };
  }

  #refusal(counter: Counter): { allowed: false; retryAfterSeconds: number } {
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(counter.msLeft / 1000)) };
  }
}

/**
 * An ioredis client that fails fast: while Redis is away, commands fail at
 * once instead of queueing (each request then uses the in-memory counters)
 * and ioredis reconnects in the background, at most every 2 s. Nothing is
 * loaded or connected before the first limit is checked: the CLI opens the
 * same services and checks none.
 */
export function openRedisClient(url: string, timeoutMs: number = DEFAULT_REDIS_TIMEOUT_MS): LazyRedisClient {
  return new LazyRedisClient(url, timeoutMs);
}

export class LazyRedisClient implements RedisScriptClient {
  readonly #url: string;
  readonly #timeoutMs: number;
  #client: ioredis.Redis | undefined;

  constructor(url: string, timeoutMs: number) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
  }

  get status(): string {
    return this.#client?.status ?? 'wait';
  }

  connect(): Promise<unknown> {
    return this.#open().connect();
  }

  evalsha(sha1: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown> {
    return this.#open().evalsha(sha1, numberOfKeys, ...args);
  }

  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown> {
    return this.#open().eval(script, numberOfKeys, ...args);
  }

  disconnect(): void {
    this.#client?.disconnect();
  }

  #open(): ioredis.Redis {
    if (this.#client) return this.#client;
    // ioredis takes a noticeable part of a CLI command's start-up; only a process that checks a limit pays it.
    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof ioredis;
    const client = new RedisClient(this.#url, {
      lazyConnect: true,
      connectTimeout: this.#timeoutMs,
      // A Redis that accepts connections but does not answer.
      commandTimeout: this.#timeoutMs,
      enableOfflineQueue: false,
      // A command cut off by a lost connection fails at once: its request has already fallen back, a resend would count twice.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // RedisCounters reports an outage once; without a listener ioredis would print every failed reconnect to stderr.
    client.on('error', () => {});
    this.#client = client;
    return client;
  }
}
