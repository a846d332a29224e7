/**
 * Unit-test harness for src/operations/: the real services (a real SQLite
 * store in a temporary data directory, the real KDF) with the
 * parts a test must steer replaced: a fixed clock, a mail transport that
 * takes, refuses or stalls on demand, and a count of every KDF call.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServices } from '../../src/open-services.ts';
import { loadConfig } from '../../src/config.ts';
import { MailHandOffFailed, toUmpinError } from '../../src/errors.ts';
import type { HandOffReceipt, MailMessage, MailTransport } from '../../src/mail/transport.ts';
import { NO_METRICS, type KdfPurpose } from '../../src/observability/metrics.ts';
import type { Logger, Services } from '../../src/operations/services.ts';

export const QUIET: Logger = Object.freeze({ info: () => {}, warn: () => {}, error: () => {} });

/** What the relay does with the next mails: take them, refuse for now (421), refuse for good (550), or never answer. */
export type RelayMode = 'take' | 'defer' | 'refuse' | 'stall';

/** A transport whose behaviour the test switches; it keeps every mail it took, PIN and all. */
export class SteerableTransport implements MailTransport {
  mode: RelayMode = 'take';
  readonly taken: MailMessage[] = [];
  attempts = 0;

  async handOff(message: MailMessage, signal: AbortSignal): Promise<HandOffReceipt> {
    this.attempts += 1;
    switch (this.mode) {
      case 'defer':
        throw new MailHandOffFailed({ permanent: false, responseCode: 421, reply: '421 4.3.2 try again later' });
      case 'refuse':
        throw new MailHandOffFailed({ permanent: true, responseCode: 550, reply: '550 5.1.1 no such user' });
      case 'stall':
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
      default:
        this.taken.push(message);
        return { messageId: `<${this.taken.length}@test>`, reply: '250 2.0.0 queued' };
    }
  }

  async close(): Promise<void> {}

  /** The PIN of the last mail taken, read from its own indented line as a user would. */
  lastPin(): string {
    const text = this.taken.at(-1)?.text ?? '';
    const pin = /^ {4}(\d+)$/m.exec(text)?.[1];
    if (pin === undefined) throw new Error('no PIN mail was taken');
    return pin;
  }
}

export interface OperationsHarness {
  readonly services: Services;
  readonly transport: SteerableTransport;
  /** KDF calls made so far, by purpose (decoys count as password-verify). */
  readonly kdfCalls: Record<KdfPurpose, number>;
  /** Every KDF call so far. */
  kdfTotal(): number;
  /** Moves the fixed clock the operations read. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export const FIXED_NOW = new Date('2026-12-01T09:00:00.000Z');

/** Services over a fresh SQLite data directory; `env` adds settings (UMPIN_LIMIT_* and the like). */
export async function openOperationsHarness(env: Record<string, string> = {}, overrides: Partial<Services> = {}): Promise<OperationsHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'umpin-ops-'));
  const kdfCalls: Record<KdfPurpose, number> = { 'password-hash': 0, 'password-verify': 0, pin: 0 };
  const config = loadConfig({ UMPIN_DATA_DIR: dir, UMPIN_KDF_CONCURRENCY: '2', ...env });
  const opened = await openServices(config, QUIET, {
    metrics: () => ({ ...NO_METRICS, observeKdf: (purpose) => { kdfCalls[purpose] += 1; } }),
  });
  const transport = new SteerableTransport();
  let now = FIXED_NOW.getTime();
  const services: Services = Object.freeze({ ...opened.services, transport, now: () => new Date(now), ...overrides });
  return {
    services,
    transport,
    kdfCalls,
    kdfTotal: () => kdfCalls['password-hash'] + kdfCalls['password-verify'] + kdfCalls.pin,
    advance: (ms) => { now += ms; },
    async close() {
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What a caller sees of a refusal: the error's code, with the message for a busy answer (which limit said no). */
export function describeFailure(error: unknown): string {
  const failure = toUmpinError(error);
  return failure.code === 'ERR_SERVER_BUSY' ? `busy: ${failure.message}` : failure.code;
}

/** How many times each outcome came back from a batch of concurrent calls. */
export function tally(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}
