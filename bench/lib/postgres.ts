/** The PostgreSQL database the bench's PostgreSQL loads run on, made for the run and dropped after it. */
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../../src/config.ts';
import { redactUrl } from '../../src/lib/redact-url.ts';
import { log } from './log.ts';

/** The PostgreSQL server the bench may create a database on; the default is the local one the store tests use. */
export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PostgresDatabase {
  readonly url: string;
  readonly name: string;
  drop(): void;
}

/**
 * A new, empty database for this run (dropped at the end), or why there is
 * none: umpin's configuration refuses PostgreSQL (issue 6), or no server
 * answers. Uses the psql client, so the bench needs no PostgreSQL driver.
 */
export function freshPostgresDatabase(env: Record<string, string>): PostgresDatabase | { unavailable: string } {
  try {
    loadConfig({ ...env, UMPIN_DATABASE_URL: POSTGRES_ADMIN_URL });
  } catch (error) {
    return { unavailable: `umpin does not support PostgreSQL yet (issue 6); its configuration says "${(error as Error).message}"` };
  }
  const psql = (sql: string) => execFileSync('psql', [POSTGRES_ADMIN_URL, '-v', 'ON_ERROR_STOP=1', '-Atqc', sql], {
    stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000, env: { ...process.env, PGCONNECT_TIMEOUT: '3' },
  });
  const name = `umpin_bench_${process.pid}_${Date.now().toString(36)}`;
  try {
    psql(`CREATE DATABASE ${name}`);
  } catch (error) {
    const reason = ((error as { stderr?: Buffer }).stderr?.toString('utf8') || (error as Error).message).trim().split('\n')[0];
    return { unavailable: `no PostgreSQL reachable at ${redactUrl(POSTGRES_ADMIN_URL)} to create a database on (set BENCH_POSTGRES_URL): ${reason}` };
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop() {
      try {
        psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch (error) {
        log(`could not drop the PostgreSQL database ${name}: ${(error as Error).message}`);
      }
    },
  };
}
