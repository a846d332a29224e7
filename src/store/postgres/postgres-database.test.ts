/**
 * The pool against a real PostgreSQL whose connections are cut under it (a
 * restart, pg_terminate_backend, a firewall or proxy that forgets a
 * connection): the process must not die of the error, the query in flight
 * fails with it, and the next query gets a fresh connection.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestSchema, postgresSkip, type TestSchema } from '../../../test/support/postgres.ts';
import { openPostgresDatabase, type PostgresDatabase } from './postgres-database.ts';

/** A TCP relay to the real server that can reset every client connection at once, as a firewall that forgets them. */
async function startRelay(target: { readonly hostname: string; readonly port: number }) {
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.hostname);
    clients.add(client);
    client.on('close', () => { clients.delete(client); upstream.destroy(); });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    resetAll: () => { for (const client of clients) client.resetAndDestroy(); },
    close: () => server.close(),
  };
}

describe('openPostgresDatabase', { skip: await postgresSkip() }, () => {
  let schema: TestSchema;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let opened: PostgresDatabase;
  before(async () => {
    schema = await createTestSchema('umpin_pgdb');
    const url = new URL(schema.url);
    relay = await startRelay({ hostname: url.hostname, port: Number(url.port || 5432) });
    url.port = String(relay.port);
    opened = await openPostgresDatabase(url.toString());
  });
  after(async () => {
    await opened?.db.destroy();
    relay?.close();
    await schema?.drop();
  });

  const backendPid = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(opened.db)).rows[0]?.pid as number;

  it('a connection reset during a query fails that query, not the process; the next query is answered on a new connection', async () => {
    const before = await backendPid();
    // The connection is handed out (the pool does not listen to it then) when the reset arrives:
    // an uncaught 'error' event on it ended the process.
    const inFlight = sql`select pg_sleep(5)`.execute(opened.db);
    await sleep(200);
    relay.resetAll();
    await assert.rejects(inFlight, (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET');
    await sleep(50); // anything else the reset sets off happens now, under this test
    const after = await backendPid();
    assert.notEqual(after, before, 'a new server process answers');
  });

  it('idle connections the server terminates are dropped; the next query is answered on a new one', async () => {
    const pids = await Promise.all([backendPid(), backendPid(), backendPid()]);
    await schema.query(`select pg_terminate_backend(pid) from unnest(array[${pids.join(',')}]::int[]) as pid`);
    await sleep(100); // the pool hears of it
    assert.ok(!pids.includes(await backendPid()));
  });
});
