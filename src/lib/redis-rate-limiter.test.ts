/**
 * The Redis-shared limiter against a real Redis (127.0.0.1:6379), each run
 * under a key prefix of its own that is deleted afterwards; the outage tests
 * run their own redis-server, or a port where nothing (or something silent)
 * listens. The in-memory limiter runs the same contract.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, startSilentServer } from '../../test/support/net.ts';
import { RateLimiter, type RateCounter, type RateLimit } from './rate-limiter.ts';
import { RedisCounters, RedisRateLimiter, openRedisClient, type LazyRedisClient } from './redis-rate-limiter.ts';
import { findExecutable, peerSkip } from '../../test/support/peers.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `umpin:limit:test-${randomBytes(6).toString('hex')}:`;
const SECRET = randomBytes(32);

const clients: (Redis | LazyRedisClient)[] = [];
function client(url = REDIS_URL): LazyRedisClient {
  const opened = openRedisClient(url);
  clients.push(opened);
  return opened;
}

/** What a rule's limiter would see in one instance: its own connection, the shared prefix and secret. */
function redisLimiter(rule: string, limit: RateLimit, options: Partial<ConstructorParameters<typeof RedisCounters>[0]> = {}): RedisRateLimiter {
  const counters = new RedisCounters({ client: client(), keySecret: SECRET, keyPrefix: PREFIX, ...options });
  return new RedisRateLimiter(counters, rule, limit);
}

const skipRedis = await peerSkip('redis');
let admin: Redis;
before(() => {
  if (skipRedis === false) admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
});
after(async () => {
  for (const opened of clients) opened.disconnect();
  if (skipRedis !== false) return;
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
});

const implementations: { name: string; skip: string | false; make: (rule: string, limit: RateLimit) => RateCounter }[] = [
  { name: 'in memory', skip: false, make: (_rule, limit) => new RateLimiter(limit) },
  { name: 'Redis', skip: skipRedis, make: (rule, limit) => redisLimiter(rule, limit) },
];

for (const { name, skip, make } of implementations) {
  describe(`rate limiter contract: ${name}`, { skip }, () => {
    it('allows `limit` hits per key, then refuses with the seconds left in the window', async () => {
      const limiter = make('contract-limit', { limit: 2, windowMs: 60_000 });
      assert.deepEqual([await limiter.hit('a'), await limiter.hit('a')], [{ allowed: true }, { allowed: true }]);
      const refused = await limiter.hit('a');
      assert.equal(refused.allowed, false);
      assert.ok(!refused.allowed && refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60, JSON.stringify(refused));
      assert.deepEqual(await limiter.hit('b'), { allowed: true }, 'keys are independent');
    });

    it('reserve: of 30 at once, exactly `limit` take a slot; refusals count nothing; a refund gives one back', async () => {
      const limiter = make('contract-reserve', { limit: 5, windowMs: 60_000 });
      const slots = await Promise.all(Array.from({ length: 30 }, () => limiter.reserve('a')));
      assert.equal(slots.filter((s) => s.allowed).length, 5);
      const refused = slots.find((s) => !s.allowed);
      assert.ok(refused && !refused.allowed && refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60, JSON.stringify(refused));
      const taken = slots.find((s) => s.allowed);
      assert.ok(taken?.allowed);
      await Promise.all([taken.refund(), taken.refund()]);
      const again = await Promise.all(Array.from({ length: 4 }, () => limiter.reserve('a')));
      assert.deepEqual(again.map((s) => s.allowed), [true, false, false, false], 'one slot back, once');
      assert.equal((await limiter.reserve('b')).allowed, true, 'keys are independent');
    });

    it('hits and reservations share one count: 20 hits at once are all counted', async () => {
      const limiter = make('contract-hits', { limit: 3, windowMs: 60_000 });
      const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.hit('a')));
      assert.equal(decisions.filter((d) => d.allowed).length, 3);
      assert.equal((await limiter.reserve('a')).allowed, false);
    });

    it('starts a new window when the old one ends', async () => {
      const limiter = make('contract-window', { limit: 1, windowMs: 300 });
      assert.deepEqual(await limiter.hit('a'), { allowed: true });
      assert.equal((await limiter.hit('a')).allowed, false);
      await sleep(800);
      assert.deepEqual(await limiter.hit('a'), { allowed: true });
    });
  });
}

