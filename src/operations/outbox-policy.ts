/**
 * The outbox's timing, shared by the change that queues a mail and the
 * worker that retries it: how long an attempt holds its row, and when a
 * failed mail is tried again.
 */
import type { Services } from './services.ts';

/** A sweeper may discard a pending change this long after the hand-off's own timeout. */
export const LEASE_MARGIN_MS = 60_000;

/** The longest wait between two attempts of one mail. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/** Until when an attempt that starts at `start` holds its row: the hand-off's timeout, plus the margin. */
export function handOffLeaseUntil(services: Services, start: Date): Date {
  return new Date(start.getTime() + services.mail.handOffTimeoutMs + LEASE_MARGIN_MS);
}

/** The wait before retry `attempt` (1-based) of an outbox mail: doubling from the configured base, at most an hour. */
export function retryDelayMs(services: Services, attempt: number): number {
  return Math.min(services.mail.retryBaseMs * 2 ** Math.max(0, attempt - 1), MAX_RETRY_DELAY_MS);
}
