/**
 * The machine's PostgreSQL for tests (127.0.0.1:5432, database `test`, trust
 * auth as `postgres` or `root`), one schema per caller: test files run at
 * once and never see each other's rows, and dropping the schema removes
 * everything a test wrote. umpin reaches its schema through the URL's
 * search_path, as an operator would configure it (README, PostgreSQL).
 *
 * Each call opens and closes its own connection: a client left open would
 * keep the test file's process alive after its last test.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PEERS_REQUIRED, peerMissing, peerSkipReason } from './peers.ts';

export const POSTGRES_SERVER = '127.0.0.1:5432/test';
const POSTGRES_USERS = ['postgres', 'root'];

/** CI must run the PostgreSQL half (UMPIN_REQUIRE_PEERS=1); elsewhere a developer without the server still runs the rest. */
export const POSTGRES_REQUIRED = PEERS_REQUIRED;

export interface TestSchema {
  readonly name: string;
  /** The server's URL with `options=-c search_path=<name>`: give it to umpin as UMPIN_DATABASE_URL. */
  readonly url: string;
  /** Runs one SQL text in the schema on a connection of its own, as another client would. */
  query<T extends pg.QueryResultRow>(text: string): Promise<T[]>;
  /** Drops the schema and everything in it; a second call does nothing. */
  drop(): Promise<void>;
}

export type PostgresProbe = { readonly url: string; readonly unavailable?: undefined } | { readonly url?: undefined; readonly unavailable: string };

let probed: Promise<PostgresProbe> | undefined;

/** The URL of the first user that can connect (asked once per process), or why none could. */
export function probeTestPostgres(): Promise<PostgresProbe> {
  probed ??= (async () => {
    const hidden = await peerMissing('postgres');
    if (hidden !== undefined) return { unavailable: hidden };
    const failures: string[] = [];
    for (const user of POSTGRES_USERS) {
      const url = `postgres://${user}@${POSTGRES_SERVER}`;
      try {
        await withClient(url, () => Promise.resolve());
        return { url };
      } catch (error) {
        failures.push(`as ${user}: ${error instanceof Error ? error.message || String(error) : String(error)}`);
      }
    }
    return { unavailable: `no PostgreSQL at ${POSTGRES_SERVER} (${failures.join('; ')})` };
  })();
  return probed;
}

/**
 * For a suite's `skip`: false when PostgreSQL answers or is required (CI, where
 * the suite then fails with the reason), else the reason, tagged for the summary.
 */
export async function postgresSkip(): Promise<string | false> {
  const probe = await probeTestPostgres();
  return probe.unavailable === undefined || POSTGRES_REQUIRED ? false : peerSkipReason('postgres', probe.unavailable);
}

/** A new, empty schema; `prefix` names the suite, so a leftover of a killed run says where it came from. */
export async function createTestSchema(prefix: string): Promise<TestSchema> {
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(prefix)) throw new TypeError(`"${prefix}" is not a lower-case identifier of at most 31 characters`);
  const server = await probeTestPostgres();
  if (server.unavailable !== undefined) throw new Error(server.unavailable);
  // pid and random: files running at once, and a leftover, never collide.
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(server.url, (client) => client.query(`create schema ${name}`));
  let dropped = false;
  const url = `${server.url}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
  return {
    name,
    url,
    query: async <T extends pg.QueryResultRow>(text: string) => withClient(url, async (client) => (await client.query<T>(text)).rows),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(server.url, (client) => client.query(`drop schema if exists ${name} cascade`));
    },
  };
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}