describe('RedisRateLimiter', { skip: skipRedis }, () => {
  it('counts hits from several instances together', async () => {
    const rule = { limit: 3, windowMs: 60_000 };
    const [first, second] = [redisLimiter('shared', rule), redisLimiter('shared', rule)];
    assert.deepEqual([await first.hit('10.0.0.1'), await second.hit('10.0.0.1'), await first.hit('10.0.0.1')], [{ allowed: true }, { allowed: true }, { allowed: true }]);
    assert.equal((await second.hit('10.0.0.1')).allowed, false);
    assert.equal((await first.reserve('10.0.0.1')).allowed, false);
    assert.equal((await admin.get(new RedisCounters({ client: admin, keySecret: SECRET, keyPrefix: PREFIX }).keyFor('shared', '10.0.0.1'))), '4');
  });

  it("takes the window's end from Redis, not from this machine's clock", async () => {
    const limiter = redisLimiter('redis-clock', { limit: 1, windowMs: 60_000 });
    const key = new RedisCounters({ client: admin, keySecret: SECRET, keyPrefix: PREFIX }).keyFor('redis-clock', 'carol');
    await limiter.hit('carol');
    await admin.pexpire(key, 2_500);
    assert.deepEqual(await limiter.hit('carol'), { allowed: false, retryAfterSeconds: 3 });
    assert.deepEqual(await limiter.reserve('carol'), { allowed: false, retryAfterSeconds: 3 });
  });

  it('two instances reserving at once take at most the limit between them', async () => {
    const rule = { limit: 4, windowMs: 60_000 };
    const [first, second] = [redisLimiter('shared-reserve', rule), redisLimiter('shared-reserve', rule)];
    const slots = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? first : second).reserve('carol\u0000192.0.2.7')));
    assert.equal(slots.filter((s) => s.allowed).length, 4);
    const key = new RedisCounters({ client: admin, keySecret: SECRET, keyPrefix: PREFIX }).keyFor('shared-reserve', 'carol\u0000192.0.2.7');
    assert.equal(await admin.get(key), '4', 'refusals are not counted');
  });

  it('names counters by an HMAC of the key: no login or address in clear, another secret gives other names', async () => {
    const limiter = redisLimiter('names', { limit: 5, windowMs: 60_000 });
    await limiter.hit('carol@example.com\u0000192.0.2.7');
    const keys = await admin.keys(`${PREFIX}names:*`);
    assert.equal(keys.length, 1);
    assert.match(keys[0] ?? '', new RegExp(`^${PREFIX}names:[0-9a-f]{32}$`));
    assert.doesNotMatch(keys[0] ?? '', /carol|192\.0/); // hex digits may spell 192, never the dot
    const mine = new RedisCounters({ client: admin, keySecret: SECRET, keyPrefix: PREFIX });
    const theirs = new RedisCounters({ client: admin, keySecret: randomBytes(32), keyPrefix: PREFIX });
    assert.equal(mine.keyFor('names', 'carol@example.com\u0000192.0.2.7'), keys[0]);
    assert.notEqual(theirs.keyFor('names', 'carol@example.com\u0000192.0.2.7'), keys[0]);
    assert.throws(() => new RedisCounters({ client: admin, keySecret: Buffer.alloc(8) }), TypeError);
    assert.throws(() => new RedisRateLimiter(mine, 'Bad Rule:*', { limit: 1, windowMs: 1 }), TypeError);
  });

  it('mends a counter that lost its expiry, so it cannot block its key for ever', async () => {
    const limiter = redisLimiter('mend', { limit: 1, windowMs: 60_000 });
    const key = new RedisCounters({ client: admin, keySecret: SECRET, keyPrefix: PREFIX }).keyFor('mend', 'carol');
    await admin.set(key, '7');
    assert.equal(await admin.pttl(key), -1);
    assert.equal((await limiter.reserve('carol')).allowed, false);
    const ttl = await admin.pttl(key);
    assert.ok(ttl > 0 && ttl <= 60_000, String(ttl));
  });
});

