/**
 * The abuse limits as the operations hold them (limits.ts, docs/limits.md):
 * the five rules with their own counts and windows, the addresses they count
 * (an IPv6 /64, an IPv4-mapped address as IPv4), decisions under concurrent
 * reservations, the refusal a caller gets, and the same rules shared by two
 * instances through a real Redis (skipped without one) or falling back to
 * memory when Redis is not there.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../config.ts';
import { ServerBusy } from '../errors.ts';
import { RedisCounters, RedisRateLimiter, openRedisClient, type LazyRedisClient } from '../lib/redis-rate-limiter.ts';
import type { RateCounter, Reservation } from '../lib/rate-limiter.ts';
import { freePort } from '../../test/support/net.ts';
import { peerSkip } from '../../test/support/peers.ts';
import { DEFAULT_LIMITS, Limits, enforce, limitKeySecret, limitSettings, type LimitSettings, type SharedCounters } from './limits.ts';

const MINUTE = 60_000;
const START = Date.parse('2026-12-01T09:00:00.000Z');

/** Limits of 1..5 so that a count tells the rules apart. */
const SMALL: LimitSettings = {
  requestsPerAddress: { limit: 1, windowMs: MINUTE },
  failedSignInsPerLoginAndAddress: { limit: 2, windowMs: 15 * MINUTE },
  resetsPerLogin: { limit: 3, windowMs: 60 * MINUTE },
  phoneFailuresPerSource: { limit: 4, windowMs: 15 * MINUTE },
  autoResetsPerMailbox: { limit: 5, windowMs: 60 * MINUTE },
  ipv6PrefixLength: 64,
};

function clock(): { now: () => number; advance(ms: number): void } {
  let now = START;
  return { now: () => now, advance: (ms) => { now += ms; } };
}

async function reserveMany(counter: RateCounter, keys: readonly string[]): Promise<Reservation[]> {
  return Promise.all(keys.map(async (key) => counter.reserve(key)));
}

const allowedCount = (decisions: readonly { allowed: boolean }[]) => decisions.filter((d) => d.allowed).length;

describe('limit settings', () => {
  it('the defaults are the documented counts, and the configuration maps each setting to its rule and window', () => {
    assert.deepEqual(DEFAULT_LIMITS, {
      requestsPerAddress: { limit: 120, windowMs: MINUTE },
      failedSignInsPerLoginAndAddress: { limit: 10, windowMs: 15 * MINUTE },
      resetsPerLogin: { limit: 20, windowMs: 60 * MINUTE },
      phoneFailuresPerSource: { limit: 5, windowMs: 15 * MINUTE },
      autoResetsPerMailbox: { limit: 3, windowMs: 60 * MINUTE },
      ipv6PrefixLength: 64,
    });
    assert.deepEqual(limitSettings(loadConfig({ UMPIN_DATA_DIR: '/nonexistent/umpin-limits' }).limits), DEFAULT_LIMITS, 'an unset configuration gives the defaults');
    const configured = loadConfig({
      UMPIN_DATA_DIR: '/nonexistent/umpin-limits',
      UMPIN_LIMIT_REQUESTS_PER_MINUTE: '7',
      UMPIN_LIMIT_FAILED_SIGNINS: '8',
      UMPIN_LIMIT_RESETS_PER_HOUR: '9',
      UMPIN_LIMIT_PHONE_FAILURES: '11',
      UMPIN_LIMIT_AUTO_RESETS_PER_HOUR: '12',
      UMPIN_LIMIT_IPV6_PREFIX: '56',
    });
    assert.deepEqual(limitSettings(configured.limits), {
      requestsPerAddress: { limit: 7, windowMs: MINUTE },
      failedSignInsPerLoginAndAddress: { limit: 8, windowMs: 15 * MINUTE },
      resetsPerLogin: { limit: 9, windowMs: 60 * MINUTE },
      phoneFailuresPerSource: { limit: 11, windowMs: 15 * MINUTE },
      autoResetsPerMailbox: { limit: 12, windowMs: 60 * MINUTE },
      ipv6PrefixLength: 56,
    });
  });

  it('a limit of zero is refused when the limits are built, not at the first request', () => {
    assert.throws(() => new Limits({ ...SMALL, resetsPerLogin: { limit: 0, windowMs: MINUTE } }), TypeError);
  });
});

