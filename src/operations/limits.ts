/**
 * Abuse limits (DESIGN §4, issue 7), all in memory per process:
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
import { ServerBusy } from '../errors.ts';
import { RateLimiter, type RateLimit } from '../lib/rate-limiter.ts';

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

export class Limits {
  readonly requestsPerAddress: RateLimiter;
  readonly failedSignIns: RateLimiter;
  readonly resetsPerLogin: RateLimiter;
  readonly phoneFailures: RateLimiter;
  readonly autoResets: RateLimiter;

  constructor(settings: LimitSettings = DEFAULT_LIMITS, now: () => number = Date.now) {
    this.requestsPerAddress = new RateLimiter(settings.requestsPerAddress, now);
    this.failedSignIns = new RateLimiter(settings.failedSignInsPerLoginAndAddress, now);
    this.resetsPerLogin = new RateLimiter(settings.resetsPerLogin, now);
    this.phoneFailures = new RateLimiter(settings.phoneFailuresPerSource, now);
    this.autoResets = new RateLimiter(settings.autoResetsPerMailbox, now);
  }
}

/** Throws ServerBusy (503 + Retry-After) when the decision refuses. */
export function enforce(decision: ReturnType<RateLimiter['hit']>, message: string): void {
  if (!decision.allowed) throw new ServerBusy(decision.retryAfterSeconds, message);
}