describe('RedisRateLimiter when Redis cannot answer: in-memory counters, reported once, bounded time', () => {
  it('nothing listens: every hit answers at once from the in-memory counters', async () => {
    const port = await freePort();
    const reports: string[] = [];
    const limiter = redisLimiter('refused', { limit: 2, windowMs: 60_000 }, {
      client: client(`redis://:not-logged@127.0.0.1:${port}`), onUnavailable: (error) => reports.push(error.message), onRestored: () => reports.push('restored'),
    });
    const started = performance.now();
    const decisions = [];
    for (let i = 0; i < 4; i += 1) decisions.push(await limiter.hit('carol'));
    assert.ok(performance.now() - started < 5_000, 'bounded by the connect timeout');
    assert.deepEqual(decisions.map((d) => d.allowed), [true, true, false, false], 'the limit still holds, per instance');
    assert.equal(reports.length, 1, reports.join('; '));
    assert.doesNotMatch(reports[0] ?? '', /not-logged/);
  });

  it('something accepts but never answers: the first hit waits at most the timeout, the next ones not at all', async () => {
    const silent = await startSilentServer();
    try {
      const reports: string[] = [];
      const limiter = redisLimiter('silent', { limit: 1, windowMs: 60_000 }, {
        client: client(`redis://127.0.0.1:${silent.port}`), timeoutMs: 500, onUnavailable: (error) => reports.push(error.message),
      });
      let started = performance.now();
      assert.deepEqual(await limiter.hit('carol'), { allowed: true });
      assert.ok(performance.now() - started < 5_000);
      started = performance.now();
      assert.equal((await limiter.hit('carol')).allowed, false);
      assert.equal((await limiter.reserve('carol')).allowed, false);
      assert.ok(performance.now() - started < 1_000, 'no second wait');
      assert.equal(reports.length, 1, reports.join('; '));
    } finally {
      await silent.close();
    }
  });

  it('Redis restarts: falls back while it is away, shares again (loading its script anew) when it is back', { timeout: 60_000, skip: skipRedis }, async () => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'umpin-redis-'));
    let server = await startRedisServer(port, dir);
    try {
      const reports: string[] = [];
      const limiter = redisLimiter('restart', { limit: 2, windowMs: 60_000 }, {
        client: client(`redis://127.0.0.1:${port}`), retryAfterFailureMs: 100,
        onUnavailable: () => reports.push('unavailable'), onRestored: () => reports.push('restored'),
      });
      const direct = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0 });
      clients.push(direct);
      const key = new RedisCounters({ client: direct, keySecret: SECRET, keyPrefix: PREFIX }).keyFor('restart', 'carol');
      assert.deepEqual(await limiter.hit('carol'), { allowed: true });
      assert.equal(await direct.get(key), '1');
      direct.disconnect();

      await stopRedisServer(server);
      assert.deepEqual(await limiter.hit('carol'), { allowed: true }, 'in memory: its first hit');
      assert.deepEqual(await limiter.hit('carol'), { allowed: true });
      assert.equal((await limiter.hit('carol')).allowed, false);
      assert.deepEqual(reports, ['unavailable']);

      server = await startRedisServer(port, dir);
      // ioredis reconnects within 2 s; a fresh server knows neither the counter nor the script.
      const deadline = performance.now() + 30_000;
      while (!reports.includes('restored') && performance.now() < deadline) {
        await limiter.hit('dave');
        await sleep(200);
      }
      assert.deepEqual(reports, ['unavailable', 'restored']);
      assert.deepEqual(await limiter.hit('carol'), { allowed: true }, 'counted in Redis again');
      await direct.connect();
      assert.equal(await direct.get(key), '1');
    } finally {
      await stopRedisServer(server);
      await rm(dir, { recursive: true, force: true });
    }
  });
});


async function startRedisServer(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(findExecutable('redis-server') ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        await probe.connect();
        await probe.ping();
        return child;
      } catch {
        probe.disconnect();
        await sleep(100);
      }
    }
    throw new Error(`redis-server did not start on port ${port}`);
  } finally {
    probe.disconnect();
  }
}

async function stopRedisServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