describe('Limits in memory: each rule decides and counts in one step', () => {
  it('all five rules reserved at once for one key, interleaved: each allows exactly its own count', async () => {
    const limits = new Limits(SMALL, clock().now);
    const rules = [limits.requestsPerAddress, limits.failedSignIns, limits.resetsPerLogin, limits.phoneFailures, limits.autoResets];
    const all = await Promise.all(Array.from({ length: 12 }, () => rules.map(async (rule) => rule.reserve('same key'))).flat());
    const byRule = rules.map((_, r) => allowedCount(all.filter((_d, i) => i % rules.length === r)));
    assert.deepEqual(byRule, [1, 2, 3, 4, 5]);
  });

  it('25 concurrent reservations against a limit of 4: exactly 4 allowed; refusals count nothing; a refund gives one slot back, once', async () => {
    const t = clock();
    const limits = new Limits(SMALL, t.now);
    const slots = await reserveMany(limits.phoneFailures, Array(25).fill('alice\u0000192.0.2.10'));
    assert.equal(allowedCount(slots), 4);
    const refused = slots.find((s) => !s.allowed);
    assert.deepEqual(refused, { allowed: false, retryAfterSeconds: 15 * 60 }, 'Retry-After: the whole window is left');

    const taken = slots.find((s) => s.allowed);
    assert.ok(taken?.allowed);
    await Promise.all([taken.refund(), taken.refund(), taken.refund()]);
    const again = await reserveMany(limits.phoneFailures, Array(6).fill('alice\u0000192.0.2.10'));
    assert.equal(allowedCount(again), 1, 'three refunds of one slot give one slot');
    assert.equal((await limits.phoneFailures.reserve('alice\u0000192.0.2.20')).allowed, true, 'another PBX address has its own budget');
  });

  it('hit counts refused requests too, and the window ends a fixed window after its first hit', async () => {
    const t = clock();
    const limits = new Limits({ ...SMALL, requestsPerAddress: { limit: 3, windowMs: MINUTE } }, t.now);
    const first = await Promise.all(Array.from({ length: 5 }, async () => limits.requestsPerAddress.hit('192.0.2.1')));
    assert.equal(allowedCount(first), 3);
    t.advance(40_000);
    assert.deepEqual(await limits.requestsPerAddress.hit('192.0.2.1'), { allowed: false, retryAfterSeconds: 20 });
    t.advance(20_000);
    const next = await Promise.all(Array.from({ length: 5 }, async () => limits.requestsPerAddress.hit('192.0.2.1')));
    assert.equal(allowedCount(next), 3, 'a new window, a new budget: the refused hits of the old one do not carry over');
  });
});

