/**
 * Issue 12 end to end: two instances on one PostgreSQL, sharing their abuse
 * limits in one real Redis, take concurrent attacks over sockets spread over
 * both. At most each limit's count of attempts may be judged (each judged
 * password is an `auth-failed` audit row, each judged PIN a counted failed
 * logon), the rest refused before the KDF with 503 + ErrorServerBusy.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCounters } from '../../src/lib/redis-rate-limiter.ts';
import { createApiKey } from '../../src/operations/api-keys.ts';
import { limitKeySecret } from '../../src/operations/limits.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';
import { peerSkip } from '../support/peers.ts';
import { REQUEST_XML, makeDataDir, postFrom, provisionMailbox, startTestService, type SoapCall, type TestService } from '../support/service.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const postgres = (await testEngines()).find((engine) => engine.name === 'postgres');
const skip = postgres === undefined ? 'UMPIN_TEST_ENGINES leaves PostgreSQL out' : postgres.skip || (await peerSkip('redis'));

function statusOf(call: SoapCall): string {
  if (call.status === 503) {
    assert.match(call.body, /<e:ResponseCode xmlns:e="[^"]+">ErrorServerBusy<\/e:ResponseCode>/);
    assert.ok(Number(call.headers.get('retry-after')) >= 1);
  }
  if (call.status === 401) assert.match(call.body, /ErrorAccessDenied/);
  return String(call.status);
}

function tally(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

describe('concurrent attacks on two instances sharing PostgreSQL and Redis', { skip }, () => {
  let database: TestDatabase;
  let dataDir: string;
  let first: TestService;
  let second: TestService;
  let redis: Redis;
  let counterNames: RedisCounters;
  let apiKey: string;
  let request: Buffer;

  before(async () => {
    if (!postgres) return;
    database = await postgres.database('e2e_concurrent_limits');
    dataDir = await makeDataDir();
    // One data directory: one secret file and one pickup directory, as instances behind a load balancer share.
    const env = { ...database.env, UMPIN_REDIS_URL: REDIS_URL };
    first = await startTestService(env, dataDir);
    second = await startTestService(env, dataDir);
    await provisionMailbox(first, 'carol', 'pw-carol');
    await provisionMailbox(first, 'dora', 'pw-dora');
    apiKey = await createApiKey(first.services, 'pbx');
    request = await readFile(REQUEST_XML);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
    counterNames = new RedisCounters({ client: redis, keySecret: limitKeySecret(first.services.keyring.pepper) });
  });

  after(async () => {
    if (!postgres) return;
    const keys = ['carol', 'nobody-here'].map((login) => counterNames.keyFor('failed-sign-ins', `${login}\u0000127.0.0.3`))
      .concat(['127.0.0.3', '127.0.0.1'].map((address) => counterNames.keyFor('requests-per-address', address)))
      .concat(counterNames.keyFor('phone-failures', 'm:dora\u0000127.0.0.1'));
    await redis.del(...keys);
    redis.disconnect();
    await first.close();
    await second.close();
    await database.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('30 wrong passwords at once over both instances: 10 judged (the limit), 20 refused before the KDF', async () => {
    const calls = await Promise.all(Array.from({ length: 30 }, (_, i) => postFrom('127.0.0.3', (i % 2 === 0 ? first : second).endpoint, request, { login: 'carol', password: `guess-${i}` })));
    assert.deepEqual(tally(calls.map(statusOf)), { 401: 10, 503: 20 });
    const judged = (await first.services.store.listAudit({ login: 'carol' })).filter((e) => e.outcome === 'auth-failed');
    assert.equal(judged.length, 10, 'passwords that reached the KDF');
    assert.equal(await redis.get(counterNames.keyFor('failed-sign-ins', 'carol\u0000127.0.0.3')), '10', 'refusals were not counted');
  });

  it('30 at once for a login nobody has: the same answers, the same count', async () => {
    const calls = await Promise.all(Array.from({ length: 30 }, (_, i) => postFrom('127.0.0.3', (i % 2 === 0 ? first : second).endpoint, request, { login: 'nobody-here', password: `guess-${i}` })));
    assert.deepEqual(tally(calls.map(statusOf)), { 401: 10, 503: 20 });
  });

  it('15 wrong PINs at once through one PBX over both instances, a new calling number each: 5 counted, no lockout', async () => {
    const answers = await Promise.all(Array.from({ length: 15 }, async (_, i) => {
      const response = await fetch(`${(i % 2 === 0 ? first : second).url}/tui/v1/logon`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ mailbox: 'dora', pin: '000009', caller: `+1555020${i}` }),
      });
      const body = (await response.json()) as { result?: string; error?: string };
      return `${response.status} ${body.result ?? body.error}`;
    }));
    assert.deepEqual(tally(answers), { '200 wrong-pin': 5, '503 server-busy': 10 });
    const dora = await second.services.store.findMailbox('dora');
    assert.deepEqual({ failedLogons: dora?.failedLogons, lockedOut: dora?.lockedOut }, { failedLogons: 5, lockedOut: false });
  });
});
