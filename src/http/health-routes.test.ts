/**
 * /healthz, /readyz and /metrics through `app.inject()`: their answers over
 * the real services (SQLite in a temporary directory, Prometheus metrics as
 * `umpin serve` has them), and /readyz's reasons with a store that is not
 * ready, on a bare Fastify instance.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { NO_METRICS } from '../observability/metrics.ts';
import type { Services } from '../operations/services.ts';
import { openHttpHarness } from '../../test/support/http.ts';
import { READY_TIMEOUT_MS, registerHealthRoutes } from './health-routes.ts';

const TEXT = 'text/plain; charset=utf-8';

async function get(app: { inject: (options: { method: 'GET'; url: string }) => Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }> }, url: string) {
  const response = await app.inject({ method: 'GET', url });
  return { status: response.statusCode, type: response.headers['content-type'], cacheControl: response.headers['cache-control'], body: response.body };
}

/** The health routes alone, over a store whose checkReady does what the test says. */
async function withStore(checkReady: () => Promise<{ pendingMigrations: string[] }>, test: (app: ReturnType<typeof Fastify>) => Promise<void>): Promise<void> {
  const app = Fastify();
  registerHealthRoutes(app, { store: { checkReady }, metrics: NO_METRICS } as unknown as Services);
  try {
    await test(app);
  } finally {
    await app.close();
  }
}

describe('health routes over the real services', () => {
  it('/healthz and /readyz answer in plain text, never cached; /metrics is Prometheus text that counts service requests only', async () => {
    const h = await openHttpHarness({ metrics: true });
    try {
      assert.deepEqual(await get(h.app, '/healthz'), { status: 200, type: TEXT, cacheControl: 'no-store', body: 'ok\n' });
      assert.deepEqual(await get(h.app, '/readyz'), { status: 200, type: TEXT, cacheControl: 'no-store', body: 'ready\n' });
      assert.equal((await get(h.app, '/EWS/UM2007Legacy.asmx?wsdl')).status, 200);
      const metrics = await get(h.app, '/metrics');
      assert.deepEqual({ ...metrics, body: undefined }, { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', cacheControl: 'no-store', body: undefined });
      const requests = metrics.body.split('\n').filter((line) => line.startsWith('umpin_http_requests_total'));
      assert.deepEqual(requests, ['umpin_http_requests_total{operation="wsdl",outcome="success"} 1'], 'the health routes are not counted');
      for (const family of ['umpin_pin_changes_total', 'umpin_pin_checks_total', 'umpin_lockouts_total', 'umpin_mail_handoffs_total', 'umpin_outbox_deliveries_total', 'umpin_kdf_seconds', 'umpin_outbox_depth']) {
        assert.ok(metrics.body.includes(`# TYPE ${family} `), family);
      }
      assert.match(metrics.body, /^umpin_outbox_depth 0$/m);
    } finally {
      await h.close();
    }
  });

  it('/metrics in a process that collects none: 404 saying so', async () => {
    const h = await openHttpHarness();
    try {
      assert.deepEqual(await get(h.app, '/metrics'), { status: 404, type: TEXT, cacheControl: 'no-store', body: 'This process collects no metrics.\n' });
    } finally {
      await h.close();
    }
  });
});

describe('/readyz when the store is not ready', () => {
  it('a database that cannot be reached: 503, without the driver\'s message', async () => {
    await withStore(async () => { throw new Error('connect ECONNREFUSED postgres://umpin:secret@db:5432'); }, async (app) => {
      assert.deepEqual(await get(app, '/readyz'), { status: 503, type: TEXT, cacheControl: 'no-store', body: 'not ready: the database cannot be reached\n' });
      assert.deepEqual(await get(app, '/healthz'), { status: 200, type: TEXT, cacheControl: 'no-store', body: 'ok\n' }, 'the process still serves');
    });
  });

  it('migrations not applied: 503 naming them', async () => {
    await withStore(async () => ({ pendingMigrations: ['0007_api_keys', '0008_outbox'] }), async (app) => {
      assert.deepEqual(await get(app, '/readyz'), {
        status: 503, type: TEXT, cacheControl: 'no-store',
        body: 'not ready: the database schema is not current: 2 migration(s) not applied (0007_api_keys, 0008_outbox); restart umpin to apply them\n',
      });
    });
  });

  it(`a database that does not answer within ${READY_TIMEOUT_MS} ms: 503 once the deadline passes`, async () => {
    await withStore(() => new Promise(() => {}), async (app) => {
      const started = Date.now();
      assert.deepEqual(await get(app, '/readyz'), { status: 503, type: TEXT, cacheControl: 'no-store', body: `not ready: the database did not answer within ${READY_TIMEOUT_MS / 1000} s\n` });
      assert.ok(Date.now() - started >= READY_TIMEOUT_MS - 50, 'not before the deadline');
    });
  });
});