describe('Limits.address: what the limits count of a client address (docs/limits.md)', () => {
  it('IPv6: the /64, however the address is written; IPv4-mapped: the IPv4 address; anything else as it is', () => {
    const limits = new Limits();
    assert.equal(limits.address('2001:db8:5:7:1::9'), '2001:db8:5:7::/64');
    assert.equal(limits.address('2001:0DB8:0005:0007:ffff:ffff:ffff:ffff'), '2001:db8:5:7::/64');
    assert.notEqual(limits.address('2001:db8:5:8::1'), limits.address('2001:db8:5:7::1'), 'the next /64 is another source');
    assert.equal(limits.address('::ffff:192.0.2.44'), '192.0.2.44');
    assert.equal(limits.address('::FFFF:c000:022c'), '192.0.2.44', 'the mapped address in hex');
    assert.equal(limits.address('192.0.2.44'), '192.0.2.44');
    assert.notEqual(limits.address('192.0.2.45'), limits.address('192.0.2.44'), 'IPv4 counts per address');
    assert.equal(limits.address('fe80::1%eth0'), limits.address('fe80::2%eth1'), 'the zone names our interface, not the client');
    assert.equal(limits.address('unix-socket'), 'unix-socket');
  });

  it('UMPIN_LIMIT_IPV6_PREFIX sets the network size: /48 joins what /64 keeps apart, /128 counts each address', () => {
    const wide = new Limits(limitSettings(loadConfig({ UMPIN_DATA_DIR: '/nonexistent/umpin-limits', UMPIN_LIMIT_IPV6_PREFIX: '48' }).limits));
    assert.equal(wide.address('2001:db8:5:7::1'), wide.address('2001:db8:5:8::1'));
    assert.equal(wide.address('2001:db8:5:8::1'), '2001:db8:5::/48');
    const narrow = new Limits({ ...DEFAULT_LIMITS, ipv6PrefixLength: 128 });
    assert.notEqual(narrow.address('2001:db8:5:7::1'), narrow.address('2001:db8:5:7::2'));
    assert.equal(narrow.address('::ffff:192.0.2.44'), '192.0.2.44', 'the prefix does not apply to IPv4');
  });

  it('20 concurrent failed-sign-in reservations for one login from 20 addresses of one /64: 10 (the limit); from the next /64: its own 10', async () => {
    const limits = new Limits({ ...DEFAULT_LIMITS }, clock().now);
    const key = (source: string) => `carol\u0000${limits.address(source)}`;
    const sources = Array.from({ length: 20 }, (_, i) => `2001:db8:5:7:${(i + 1).toString(16)}::${randomBytes(2).toString('hex')}`);
    const slots = await reserveMany(limits.failedSignIns, sources.map(key));
    assert.equal(allowedCount(slots), 10);
    const next = await reserveMany(limits.failedSignIns, sources.map((s) => key(s.replace('2001:db8:5:7:', '2001:db8:5:8:'))));
    assert.equal(allowedCount(next), 10);
  });

  it('12 concurrent reservations, half as IPv4 and half IPv4-mapped, share one budget of 10', async () => {
    const limits = new Limits({ ...DEFAULT_LIMITS }, clock().now);
    const sources = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? '192.0.2.44' : '::ffff:192.0.2.44'));
    const slots = await reserveMany(limits.failedSignIns, sources.map((s) => `carol\u0000${limits.address(s)}`));
    assert.equal(allowedCount(slots), 10);
  });
});

describe('enforce: what a refused caller gets', () => {
  it('an allowed decision passes; a refusal throws ServerBusy (503, Retry-After, the message given)', async () => {
    const limits = new Limits({ ...SMALL, resetsPerLogin: { limit: 1, windowMs: 60 * MINUTE } }, clock().now);
    const first = await limits.resetsPerLogin.hit('carol');
    assert.doesNotThrow(() => enforce(first, 'Too many resets.'));
    const second = await limits.resetsPerLogin.hit('carol');
    assert.throws(() => enforce(second, 'Too many resets.'), (error: unknown) =>
      error instanceof ServerBusy && error.httpStatus === 503 && error.message === 'Too many resets.' &&
      error.httpHeaders['retry-after'] === '3600' && error.responseCode === 'ErrorServerBusy');
  });
});

describe('limitKeySecret', () => {
  it('32 bytes derived from the pepper: the same pepper gives the same key, another pepper another, never the pepper itself', () => {
    const pepper = randomBytes(32);
    const key = limitKeySecret(pepper);
    assert.equal(key.length, 32);
    assert.deepEqual(limitKeySecret(Buffer.from(pepper)), key);
    assert.notDeepEqual(limitKeySecret(randomBytes(32)), key);
    assert.notDeepEqual(key, pepper);
  });
});

const REDIS_URL = 'redis://127.0.0.1:6379';
const RULES = ['requests-per-address', 'failed-sign-ins', 'resets-per-login', 'phone-failures', 'auto-resets'];
const skipRedis = await peerSkip('redis');

