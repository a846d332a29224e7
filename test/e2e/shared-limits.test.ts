/**
 * Abuse limits shared through Redis (issue 7): two instances over one data
 * directory (one database, one secret, one pickup directory, as instances
 * behind a load balancer would be) and one real Redis count every client
 * together. And when Redis is not there, the service still answers and
 * still limits, per instance, and says so in its log.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCounters } from '../../src/lib/redis-rate-limiter.ts';
import { limitKeySecret } from '../../src/operations/limits.ts';
import { freePort } from '../support/net.ts';
import {
  REQUEST_XML, assertRun, listMailFiles, makeDataDir, newPinMails, postFrom, postSoap, provisionMailbox, runUmpin, snapshotState, startServeProcess,
  startTestService, type SoapCall, type TestService,
} from '../support/service.ts';
import { peerSkip } from '../support/peers.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';

/** 503, a Retry-After within the limit's window, and the ErrorServerBusy fault saying `message`. */
function assertBusy(response: SoapCall, windowSeconds: number, message: string): void {
  assert.equal(response.status, 503, response.body);
  const retryAfter = Number(response.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${response.headers.get('retry-after')}`);
  assert.match(response.body, /<faultcode>soap:Server<\/faultcode>/);
  assert.ok(response.body.includes(`<faultstring xml:lang="en">${message}</faultstring>`), response.body);
  assert.ok(response.body.includes(`<e:ResponseCode xmlns:e="${ERRORS}">ErrorServerBusy</e:ResponseCode>`), response.body);
  assert.ok(response.body.includes(`<e:Message xmlns:e="${ERRORS}">${message}</e:Message>`), response.body);
}

describe('abuse limits shared through Redis by two instances', { skip: await peerSkip('redis') }, () => {
  let dataDir: string;
  let first: TestService;
  let second: TestService;
  let redis: Redis;
  let request: Buffer;
  let counterNames: RedisCounters;

  before(async () => {
    dataDir = await makeDataDir();
    const env = { UMPIN_REDIS_URL: REDIS_URL, UMPIN_LIMIT_REQUESTS_PER_MINUTE: '3', UMPIN_LIMIT_FAILED_SIGNINS: '2' };
    first = await startTestService(env, dataDir);
    second = await startTestService(env, dataDir);
    await provisionMailbox(first, 'carol', 'pw-carol');
    request = await readFile(REQUEST_XML);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
    // Both instances derive their counter names from the secret they share; a fresh secret per run keeps runs apart.
    counterNames = new RedisCounters({ client: redis, keySecret: limitKeySecret(first.services.keyring.pepper) });
  });

  after(async () => {
    const keys = ['127.0.0.1', '127.0.0.2', '127.0.0.4'].flatMap((address) => [
      counterNames.keyFor('requests-per-address', address), counterNames.keyFor('failed-sign-ins', `carol\u0000${address}`),
    ]).concat(counterNames.keyFor('resets-per-login', 'carol'));
    await redis.del(...keys);
    redis.disconnect();
    await first.close();
    await second.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('requests per address: three spread over both instances pass, the fourth gets 503 + Retry-After + ErrorServerBusy and changes nothing', async () => {
    for (const service of [first, second, first]) {
      const before = await listMailFiles(first.config.pickupDir);
      const response = await postSoap(service.endpoint, request, { login: 'carol', password: 'pw-carol' });
      assert.equal(response.status, 200, response.body);
      assert.equal((await newPinMails(first.config.pickupDir, before)).length, 1);
    }
    const unchanged = await snapshotState(first, ['carol']);
    for (const service of [second, first]) {
      assertBusy(await postSoap(service.endpoint, request, { login: 'carol', password: 'pw-carol' }), 60, 'Too many requests from your address; try again later.');
    }
    assert.deepEqual(await snapshotState(first, ['carol']), unchanged);
    // Refused requests count too, as in memory: five hits, under a name that is not the address.
    assert.equal(await redis.get(counterNames.keyFor('requests-per-address', '127.0.0.1')), '5');
  });

  it('failed sign-ins per login and address: one guess on each instance stops the third attempt, even with the right password', async () => {
    for (const service of [first, second]) {
      assert.equal((await postFrom('127.0.0.2', service.endpoint, request, { login: 'carol', password: 'guess' })).status, 401);
    }
    const unchanged = await snapshotState(first, ['carol']);
    assertBusy(await postFrom('127.0.0.2', first.endpoint, request, { login: 'carol', password: 'pw-carol' }), 15 * 60,
      'Too many failed sign-ins for this user from your address; try again later.');
    assert.deepEqual(await snapshotState(first, ['carol']), unchanged);
  });

  it('keeps no login or address in clear in Redis', async () => {
    // A guess of its own, from an address no other test uses, so that the counters it looks at are there when it runs alone.
    assert.equal((await postFrom('127.0.0.4', second.endpoint, request, { login: 'carol', password: 'guess' })).status, 401);
    const names = await redis.keys('umpin:limit:*');
    assert.ok(names.includes(counterNames.keyFor('failed-sign-ins', 'carol\u0000127.0.0.4')), names.join(', '));
    for (const name of names) assert.doesNotMatch(name, /carol|127\.0\.0/);
  });
});

describe('abuse limits when Redis is not there', () => {
  it('the service answers at once, limits each instance on its own, and logs one warning without the Redis password', { timeout: 120_000 }, async () => {
    const dataDir = await makeDataDir();
    const port = await freePort();
    const env = { UMPIN_DATA_DIR: dataDir, UMPIN_REDIS_URL: `redis://:redis-pw-in-url@127.0.0.1:${port}`, UMPIN_LIMIT_REQUESTS_PER_MINUTE: '2' };
    const server = await startServeProcess(env);
    try {
      // The CLI never connects to Redis: it checks no limit.
      assertRun(await runUmpin(['user', 'add', 'carol', '--password-stdin'], env, 'pw-carol\n'), 0);
      assertRun(await runUmpin(['mailbox', 'enable', 'carol', '--email', 'carol@example.com', '--extension', '36601'], env), 0);
      const request = await readFile(REQUEST_XML);
      const started = performance.now();
      for (let i = 0; i < 2; i += 1) assert.equal((await postSoap(server.endpoint, request, { login: 'carol', password: 'pw-carol' })).status, 200);
      assert.ok(performance.now() - started < 60_000, 'no request waits for Redis');

      const pickupDir = `${dataDir}/pickup`;
      const mails = await listMailFiles(pickupDir);
      const shown = await runUmpin(['pin', 'show', 'carol', '--json'], env);
      assertRun(shown, 0);
      assertBusy(await postSoap(server.endpoint, request, { login: 'carol', password: 'pw-carol' }), 60, 'Too many requests from your address; try again later.');
      assert.deepEqual(await listMailFiles(pickupDir), mails);
      assert.equal((await runUmpin(['pin', 'show', 'carol', '--json'], env)).stdout, shown.stdout);

      const warnings = server.output().split('\n').filter((line) => line.includes('Redis is not answering'));
      assert.equal(warnings.length, 1, server.output());
      assert.match(warnings[0] ?? '', /"level":40/);
      assert.match(warnings[0] ?? '', new RegExp(`"redis":"redis://127\\.0\\.0\\.1:${port}"`));
      assert.doesNotMatch(server.output(), /redis-pw-in-url/);
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
