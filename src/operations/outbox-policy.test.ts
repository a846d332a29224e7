import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEASE_MARGIN_MS, MAX_RETRY_DELAY_MS, handOffLeaseUntil, retryDelayMs } from './outbox-policy.ts';
import type { Services } from './services.ts';

const servicesWith = (mail: { handOffTimeoutMs: number; retryBaseMs: number }) => ({ mail }) as unknown as Services;

describe('outbox policy', () => {
  it('retries wait the base, then twice as long each time, never more than an hour', () => {
    const services = servicesWith({ handOffTimeoutMs: 30_000, retryBaseMs: 60_000 });
    assert.deepEqual([0, 1, 2, 3, 4].map((attempt) => retryDelayMs(services, attempt)), [60_000, 60_000, 120_000, 240_000, 480_000]);
    assert.equal(retryDelayMs(services, 7), MAX_RETRY_DELAY_MS);
    assert.equal(retryDelayMs(services, 60), 3_600_000);
  });

  it('an attempt holds its row for the hand-off timeout plus a minute', () => {
    const start = new Date('2026-12-02T12:00:00.000Z');
    assert.equal(LEASE_MARGIN_MS, 60_000);
    assert.deepEqual(handOffLeaseUntil(servicesWith({ handOffTimeoutMs: 30_000, retryBaseMs: 1 }), start), new Date('2026-12-02T12:01:30.000Z'));
  });
});