/** Limits counting in Redis, built the way open-services.ts builds them, under a key prefix of this run. */
function sharedLimits(url: string, prefix: string, pepper: Buffer, settings: LimitSettings, onUnavailable: (error: Error) => void = () => {}): { limits: Limits; client: LazyRedisClient } {
  const client = openRedisClient(url);
  const counters = new RedisCounters({ client, keySecret: limitKeySecret(pepper), keyPrefix: prefix, onUnavailable });
  const shared: SharedCounters = {
    counter: (rule, limit, memory) => new RedisRateLimiter(counters, rule, limit, memory),
    close: async () => client.disconnect(),
  };
  return { limits: new Limits(settings, Date.now, shared), client };
}

describe('Limits shared through Redis', { skip: skipRedis }, () => {
  const prefix = `umpin:limit:test-limits-${randomBytes(6).toString('hex')}:`;
  const pepper = randomBytes(32);
  const opened: LazyRedisClient[] = [];
  const outages: string[] = [];
  /** One instance, connected before the test's burst: a slow first connection on a loaded machine would count in memory instead. */
  const instance = async () => {
    const made = sharedLimits(REDIS_URL, prefix, pepper, SMALL, (e) => outages.push(e.message));
    opened.push(made.client);
    await made.client.connect();
    return made;
  };
  after(async () => {
    for (const client of opened) client.disconnect();
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  it('two instances reserving 30 at once for one PBX and mailbox take 4 (the limit) between them; a refund on one frees a slot for the other', async () => {
    const a = (await instance()).limits;
    const b = (await instance()).limits;
    const key = `alice\u0000${a.address('::ffff:192.0.2.10')}`;
    const slots = await Promise.all(Array.from({ length: 30 }, async (_, i) => (i % 2 === 0 ? a : b).phoneFailures.reserve(key)));
    assert.equal(allowedCount(slots), 4);
    const taken = slots.find((s) => s.allowed);
    assert.ok(taken?.allowed);
    await taken.refund();
    assert.deepEqual((await Promise.all([b.phoneFailures.reserve(key), b.phoneFailures.reserve(key)])).map((s) => s.allowed).sort(), [false, true]);
    assert.deepEqual(outages, [], 'every decision was Redis\'s');
  });

  it('each rule counts under its documented name, keyed by HMAC: no login or address in Redis; close() disconnects', async () => {
    const { limits, client } = await instance();
    const login = `dora-${randomBytes(3).toString('hex')}`;
    await limits.requestsPerAddress.hit('198.51.100.77');
    await limits.failedSignIns.reserve(`${login}\u0000198.51.100.77`);
    await limits.resetsPerLogin.hit(login);
    await limits.phoneFailures.reserve(`${login}\u0000192.0.2.10`);
    await limits.autoResets.hit(login);
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const keys = await admin.keys(`${prefix}*`);
      const rules = new Set(keys.map((k) => k.slice(prefix.length).split(':')[0]));
      assert.deepEqual([...rules].sort(), [...RULES].sort());
      assert.ok(keys.every((k) => /^[a-z-]+:[0-9a-f]{32}$/.test(k.slice(prefix.length))), keys.join(' '));
      assert.ok(!keys.some((k) => k.includes(login) || k.includes('198.51.100.77')));
    } finally {
      admin.disconnect();
    }
    await limits.close();
    // ioredis reports the end of the connection on its next turn.
    for (let i = 0; i < 100 && client.status !== 'end'; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(client.status, 'end');
  });
});

describe('Limits with Redis not there: fail open to each instance\'s own counters', () => {
  it('nothing listening: the limits still hold in memory, and the outage is reported once', async () => {
    const port = await freePort();
    const reports: string[] = [];
    const { limits } = sharedLimits(`redis://127.0.0.1:${port}`, 'umpin:limit:unreachable:', randomBytes(32), SMALL, (e) => reports.push(e.message));
    try {
      const slots = await Promise.all(Array.from({ length: 10 }, async () => limits.failedSignIns.reserve(`carol\u0000${limits.address('2001:db8::1')}`)));
      assert.equal(allowedCount(slots), 2);
      const hits = await Promise.all(Array.from({ length: 3 }, async () => limits.requestsPerAddress.hit('2001:db8::2')));
      assert.equal(allowedCount(hits), 1);
      assert.equal(reports.length, 1, reports.join(' | '));
    } finally {
      await limits.close();
    }
  });
});
