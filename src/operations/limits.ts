/**
 * Abuse limits (DESIGN §4, issue 7), in memory per process, or shared
 * between instances through Redis when UMPIN_REDIS_URL is set
 * (docs/limits.md):
 * - per client address, before any password work, so a flood cannot burn
 *   the CPU on the KDF;
 * - per login and address for failed sign-ins, so guessing from one place
 *   is slowed while the real user elsewhere still signs in;
 * - per login for resets, so a mailbox cannot be flooded with PIN mails;
 * - per mailbox and PBX address for wrong phone PINs, never per calling
 *   number (the request supplies it): attempts beyond it are refused
 *   *without counting*, which slows a lockout (ASVS 5.0 6.1.1; what it does
 *   not prevent is in docs/limits.md);
 * - per mailbox for automatic resets, which bounds the mails a stranger
 *   dialling wrong PINs can cause.
 *
 * Every limit decides and counts in one step (`hit`, or `reserve` before
 * the work with a refund after it): the KDF is reached by at most the
 * limit's count, however many requests arrive at once. Addresses are
 * counted as `limitedAddress` gives them (an IPv6 /64, IPv4-mapped as IPv4).
 */
import { hkdfSync } from 'node:crypto';
import { ServerBusy } from '../errors.ts';
import { RateLimiter, type RateCounter, type RateDecision, type RateLimit, type Reservation } from '../lib/rate-limiter.ts';
import { DEFAULT_IPV6_PREFIX_LENGTH, limitedAddress } from '../lib/source-address.ts';
import { RedisCounters, RedisRateLimiter, openRedisClient } from '../lib/redis-rate-limiter.ts';
import { redactUrl } from '../lib/redact-url.ts';
import type { Logger } from './services.ts';

export interface LimitSettings {
  readonly requestsPerAddress: RateLimit;
  readonly failedSignInsPerLoginAndAddress: RateLimit;
  readonly resetsPerLogin: RateLimit;
  readonly phoneFailuresPerSource: RateLimit;
  readonly autoResetsPerMailbox: RateLimit;
  /** IPv6 sources count per network of this many bits. */
  readonly ipv6PrefixLength: number;
}

const MINUTE = 60_000;

export const DEFAULT_LIMITS: LimitSettings = Object.freeze({
  requestsPerAddress: { limit: 120, windowMs: MINUTE },
  failedSignInsPerLoginAndAddress: { limit: 10, windowMs: 15 * MINUTE },
  resetsPerLogin: { limit: 20, windowMs: 60 * MINUTE },
  phoneFailuresPerSource: { limit: 5, windowMs: 15 * MINUTE },
  autoResetsPerMailbox: { limit: 3, windowMs: 60 * MINUTE },
  ipv6PrefixLength: DEFAULT_IPV6_PREFIX_LENGTH,
});

/** The settings from the configuration's counts. */
export function limitSettings(counts: {
  requestsPerAddressPerMinute: number; failedSignInsPer15Minutes: number; resetsPerLoginPerHour: number;
  phoneFailuresPerSourcePer15Minutes: number; autoResetsPerMailboxPerHour: number; ipv6PrefixLength?: number;
}): LimitSettings {
  return {
    requestsPerAddress: { limit: counts.requestsPerAddressPerMinute, windowMs: MINUTE },
    failedSignInsPerLoginAndAddress: { limit: counts.failedSignInsPer15Minutes, windowMs: 15 * MINUTE },
    resetsPerLogin: { limit: counts.resetsPerLoginPerHour, windowMs: 60 * MINUTE },
    phoneFailuresPerSource: { limit: counts.phoneFailuresPerSourcePer15Minutes, windowMs: 15 * MINUTE },
    autoResetsPerMailbox: { limit: counts.autoResetsPerMailboxPerHour, windowMs: 60 * MINUTE },
    ipv6PrefixLength: counts.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX_LENGTH,
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
  readonly #ipv6PrefixLength: number;

  /** With `shared`, each limit counts in Redis and falls back to its in-memory counters while Redis cannot answer. */
  constructor(settings: LimitSettings = DEFAULT_LIMITS, now: () => number = Date.now, shared?: SharedCounters) {
    this.#shared = shared;
    this.#ipv6PrefixLength = settings.ipv6PrefixLength;
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

  /** What the limits count of a client address: an IPv6 network, an IPv4-mapped address as IPv4. */
  address(source: string): string {
    return limitedAddress(source, this.#ipv6PrefixLength);
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
export function enforce<D extends RateDecision | Reservation>(decision: D, message: string): asserts decision is Extract<D, { allowed: true }> {
  if (!decision.allowed) throw new ServerBusy(decision.retryAfterSeconds, message);
}
