import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from './rate-limiter.ts';

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

  it('isBlocked looks without counting', () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 1, windowMs: 1_000 }, () => now);
    for (let i = 0; i < 5; i += 1) assert.deepEqual(limiter.isBlocked('a'), { allowed: true });
    limiter.hit('a');
    assert.deepEqual(limiter.isBlocked('a'), { allowed: false, retryAfterSeconds: 1 });
    now = 1_000;
    assert.deepEqual(limiter.isBlocked('a'), { allowed: true });
  });
});
