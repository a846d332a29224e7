import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter, digestKey } from './rate-limiter.ts';

describe('RateLimiter', () => {
  it('allows `limit` hits per window per key, then refuses with the seconds left', () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 2, windowMs: 10_000 }, () => now);
    assert.deepEqual([limiter.hit('a'), limiter.hit('a')], [{ allowed: true }, { allowed: true }]);
    now = 2_500;
    assert.deepEqual(limiter.hit('a'), { allowed: false, retryAfterSeconds: 8 });
    assert.deepEqual(limiter.hit('b'), { allowed: true }, 'keys are independent');
    now = 10_000;
    assert.deepEqual(limiter.hit('a'), { allowed: true }, 'a new window');
  });

  it('reserve takes a slot below the limit, refuses at it without counting, and a refund gives one slot back once', async () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 2, windowMs: 10_000 }, () => now);
    const first = limiter.reserve('a');
    const second = limiter.reserve('a');
    assert.deepEqual([first.allowed, second.allowed], [true, true]);
    now = 4_000;
    assert.deepEqual(limiter.reserve('a'), { allowed: false, retryAfterSeconds: 6 });
    assert.deepEqual(limiter.reserve('a'), { allowed: false, retryAfterSeconds: 6 }, 'a refusal counted nothing: the wait does not grow');
    assert.ok(first.allowed);
    await first.refund();
    await first.refund();
    assert.equal(limiter.reserve('a').allowed, true, 'one slot back');
    assert.equal(limiter.reserve('a').allowed, false, 'only one: a second refund of the same slot gives nothing');
  });

  it('a refund after its window ended gives nothing to the new window', async () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 1, windowMs: 1_000 }, () => now);
    const old = limiter.reserve('a');
    now = 1_000;
    assert.equal(limiter.reserve('a').allowed, true);
    assert.ok(old.allowed);
    await old.refund();
    assert.equal(limiter.reserve('a').allowed, false);
  });

  it('holds counters under a fixed-size digest of the key, whatever its length', () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1_000 });
    const long = 'x'.repeat(12_000);
    assert.equal(limiter.hit(long).allowed, true);
    assert.equal(limiter.hit(long).allowed, false);
    assert.equal(limiter.hit(`${long}y`).allowed, true, 'another key, another counter');
    assert.equal(digestKey(long).length, 22);
  });
});
