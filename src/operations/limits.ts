/**
 * Abuse limits (DESIGN §4, issue 7), in memory per process, or shared
 * between instances through Redis when UMPIN_REDIS_URL is set
 * (docs/limits.md):
 * - per client address, before any password work, so a flood cannot burn
 *   the CPU on the KDF;
 * - per login and address for failed sign-ins, so guessing from one place
 *   is slowed while the real user elsewhere still signs in;
 * - per login for resets, so a mailbox cannot be flooded with PIN mails;
 * - per mailbox and calling source for wrong phone PINs: attempts beyond it
 *   are refused *without counting*, so one source cannot drive a mailbox
 *   into lockout (ASVS 5.0 6.1.1);
 * - per mailbox for automatic resets, which bounds the mails a stranger
 *   dialling wrong PINs can cause.
 */
import { hkdfSync } from 'node:crypto';
import { ServerBusy } from '../errors.ts';
import { RateLimiter, type RateCounter, type RateDecision, type RateLimit } from '../lib/rate-limiter.ts';
import { redactUrl } from '../lib/redact-url.ts';
import { RedisCounters, RedisRateLimiter, openRedisClient } from '../lib/redis-rate-limiter.ts';
import type { Logger } from './services.ts';

export interface LimitSettings {
  readonly requestsPerAddress: RateLimit;
  readonly failedSignInsPerLoginAndAddress: RateLimit;
  readonly resetsPerLogin: RateLimit;
  readonly phoneFailuresPerSource: RateLimit;
  readonly autoResetsPerMailbox: RateLimit;
}

const MINUTE = 60_000;

export const DEFAULT_LIMITS: LimitSettings = Object.freeze({
  requestsPerAddress: { limit: 120, windowMs: MINUTE },
  failedSignInsPerLoginAndAddress: { limit: 10, windowMs: 15 * MINUTE },
  resetsPerLogin: { limit: 20, windowMs: 60 * MINUTE },
  phoneFailuresPerSource: { limit: 5, windowMs: 15 * MINUTE },
  autoResetsPerMailbox: { limit: 3, windowMs: 60 * MINUTE },
});

/** The settings from the configuration's counts. */
export function limitSettings(counts: {
  requestsPerAddressPerMinute: number; failedSignInsPer15Minutes: number; resetsPerLoginPerHour: number;
  phoneFailuresPerSourcePer15Minutes: number; autoResetsPerMailboxPerHour: number;
}): LimitSettings {
  return {
    requestsPerAddress: { limit: counts.requestsPerAddressPerMinute, windowMs: MINUTE },
    failedSignInsPerLoginAndAddress: { limit: counts.failedSignInsPer15Minutes, windowMs: 15 * MINUTE },
    resetsPerLogin: { limit: counts.resetsPerLoginPerHour, windowMs: 60 * MINUTE },
    phoneFailuresPerSource: { limit: counts.phoneFailuresPerSourcePer15Minutes, windowMs: 15 * MINUTE },
    autoResetsPerMailbox: { limit: counts.autoResetsPerMailboxPerHour, windowMs: 60 * MINUTE },
  };
}

/** Where the counters live: this process only, or Redis shared with other instances. */
export interface SharedCounters {
  readonly counters: RedisCounters;
  close(): Promise<void>;
}

export class Limits {
  readonly requestsPerAddress: RateCounter;
  readonly failedSignIns: RateCounter;
  readonly resetsPerLogin: RateCounter;
  readonly phoneFailures: RateCounter;
  readonly autoResets: RateCounter;
  readonly #shared: SharedCounters | undefined;

  /** With `shared`, each limit counts in Redis and falls back to its in-memory counters while Redis cannot answer. */
  constructor(settings: LimitSettings = DEFAULT_LIMITS, now: () => number = Date.now, shared?: SharedCounters) {
    this.#shared = shared;
    // The rule names are part of the Redis keys: renaming one starts its counters afresh.
    const counter = (rule: string, limit: RateLimit): RateCounter => {
      const memory = new RateLimiter(limit, now);
      return shared ? new RedisRateLimiter(shared.counters, rule, limit, memory) : memory;
    };
    this.requestsPerAddress = counter('requests-per-address', settings.requestsPerAddress);
    this.failedSignIns = counter('failed-sign-ins', settings.failedSignInsPerLoginAndAddress);
    this.resetsPerLogin = counter('resets-per-login', settings.resetsPerLogin);
    this.phoneFailures = counter('phone-failures', settings.phoneFailuresPerSource);
    this.autoResets = counter('auto-resets', settings.autoResetsPerMailbox);
  }

  /** Closes the Redis connection, if any. */
  async close(): Promise<void> {
    await this.#shared?.close();
  }
}

/**
 * The limits of the configuration: in memory, or in Redis when `redisUrl`
 * is set. Counter names are keyed with a key derived from the server secret
 * (`pepper`), which instances sharing a database already share.
 */
export function openLimits(
  counts: Parameters<typeof limitSettings>[0],
  options: { readonly redisUrl: string | undefined; readonly pepper: Uint8Array; readonly log: Logger },
): Limits {
  const settings = limitSettings(counts);
  if (options.redisUrl === undefined) return new Limits(settings);
  const client = openRedisClient(options.redisUrl);
  const redis = redactUrl(options.redisUrl);
  const counters = new RedisCounters({
    client,
    keySecret: limitKeySecret(options.pepper),
    onUnavailable: (error) => options.log.warn({ redis, err: error.message },
      'Redis is not answering: each instance enforces the abuse limits on its own counters until it does; check that Redis is running and reachable'),
    onRestored: () => options.log.info({ redis }, 'Redis answers again: the abuse limits are shared between instances again'),
  });
  return new Limits(settings, Date.now, { counters, close: async () => client.disconnect() });
}

/** The HMAC key for Redis counter names, derived from the pepper so that no new secret has to be shared. */
export function limitKeySecret(pepper: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', pepper, Buffer.alloc(0), 'umpin/rate-limit-keys', 32));
}

/** Throws ServerBusy (503 + Retry-After) when the decision refuses. */
export function enforce(decision: RateDecision, message: string): void {
  if (!decision.allowed) throw new ServerBusy(decision.retryAfterSeconds, message);
}
