/**
 * /healthz, /readyz and /metrics (issue 6) over a real socket: the counters
 * move by exactly what the service was asked to do (resets, phone checks, a
 * lockout, mail queued because the pickup directory is gone), the health
 * routes count as nothing, and /readyz says 503 while PostgreSQL refuses the
 * service's role or its schema is gone, and 200 again once they are back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { openServices } from '../../src/open-services.ts';
import { loadConfig } from '../../src/config.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { PrometheusMetrics } from '../../src/observability/prometheus-metrics.ts';
import { setMailbox } from '../../src/operations/admin/mailboxes.ts';
import { resetPinByAdmin } from '../../src/operations/admin/pins.ts';
import { newPolicy } from '../../src/operations/admin/policies.ts';
import { createApiKey } from '../../src/operations/api-keys.ts';
import { deliverDueMail } from '../../src/operations/outbox.ts';
import {
  REQUEST_XML, isActivePin, listMailFiles, makeDataDir, postSoap, provisionMailbox, runUmpin, snapshotState, type TestService,
} from '../support/service.ts';
import { postgresSkip } from '../support/postgres.ts';

/** The service as `umpin serve` builds it (Prometheus metrics on), on 127.0.0.1:0. */
async function startMeteredService(extraEnv: Record<string, string> = {}): Promise<TestService> {
  const dir = await makeDataDir();
  const env = { UMPIN_DATA_DIR: dir, UMPIN_LISTEN: '127.0.0.1:0', UMPIN_LOG_LEVEL: 'silent', ...extraEnv };
  const config = loadConfig(env);
  const logger = pino({ level: 'silent' });
  const opened = await openServices(config, logger, {
    metrics: (store) => new PrometheusMetrics({ outboxDepth: () => store.countQueuedMail(), processMetrics: true }),
  });
  const app = buildHttpServer(opened.services, config, logger);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = app.listeningOrigin;
  return {
    url, endpoint: `${url}/EWS/UM2007Legacy.asmx`, dataDir: dir, env, config, services: opened.services,
    umpin: (args, input) => runUmpin(args, env, input),
    async close() {
      await app.close();
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly cacheControl: string | null;
  readonly body: string;
}

async function get(service: TestService, path: string): Promise<Answer> {
  const response = await fetch(`${service.url}${path}`);
  return { status: response.status, type: response.headers.get('content-type'), cacheControl: response.headers.get('cache-control'), body: await response.text() };
}

/** Prometheus text format → `name{a="1",b="2"}` (labels sorted) → value. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

async function scrape(service: TestService): Promise<Map<string, number>> {
  const answer = await get(service, '/metrics');
  assert.equal(answer.status, 200, answer.body);
  return parseMetrics(answer.body);
}

/** Every umpin_ counter that moved, and by how much; the KDF histogram and the depth gauge are checked apart. */
function movedCounters(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const moved: Record<string, number> = {};
  for (const [key, value] of after) {
    if (!key.startsWith('umpin_') || key.startsWith('umpin_kdf_seconds') || key.startsWith('umpin_outbox_depth')) continue;
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) moved[key] = delta;
  }
  return moved;
}

const kdfCalls = (samples: Map<string, number>, purpose: string) => samples.get(`umpin_kdf_seconds_count{purpose="${purpose}"}`) ?? 0;

async function logon(service: TestService, key: string, mailbox: string, pin: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${service.url}/tui/v1/logon`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ mailbox, pin }),
  });
  return { status: response.status, body: await response.json() };
}

const wrongPinFor = (pin: string) => (pin === '0'.repeat(pin.length) ? '1' : '0').repeat(pin.length);

describe('health and metrics (SQLite, pickup directory)', () => {
  let service: TestService;
  let key: string;
  const pins = new Map<string, string>();

  before(async () => {
    service = await startMeteredService({ UMPIN_OUTBOX_RETRY_MS: '100' });
    // Provisioned by the CLI, a process of its own: none of this shows in the server's metrics.
    for (const login of ['alice', 'bob', 'carol', 'dave']) pins.set(login, await provisionMailbox(service, login, `pw-${login}`));
    key = await createApiKey(service.services, 'pbx');
    await newPolicy(service.services, 'lock-at-2', { maxLogonAttempts: 2, logonFailuresBeforePinReset: null });
    await setMailbox(service.services, 'carol', { policy: 'lock-at-2' });
  });
  after(() => service?.close());

  it('/healthz, /readyz and /metrics answer plain text, uncached, and are not counted as requests', async () => {
    const first = await scrape(service);
    assert.deepEqual(await get(service, '/healthz'), { status: 200, type: 'text/plain; charset=utf-8', cacheControl: 'no-store', body: 'ok\n' });
    assert.deepEqual(await get(service, '/readyz'), { status: 200, type: 'text/plain; charset=utf-8', cacheControl: 'no-store', body: 'ready\n' });
    const metrics = await get(service, '/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(metrics.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(metrics.cacheControl, 'no-store');
    for (const name of ['umpin_http_requests_total', 'umpin_pin_changes_total', 'umpin_pin_checks_total', 'umpin_lockouts_total',
      'umpin_mail_handoffs_total', 'umpin_outbox_deliveries_total', 'umpin_kdf_seconds', 'umpin_outbox_depth']) {
      assert.match(metrics.body, new RegExp(`^# HELP ${name} \\S.*$`, 'm'), `${name} has HELP text`);
    }
    const samples = parseMetrics(metrics.body);
    assert.ok((samples.get('process_cpu_user_seconds_total{}') ?? 0) > 0, 'the default process metrics are on this registry');
    assert.ok(samples.has('nodejs_eventloop_lag_seconds{}'));
    assert.equal(samples.get('umpin_outbox_depth{}'), 0);
    assert.equal(samples.get('umpin_lockouts_total{}'), 0);
    assert.deepEqual(movedCounters(first, samples), {}, 'health and metrics requests count as nothing');
    assert.ok(![...samples.keys()].some((k) => k.startsWith('umpin_http_requests_total')), 'no service request was answered yet');
    for (const secret of ['alice', 'bob', 'carol', 'example.com', '127.0.0.1', service.dataDir]) {
      assert.ok(!metrics.body.includes(secret), `the scrape does not name ${secret}`);
    }
  });

  it('counts resets, phone checks and a lockout by exactly what was done', async () => {
    const before = await scrape(service);
    const soap = readFileSync(REQUEST_XML, 'utf8');

    const reset = await postSoap(service.endpoint, soap, { login: 'alice', password: 'pw-alice' });
    assert.equal(reset.status, 200, reset.body);
    const state = await snapshotState(service, ['alice', 'bob']);
    const wrong = await postSoap(service.endpoint, soap, { login: 'bob', password: 'not-bobs' });
    assert.equal(wrong.status, 401);
    const malformed = await postSoap(service.endpoint, '<soap:Envelope', { login: 'bob', password: 'pw-bob' });
    assert.equal(malformed.status, 500);
    assert.deepEqual(await snapshotState(service, ['alice', 'bob']), state, 'the refused requests changed nothing');

    assert.deepEqual(await logon(service, key, 'bob', pins.get('bob') as string), { status: 200, body: { result: 'ok', mustChange: true } }); // a welcome PIN must be changed
    assert.deepEqual(await logon(service, key, 'bob', wrongPinFor(pins.get('bob') as string)), { status: 200, body: { result: 'wrong-pin', mustChange: false } });
    const carolsWrong = wrongPinFor(pins.get('carol') as string);
    assert.deepEqual(await logon(service, key, 'carol', carolsWrong), { status: 200, body: { result: 'wrong-pin', mustChange: false } });
    assert.deepEqual(await logon(service, key, 'carol', carolsWrong), { status: 200, body: { result: 'locked-out', mustChange: false } });
    assert.equal((await service.services.store.findMailbox('carol'))?.lockedOut, true);

    const after = await scrape(service);
    assert.deepEqual(movedCounters(before, after), {
      'umpin_http_requests_total{operation="ResetPIN",outcome="success"}': 1,
      'umpin_http_requests_total{operation="ResetPIN",outcome="ERR_AUTH_FAILED"}': 1,
      'umpin_http_requests_total{operation="ResetPIN",outcome="ERR_SOAP_SCHEMA"}': 1,
      'umpin_http_requests_total{operation="tui/logon",outcome="ok"}': 1,
      'umpin_http_requests_total{operation="tui/logon",outcome="wrong-pin"}': 2,
      'umpin_http_requests_total{operation="tui/logon",outcome="locked-out"}': 1,
      'umpin_pin_changes_total{outcome="activated",reason="reset"}': 1,
      'umpin_mail_handoffs_total{delivery="inline",outcome="sent"}': 1,
      'umpin_pin_checks_total{result="ok"}': 1,
      'umpin_pin_checks_total{result="wrong-pin"}': 2,
      'umpin_pin_checks_total{result="locked-out"}': 1,
      'umpin_lockouts_total{}': 1,
    });
    // Two passwords checked (the malformed request was refused before any); one PIN drawn, four typed.
    assert.equal(kdfCalls(after, 'password-verify') - kdfCalls(before, 'password-verify'), 2);
    assert.equal(kdfCalls(after, 'pin') - kdfCalls(before, 'pin'), 5);
    assert.equal(kdfCalls(after, 'password-hash') - kdfCalls(before, 'password-hash'), 0);
    assert.ok((after.get('umpin_kdf_seconds_sum{purpose="pin"}') ?? 0) > (before.get('umpin_kdf_seconds_sum{purpose="pin"}') ?? 0));
    assert.equal(after.get('umpin_kdf_seconds_bucket{le="+Inf",purpose="pin"}'), kdfCalls(after, 'pin'));
  });

  it('counts mail queued while the pickup directory is gone, and its delivery once it is back', async () => {
    const pickup = service.config.pickupDir;
    const before = await scrape(service);
    const oldPins = { bob: pins.get('bob') as string, dave: pins.get('dave') as string };
    // A file where the directory was: every write fails with ENOTDIR, a failure that may clear up.
    await rename(pickup, `${pickup}.away`);
    await writeFile(pickup, 'not a directory');
    try {
      const failed = await postSoap(service.endpoint, readFileSync(REQUEST_XML, 'utf8'), { login: 'bob', password: 'pw-bob' });
      assert.equal(failed.status, 500);
      assert.match(failed.body, /<e:ResponseCode xmlns:e="[^"]+">ErrorUnifiedMessagingRequestFailed<\/e:ResponseCode>/);
      const queued = await resetPinByAdmin(service.services, 'dave', {});
      assert.ok(queued.queued, 'the admin reset waits in the outbox');
      assert.ok(await isActivePin(service.services, 'bob', oldPins.bob), "bob's old PIN still works");
      assert.ok(await isActivePin(service.services, 'dave', oldPins.dave), "dave's old PIN works until his mail is delivered");

      const during = await scrape(service);
      assert.deepEqual(movedCounters(before, during), {
        'umpin_http_requests_total{operation="ResetPIN",outcome="ERR_MAIL_HANDOFF"}': 1,
        'umpin_pin_changes_total{outcome="ERR_MAIL_HANDOFF",reason="reset"}': 1,
        'umpin_pin_changes_total{outcome="queued",reason="admin-reset"}': 1,
        'umpin_mail_handoffs_total{delivery="inline",outcome="deferred"}': 1,
        'umpin_mail_handoffs_total{delivery="outbox",outcome="deferred"}': 1,
      });
      assert.equal(during.get('umpin_outbox_depth{}'), 1);
      assert.deepEqual(await get(service, '/readyz'), { status: 200, type: 'text/plain; charset=utf-8', cacheControl: 'no-store', body: 'ready\n' }, 'mail trouble is not the database');
    } finally {
      await rm(pickup, { force: true });
      await rename(`${pickup}.away`, pickup).catch(() => mkdir(pickup, { recursive: true }));
    }

    const mails = await listMailFiles(pickup);
    const before2 = await scrape(service);
    let results: Awaited<ReturnType<typeof deliverDueMail>>['results'] = [];
    for (let i = 0; i < 50 && results.length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // the first retry is due 100 ms after the failure
      ({ results } = await deliverDueMail(service.services));
    }
    assert.deepEqual(results.map((r) => [r.login, r.status]), [['dave', 'Sent']]);
    assert.equal((await listMailFiles(pickup)).length, mails.length + 1);
    const after = await scrape(service);
    assert.deepEqual(movedCounters(before2, after), {
      'umpin_mail_handoffs_total{delivery="outbox",outcome="sent"}': 1,
      'umpin_outbox_deliveries_total{status="Sent"}': 1,
    });
    assert.equal(after.get('umpin_outbox_depth{}'), 0);
  });

  it('keeps an unexpected operation name out of the label values', async () => {
    const before = await scrape(service);
    const response = await fetch(`${service.url}/tui/v1/${'x'.repeat(40)}-${randomBytes(4).toString('hex')}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
    });
    assert.equal(response.status, 401);
    assert.deepEqual(movedCounters(before, await scrape(service)), { 'umpin_http_requests_total{operation="other",outcome="ERR_AUTH_API_KEY"}': 1 });
  });
});

/** The machine's PostgreSQL as its superuser; undefined when there is none (say why in the skip). */
async function connectAdmin(): Promise<{ client: pg.Client; url: string } | { unavailable: string }> {
  const failures: string[] = [];
  for (const user of ['postgres', 'root']) {
    const url = `postgres://${user}@127.0.0.1:5432/test`;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      return { client, url };
    } catch (error) {
      failures.push(`as ${user}: ${error instanceof Error ? error.message : String(error)}`);
      await client.end().catch(() => {});
    }
  }
  return { unavailable: `no PostgreSQL at 127.0.0.1:5432/test (${failures.join('; ')})` };
}

