/**
 * The storage engines an end-to-end suite runs on (issue 6: "the same
 * behaviour on both engines"): SQLite in the data directory, and PostgreSQL
 * in a schema of its own. A suite wraps its describe in
 * `for (const engine of await testEngines())` and gives `database.env` to
 * the service, the CLI and every other process it starts.
 *
 * UMPIN_TEST_ENGINES=sqlite (or postgres) runs one engine only, for a quick
 * local loop; the normal run and CI run both.
 */
import { createTestSchema, postgresSkip } from './postgres.ts';

export type EngineName = 'sqlite' | 'postgres';

export interface TestDatabase {
  /** UMPIN_DATABASE_URL for PostgreSQL; nothing for SQLite, whose file lives in the data directory. */
  readonly env: Readonly<Record<string, string>>;
  dispose(): Promise<void>;
}

export interface TestEngine {
  readonly name: EngineName;
  /** For describe's `skip`: why this engine does not run here, or false. In CI PostgreSQL is never skipped: `database()` fails with the reason instead. */
  readonly skip: string | false;
  /** A new, empty database; `suite` (a lower-case identifier) names a PostgreSQL schema after its suite. */
  database(suite: string): Promise<TestDatabase>;
}

const sqlite: TestEngine = {
  name: 'sqlite',
  skip: false,
  database: () => Promise.resolve({ env: {}, dispose: () => Promise.resolve() }),
};

export async function testEngines(): Promise<TestEngine[]> {
  const all: TestEngine[] = [sqlite, {
    name: 'postgres',
    skip: await postgresSkip(),
    async database(suite) {
      const schema = await createTestSchema(suite);
      return { env: { UMPIN_DATABASE_URL: schema.url }, dispose: () => schema.drop() };
    },
  }];
  const only = process.env.UMPIN_TEST_ENGINES?.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (only === undefined || only.length === 0) return all;
  const unknown = only.filter((name) => !all.some((engine) => engine.name === name));
  if (unknown.length > 0) throw new TypeError(`UMPIN_TEST_ENGINES: unknown engine ${unknown.join(', ')}; use sqlite, postgres or both`);
  return all.filter((engine) => only.includes(engine.name));
}
