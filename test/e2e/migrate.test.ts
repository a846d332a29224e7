/**
 * `umpin migrate` through the real CLI, on SQLite and on the machine's PostgreSQL: it names what it
 * applied, a second run does nothing, two at once apply each migration once, and --check tells a
 * deploy script by its exit code. And a database that cannot be reached is one typed sentence on
 * standard error, never a stack trace or a password.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createTestSchema, postgresSkip, type TestSchema } from '../support/postgres.ts';
import { assertRun, makeDataDir, runUmpin } from '../support/service.ts';

const MIGRATIONS = ['0001-initial', '0002-pin-life', '0003-outbox', '0004-verifier-key-ids', '0005-voice-mail-settings', '0006-audit-retention', '0007-lock-effect-keep', '0008-web-sessions'];
const APPLIED_ALL = `${MIGRATIONS.map((name) => `applied  ${name}\n`).join('')}`;

const skipPostgres = await postgresSkip();

const dirs: string[] = [];
const schemas: TestSchema[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  for (const schema of schemas) await schema.drop();
});

async function freshDataDir(): Promise<string> {
  const dir = await makeDataDir();
  dirs.push(dir);
  return dir;
}

/** `umpin migrate --check`'s table for a database where `applied` of the migrations have run. */
function checkTable(stdout: string): string[][] {
  return stdout.trim().split('\n').slice(1, 1 + MIGRATIONS.length).map((line) => line.split(/\s{2,}/));
}

describe('umpin migrate on SQLite', () => {
  it('--check reports every migration pending (exit 1) and changes nothing; migrate applies them; again is a no-op; --check then passes', async () => {
    const dir = await freshDataDir();
    const env = { UMPIN_DATA_DIR: dir };
    const file = join(dir, 'umpin.sqlite');

    const before = await runUmpin(['migrate', '--check'], env);
    assertRun(before, 1, { stderr: `umpin migrate: 8 migrations are pending on ${file} (0001-initial, 0002-pin-life, 0003-outbox, 0004-verifier-key-ids, 0005-voice-mail-settings, 0006-audit-retention, 0007-lock-effect-keep, 0008-web-sessions); run "umpin migrate".\n` });
    assert.deepEqual(checkTable(before.stdout), MIGRATIONS.map((name) => [name, 'pending', '-']));

    const first = await runUmpin(['migrate'], env);
    assertRun(first, 0);
    assert.equal(first.stdout, `${APPLIED_ALL}${file} is up to date.\n`);
    assert.equal(first.stderr, '');

    const second = await runUmpin(['migrate'], env);
    assertRun(second, 0);
    assert.equal(second.stdout, `${file} is up to date; no migration was pending.\n`);

    const check = await runUmpin(['migrate', '--check'], env);
    assertRun(check, 0, { stdout: `${file} is up to date.\n` });
    for (const [name, status, at] of checkTable(check.stdout)) {
      assert.ok(MIGRATIONS.includes(name as string));
      assert.equal(status, 'applied');
      assert.match(at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.equal(existsSync(join(dir, 'secret.key')), false, 'migrate needs no secret and makes none');
  });

  it('a database file that cannot be opened is one sentence naming it, exit 1', async () => {
    const dir = await freshDataDir();
    // A directory where the database file should be.
    const result = await runUmpin(['migrate'], { UMPIN_DATA_DIR: dir, UMPIN_DATABASE_URL: `sqlite:${dir}` });
    assertRun(result, 1, { stderr: `umpin migrate: Cannot open the SQLite database ${dir} (` });
    assert.match(result.stderr, /check UMPIN_DATABASE_URL or UMPIN_DATA_DIR, and that this user may read and write the file and its directory\.\n$/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});

describe('umpin migrate on PostgreSQL', { skip: skipPostgres }, () => {
  async function freshSchema(): Promise<TestSchema> {
    const schema = await createTestSchema('umpin_migrate');
    schemas.push(schema);
    return schema;
  }

  it('two at once on a fresh schema: both succeed, each migration is applied exactly once', async () => {
    const schema = await freshSchema();
    const env = { UMPIN_DATA_DIR: await freshDataDir(), UMPIN_DATABASE_URL: schema.url };
    const runs = await Promise.all([runUmpin(['migrate'], env), runUmpin(['migrate'], env)]);
    for (const run of runs) assertRun(run, 0);
    const applied = runs.flatMap((run) => [...run.stdout.matchAll(/^applied {2}(\S+)$/gm)].map((m) => m[1]));
    assert.deepEqual(applied.sort(), MIGRATIONS, `${runs[0]?.stdout}\n${runs[1]?.stdout}`);

    const recorded = await schema.query<{ name: string }>('select name from umpin_migration order by name');
    assert.deepEqual(recorded.map((r) => r.name), MIGRATIONS);
    const policies = await schema.query<{ name: string }>('select name from policies');
    assert.deepEqual(policies.map((p) => p.name), ['default'], 'the first migration\'s default policy exists once');

    const again = await runUmpin(['migrate'], env);
    assertRun(again, 0, { stdout: /is up to date; no migration was pending\.\n$/ });
    assertRun(await runUmpin(['migrate', '--check'], env), 0, { stdout: /is up to date\.\n$/ });
  });

  it('--check on a fresh schema exits 1 and creates nothing', async () => {
    const schema = await freshSchema();
    const result = await runUmpin(['migrate', '--check'], { UMPIN_DATA_DIR: await freshDataDir(), UMPIN_DATABASE_URL: schema.url });
    assertRun(result, 1, { stderr: / 8 migrations are pending on postgres:\/\/.+ \(0001-initial, 0002-pin-life, 0003-outbox, 0004-verifier-key-ids, 0005-voice-mail-settings, 0006-audit-retention, 0007-lock-effect-keep, 0008-web-sessions\); run "umpin migrate"\.\n$/ });
    const tables = await schema.query(`select table_name from information_schema.tables where table_schema = '${schema.name}'`);
    assert.deepEqual(tables, []);
  });
});

describe('a database that cannot be reached', () => {
  const url = 'postgres://umpin:s3cret-pw@127.0.0.1:1/umpin';
  const expected = (command: string) =>
    `umpin ${command}: Cannot connect to PostgreSQL at 127.0.0.1:1/umpin (connect ECONNREFUSED 127.0.0.1:1); ` +
    'check that the server is running and reachable, and that UMPIN_DATABASE_URL names the right host, port, database, user and password.\n';

  for (const args of [['mailbox', 'list'], ['serve'], ['migrate'], ['export'], ['pin', 'show', 'alice']]) {
    const command = args.slice(0, args[0] === 'pin' ? 2 : args.length).join(' ');
    it(`umpin ${args.join(' ')}: one sentence that says what to check, exit 1, no stack, no password, nothing created`, async () => {
      const dir = await freshDataDir();
      const result = await runUmpin(args, { UMPIN_DATA_DIR: dir, UMPIN_DATABASE_URL: url, UMPIN_LISTEN: '127.0.0.1:0', UMPIN_LOG_LEVEL: 'silent' });
      assertRun(result, 1);
      assert.equal(result.stderr, expected(command));
      assert.equal(result.stdout, '');
      assert.ok(!`${result.stdout}${result.stderr}`.includes('s3cret-pw'));
      assert.equal(existsSync(join(dir, 'secret.key')), false, 'no secret was made for a database never reached');
    });
  }
});
