/**
 * The Metrics of metrics.ts in Prometheus's text format (prom-client). One
 * Registry per instance, never prom-client's global one: two services in one
 * process (the tests) keep their counts apart. Label values come from fixed
 * sets; anything else is counted as `other`, so a client cannot grow the
 * series without bound (a TUI path, say, is chosen by the caller).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HandOffOutcome, KdfPurpose, MailDelivery, Metrics, MetricsScrape, PinCheckResult } from './metrics.ts';

/** Operations the HTTP edge names in `request.outcome`; any other name is `other`. */
const OPERATIONS: ReadonlySet<string> = new Set([
  'ResetPIN', 'IsUMEnabled', 'GetUMProperties', 'SetOofStatus', 'SetMissedCallNotificationEnabled', 'SetPlayOnPhoneDialString',
  'SetTelephoneAccessFolderEmail', 'PlayOnPhone', 'PlayOnPhoneGreeting', 'GetCallInfo', 'Disconnect', 'autodiscover',
  'wsdl', 'page', 'tui/logon', 'tui/change-pin', 'tui/check-new-pin', 'tui/set-pin',
]);
/** Results and reasons are our own constants (`success`, `wrong-pin`, `ERR_…`); this bounds them anyway. */
const LABEL_VALUE = /^[A-Za-z0-9_.-]{1,64}$/;

const PIN_CHECK_RESULTS: readonly PinCheckResult[] = ['ok', 'wrong-pin', 'locked-out', 'throttled'];
const DELIVERIES: readonly MailDelivery[] = ['inline', 'outbox'];
const HAND_OFF_OUTCOMES: readonly HandOffOutcome[] = ['sent', 'deferred', 'refused'];
const OUTBOX_STATUSES = ['Sent', 'Retry', 'Failed'] as const;
const KDF_PURPOSES: readonly KdfPurpose[] = ['password-hash', 'password-verify', 'pin'];

/** argon2id at the default cost takes tens of milliseconds per hash; a loaded machine a few hundred. */
export const KDF_BUCKETS_SECONDS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

export interface PrometheusMetricsOptions {
  /** PIN mails waiting in the outbox, read at each scrape; a failure shows as NaN (unknown), not as 0. */
  readonly outboxDepth?: () => Promise<number>;
  /** prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC); on unless false. */
  readonly processMetrics?: boolean;
}

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'operation' | 'outcome'>;
  readonly #pinChanges: Counter<'reason' | 'outcome'>;
  readonly #pinChecks: Counter<'result'>;
  readonly #lockouts: Counter;
  readonly #handOffs: Counter<'delivery' | 'outcome'>;
  readonly #outbox: Counter<'status'>;
  readonly #kdf: Histogram<'purpose'>;

  constructor(options: PrometheusMetricsOptions = {}) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'umpin_http_requests_total',
      help: 'Requests answered, by operation (the SOAP operations, autodiscover, wsdl, page, tui/logon, tui/change-pin, tui/check-new-pin, tui/set-pin) and outcome (success, a TUI result, or the error code).',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.#pinChanges = new Counter({
      name: 'umpin_pin_changes_total',
      help: 'PIN changes that ended, by reason (reset, admin-reset, auto-reset, welcome, change) and outcome (activated, queued, or the error code).',
      labelNames: ['reason', 'outcome'],
      registers,
    });
    this.#pinChecks = new Counter({
      name: 'umpin_pin_checks_total',
      help: 'Phone PIN checks (logon and change-pin), by result (ok, wrong-pin, locked-out, throttled).',
      labelNames: ['result'],
      registers,
    });
    this.#lockouts = new Counter({
      name: 'umpin_lockouts_total',
      help: 'Mailboxes locked because failed phone logons reached MaxLogonAttempts.',
      registers,
    });
    this.#handOffs = new Counter({
      name: 'umpin_mail_handoffs_total',
      help: 'PIN mail hand-off attempts, by delivery (inline, outbox) and outcome (sent, deferred: retry may help, refused: permanent).',
      labelNames: ['delivery', 'outcome'],
      registers,
    });
    this.#outbox = new Counter({
      name: 'umpin_outbox_deliveries_total',
      help: 'Rows of outbox worker runs, by status (Sent, Retry, Failed: given up, the old PIN stays).',
      labelNames: ['status'],
      registers,
    });
    this.#kdf = new Histogram({
      name: 'umpin_kdf_seconds',
      help: 'Time of one argon2id call, not counting the wait for a free KDF slot, by purpose (password-hash, password-verify, pin).',
      labelNames: ['purpose'],
      buckets: [...KDF_BUCKETS_SECONDS],
      registers,
    });
    const { outboxDepth } = options;
    if (outboxDepth) {
      new Gauge({
        name: 'umpin_outbox_depth',
        help: 'PIN mails queued in the outbox (waiting for a retry or being delivered), read from the database at scrape time.',
        registers,
        async collect() {
          try {
            this.set(await outboxDepth());
          } catch {
            this.set(Number.NaN); // the database did not answer: /readyz says why
          }
        },
      });
    }
    // Zeros for every known series, so rate() and alerts see a counter from the first scrape on.
    for (const result of PIN_CHECK_RESULTS) this.#pinChecks.inc({ result }, 0);
    for (const delivery of DELIVERIES) for (const outcome of HAND_OFF_OUTCOMES) this.#handOffs.inc({ delivery, outcome }, 0);
    for (const status of OUTBOX_STATUSES) this.#outbox.inc({ status }, 0);
    for (const purpose of KDF_PURPOSES) this.#kdf.zero({ purpose });
    this.#lockouts.inc(0);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  countRequest(outcome: { readonly operation: string; readonly result: string } | undefined): void {
    if (outcome === undefined) return;
    this.#requests.inc({ operation: OPERATIONS.has(outcome.operation) ? outcome.operation : 'other', outcome: labelValue(outcome.result) });
  }

  countPinChange(reason: string, outcome: string): void {
    this.#pinChanges.inc({ reason: labelValue(reason), outcome: labelValue(outcome) });
  }

  countPinCheck(result: PinCheckResult): void {
    this.#pinChecks.inc({ result });
  }

  countLockout(): void {
    this.#lockouts.inc();
  }

  countMailHandOff(delivery: MailDelivery, outcome: HandOffOutcome): void {
    this.#handOffs.inc({ delivery, outcome });
  }

  countOutboxDelivery(status: 'Sent' | 'Retry' | 'Failed'): void {
    this.#outbox.inc({ status });
  }

  observeKdf(purpose: KdfPurpose, seconds: number): void {
    this.#kdf.observe({ purpose }, seconds);
  }

  async scrape(): Promise<MetricsScrape> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

function labelValue(value: string): string {
  return LABEL_VALUE.test(value) ? value : 'other';
}