const skipPostgres = await postgresSkip();
const admin = skipPostgres === false ? await connectAdmin() : { unavailable: skipPostgres };

describe('/readyz on PostgreSQL', { skip: 'unavailable' in admin ? admin.unavailable : false }, () => {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const role = `umpin_ready_${suffix}`;
  const schema = `umpin_ready_${suffix}`;
  const password = randomBytes(12).toString('hex');
  let client: pg.Client;
  let service: TestService;

  before(async () => {
    if ('unavailable' in admin) return;
    client = admin.client;
    // A role of its own, so refusing its logins touches no other test.
    await client.query(`create role ${role} login password '${password}'`);
    await client.query(`create schema ${schema} authorization ${role}`);
    const url = `postgres://${role}:${password}@127.0.0.1:5432/test?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    service = await startMeteredService({ UMPIN_DATABASE_URL: url });
  });
  after(async () => {
    await service?.close();
    await client?.query(`drop schema if exists ${schema} cascade`).catch(() => {});
    await client?.query(`drop schema if exists ${schema}_gone cascade`).catch(() => {});
    await client?.query(`drop role if exists ${role}`).catch(() => {});
    await client?.end();
  });

  const notReady = (reason: string) => ({ status: 503, type: 'text/plain; charset=utf-8', cacheControl: 'no-store', body: `not ready: ${reason}\n` });
  const ready = { status: 200, type: 'text/plain; charset=utf-8', cacheControl: 'no-store', body: 'ready\n' };

  it('is ready when the database answers and every migration ran', async () => {
    assert.deepEqual(await get(service, '/readyz'), ready);
  });

  it('is not ready while the database refuses the service, without naming the server, and ready again after', async () => {
    await client.query(`alter role ${role} nologin`);
    await client.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role]);
    try {
      const answer = await get(service, '/readyz');
      assert.deepEqual(answer, notReady('the database cannot be reached'));
      for (const leak of [password, role, '127.0.0.1', '5432', 'postgres']) assert.ok(!answer.body.includes(leak), `the answer does not name ${leak}`);
      assert.deepEqual(await get(service, '/healthz'), { status: 200, type: 'text/plain; charset=utf-8', cacheControl: 'no-store', body: 'ok\n' }, 'the process itself still serves');
      const metrics = await get(service, '/metrics');
      assert.equal(metrics.status, 200, 'a scrape still answers');
      assert.equal(parseMetrics(metrics.body).get('umpin_outbox_depth{}'), Number.NaN, 'an outbox depth that could not be read is unknown, not 0');
    } finally {
      await client.query(`alter role ${role} login`);
    }
    assert.deepEqual(await get(service, '/readyz'), ready);
  });

  it('is not ready while its schema is gone, naming the migrations, and ready again once it is back', async () => {
    await client.query(`alter schema ${schema} rename to ${schema}_gone`);
    try {
      assert.deepEqual(await get(service, '/readyz'), notReady(
        'the database schema is not current: 8 migration(s) not applied (0001-initial, 0002-pin-life, 0003-outbox, 0004-verifier-key-ids, 0005-voice-mail-settings, 0006-audit-retention, 0007-lock-effect-keep, 0008-web-sessions); restart umpin to apply them',
      ));
    } finally {
      await client.query(`alter schema ${schema}_gone rename to ${schema}`);
    }
    assert.deepEqual(await get(service, '/readyz'), ready);
  });
});
