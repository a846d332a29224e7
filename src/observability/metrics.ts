/**
 * What the service counts (issue 6), as the operations and the HTTP edge
 * see it: one method per event, no metrics library. The Prometheus
 * implementation (prometheus-metrics.ts) is loaded by `umpin serve` only, so
 * the administrator's commands do not pay for prom-client; they get
 * NO_METRICS. Labels are never logins, PINs, addresses or URLs.
 */

/** The KDF call being timed: a password verifier made, a password checked (decoys too), a PIN verifier made. */
export type KdfPurpose = 'password-hash' | 'password-verify' | 'pin';

/** What one phone PIN check answered; an unknown mailbox answers, and counts, as wrong-pin. */
export type PinCheckResult = 'ok' | 'wrong-pin' | 'locked-out' | 'throttled';

/** How a PIN mail goes: one attempt while the caller waits, or through the outbox. */
export type MailDelivery = 'inline' | 'outbox';

/** One hand-off attempt: taken by the relay, refused for now (4xx, no connection, timeout), or refused for good (5xx). */
export type HandOffOutcome = 'sent' | 'deferred' | 'refused';

/** The body of a scrape in the Prometheus text format, and its content type. */
export interface MetricsScrape {
  readonly contentType: string;
  readonly text: string;
}

export interface Metrics {
  /** A request the service answered, by its `request.outcome`; requests without one (health, 404) are not counted. */
  countRequest(outcome: { readonly operation: string; readonly result: string } | undefined): void;
  /** A PIN change ended: `activated`, `queued` (its mail waits in the outbox), or the error code that stopped it. */
  countPinChange(reason: string, outcome: string): void;
  countPinCheck(result: PinCheckResult): void;
  /** A mailbox was locked by failed phone logons (not by an administrator). */
  countLockout(): void;
  countMailHandOff(delivery: MailDelivery, outcome: HandOffOutcome): void;
  /** One row of an outbox run: Sent, Retry or Failed (given up). */
  countOutboxDelivery(status: 'Sent' | 'Retry' | 'Failed'): void;
  observeKdf(purpose: KdfPurpose, seconds: number): void;
  /** Everything collected, or undefined when this process collects nothing. */
  scrape(): Promise<MetricsScrape | undefined>;
}

/** For processes nobody scrapes (the CLI) and tests that do not look. */
export const NO_METRICS: Metrics = Object.freeze({
  countRequest: () => {},
  countPinChange: () => {},
  countPinCheck: () => {},
  countLockout: () => {},
  countMailHandOff: () => {},
  countOutboxDelivery: () => {},
  observeKdf: () => {},
  scrape: async () => undefined,
});
