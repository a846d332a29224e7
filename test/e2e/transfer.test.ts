/**
 * `umpin export` from a SQLite data directory populated through the real CLI and service, and
 * `umpin import` into a fresh PostgreSQL schema with the same secret file: every PIN, password and
 * API key still verifies there, history still refuses an old PIN, flags are kept. And every refusal
 * (pending changes, another secret, a corrupt or cut-short file, a non-empty target) writes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestSchema, postgresSkip, type TestSchema } from '../support/postgres.ts';
import {
  REQUEST_XML, assertRun, isActivePin, listMailFiles, makeDataDir, newPinMails, postSoap, provisionMailbox, runUmpin,
  snapshotState, startTestService, type TestService,
} from '../support/service.ts';
import { findRememberedPinVerifiers } from '../support/store-readers.ts';

const skip = await postgresSkip();

const LOGINS = ['alice', 'bob', 'carol'] as const;
const TABLES = ['users', 'mailboxes', 'pin_history', 'pending_pin_changes', 'api_keys', 'audit_events'] as const;

describe('moving a populated SQLite database to PostgreSQL', { skip }, () => {
  let source: TestService;
  let schema: TestSchema;
  let targetDir: string;
  let exportFile: string;
  let apiKey: string;
  const pins = new Map<string, string>();
  const oldPins = new Map<string, string>();
  const cleanUp: Array<() => Promise<void>> = [];

  before(async () => {
    source = await startTestService();
    cleanUp.push(() => source.close());
    schema = await createTestSchema('umpin_transfer');
    cleanUp.push(() => schema.drop());
    targetDir = await makeDataDir();
    cleanUp.push(() => rm(targetDir, { recursive: true, force: true }));
    exportFile = join(targetDir, 'umpin.jsonl');

    assertRun(await source.umpin(['policy', 'new', 'sales', '--min-pin-length', '8', '--pin-history-count', '3']), 0);
    for (const login of LOGINS) pins.set(login, await provisionMailbox(source, login, `pw-${login}-Tr4nsfer`));
    assertRun(await source.umpin(['user', 'add', 'eve', '--password-stdin'], 'pw-eve-Tr4nsfer'), 0);
    // alice: her own policy, two administrator PINs, the welcome PIN and the first in history.
    assertRun(await source.umpin(['mailbox', 'set', 'alice', '--policy', 'sales']), 0);
    assertRun(await source.umpin(['pin', 'reset', 'alice', '--pin-stdin', '--no-email'], '27183945\n'), 0);
    assertRun(await source.umpin(['pin', 'reset', 'alice', '--pin-stdin', '--no-email', '--expired', 'false'], '31415926\n'), 0);
    oldPins.set('alice', '27183945');
    pins.set('alice', '31415926');
    // bob: his own ResetPIN through the web service; the PIN comes from the mail.
    const mailsBefore = await listMailFiles(source.config.pickupDir);
    const reset = await postSoap(source.endpoint, await readFile(REQUEST_XML), { login: 'bob', password: 'pw-bob-Tr4nsfer' });
    assert.equal(reset.status, 200, reset.body);
    const [mail] = await newPinMails(source.config.pickupDir, mailsBefore);
    oldPins.set('bob', pins.get('bob') as string);
    pins.set('bob', (mail as { pin: string }).pin);
    // carol: locked out by the administrator.
    assertRun(await source.umpin(['pin', 'lock', 'carol']), 0);
    const added = await source.umpin(['apikey', 'add', 'pbx']);
    assertRun(added, 0);
    apiKey = added.stdout.trim();
    // bob: two wrong PINs by phone, counted.
    for (let i = 0; i < 2; i += 1) assert.deepEqual(await logon(source.url, 'bob', '00000000'), { result: 'wrong-pin', mustChange: false });
  });
  after(async () => {
    for (const step of cleanUp.reverse()) await step();
  });

  async function logon(base: string, mailbox: string, pin: string): Promise<unknown> {
    const response = await fetch(`${base}/tui/v1/logon`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify({ mailbox, pin }),
    });
    assert.equal(response.status, 200);
    return response.json();
  }

  const targetEnv = (extra: Record<string, string> = {}) => ({
    UMPIN_DATA_DIR: targetDir, UMPIN_DATABASE_URL: schema.url, UMPIN_SECRET_FILE: source.config.secretFile, UMPIN_LOG_LEVEL: 'silent', ...extra,
  });

  /** What an import must not have written: the data tables (when they exist) and the secret binding. */
  async function targetContents(): Promise<unknown> {
    const tables = (await schema.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = '${schema.name}'`)).map((t) => t.table_name);
    if (!tables.includes('users')) return { tables: tables.sort() };
    const counts: Record<string, number> = {};
    for (const table of TABLES) counts[table] = Number((await schema.query<{ n: string }>(`select count(*) as n from ${table}`))[0]?.n);
    return { counts, policies: await schema.query('select * from policies order by name'), meta: await schema.query('select * from umpin_meta') };
  }

  it('export is refused while a PIN mail waits in the outbox, writing no file; after "umpin outbox drop" it runs', async () => {
    const unreachableRelay = { UMPIN_SMTP_URL: 'smtp://127.0.0.1:1?tls=off' };
    assertRun(await runUmpin(['pin', 'reset', 'carol'], { ...source.env, ...unreachableRelay }), 0, { stdout: /queued/ });
    const before = await snapshotState(source, LOGINS);

    const refused = await source.umpin(['export', '--output', exportFile]);
    assertRun(refused, 1);
    assert.equal(refused.stderr,
      'umpin export: 1 PIN change is pending (a PIN mail waiting in the outbox or being handed off), and pending changes cannot be exported. ' +
      'Let the running service deliver them, or drop them with "umpin outbox drop <id>" ("umpin outbox" lists them); then stop the service and export again.\n');
    assert.equal(existsSync(exportFile), false);
    assert.deepEqual(await snapshotState(source, LOGINS), before);

    const [queued] = JSON.parse((await source.umpin(['outbox', '--json'])).stdout) as Array<{ id: string; status: string }>;
    assertRun(await source.umpin(['outbox', 'drop', (queued as { id: string }).id]), 0);

    const exported = await source.umpin(['export', '--output', exportFile]);
    assertRun(exported, 0, { stdout: /^Exported 2 policies, 4 users, 3 mailboxes, 3 PIN history entries, 1 API key, \d+ audit events from / });
    assert.equal((await stat(exportFile)).mode & 0o777, 0o600);
    const lines = (await readFile(exportFile, 'utf8')).trimEnd().split('\n');
    const header = JSON.parse(lines[0] as string);
    assert.deepEqual(Object.keys(header), ['format', 'version', 'keyId', 'exportedAt', 'engine', 'counts']);
    assert.equal(header.format, 'umpin-export');
    assert.equal(header.version, 1);
    assert.equal(header.keyId, await source.services.store.findServerKeyId());
    assert.equal(header.engine, 'sqlite');
    assert.equal(lines.length, 1 + Object.values(header.counts as Record<string, number>).reduce((a, b) => a + b, 0));
    const text = lines.join('\n');
    for (const login of [...LOGINS, 'eve']) assert.ok(!text.includes(`pw-${login}-Tr4nsfer`), 'no password in clear');
    assert.ok(!text.includes(apiKey.slice(-20)), 'no API key in clear');
  });

  // Each test below exports for itself (the first test's export is that test's
  // own), so each runs alone (--test-name-pattern).
  const exportNow = async (name: string): Promise<string> => {
    const file = join(targetDir, name);
    assertRun(await source.umpin(['export', '--output', file]), 0);
    return file;
  };

  it('import with another secret file is refused before anything is written', async () => {
    const exportFile = await exportNow('for-other-secret.jsonl');
    const otherSecret = join(targetDir, 'other.key');
    await writeFile(otherSecret, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const before = await targetContents();
    const result = await runUmpin(['import', exportFile], targetEnv({ UMPIN_SECRET_FILE: otherSecret }));
    assertRun(result, 1, { stderr: /^umpin import: The export was made with the server secret whose key id is [0-9a-f]{16}, but UMPIN_SECRET_FILE \(.+other\.key\) has key id [0-9a-f]{16}\. / });
    assert.match(result.stderr, /Point UMPIN_SECRET_FILE at a copy of the source's secret file and import again; nothing was imported\.\n$/);
    assert.deepEqual(await targetContents(), before);
    assert.deepEqual(before, { tables: [] }, 'not even the schema was created');
  });

  it('a corrupt line is refused with its number, and nothing is imported', async () => {
    const exportFile = await exportNow('for-corrupt.jsonl');
    const lines = (await readFile(exportFile, 'utf8')).split('\n');
    lines[3] = (lines[3] as string).slice(0, 25);
    const corrupt = join(targetDir, 'corrupt.jsonl');
    await writeFile(corrupt, lines.join('\n'));
    const result = await runUmpin(['import', corrupt], targetEnv());
    assertRun(result, 1);
    assert.equal(result.stderr, 'umpin import: Line 4 is not a valid export record (not a JSON object); nothing was imported. Export again, and do not edit the file.\n');
    assert.deepEqual(await targetContents(), {
      counts: Object.fromEntries(TABLES.map((t) => [t, 0])),
      policies: await schema.query("select * from policies where name = 'default'"),
      meta: [],
    });
  });

  it('a file cut short is refused by the counts in its header, and nothing is imported', async () => {
    const exportFile = await exportNow('for-short.jsonl');
    const lines = (await readFile(exportFile, 'utf8')).trimEnd().split('\n');
    const short = join(targetDir, 'short.jsonl');
    await writeFile(short, `${lines.slice(0, -1).join('\n')}\n`);
    const before = await targetContents();
    const result = await runUmpin(['import', short], targetEnv());
    assertRun(result, 1, { stderr: /^umpin import: The file holds \d+ audit records but its header announces \d+: it was cut short or edited\. Export again and import the whole file; nothing was imported\.\n$/ });
    assert.deepEqual(await targetContents(), before);
  });

  describe('after the import', () => {
    let target: TestService;
    let imported: string;

    before(async () => {
      imported = await exportNow('for-import.jsonl');
      const result = await runUmpin(['import', imported], targetEnv());
      assertRun(result, 0, { stdout: /^Imported 2 policies, 4 users, 3 mailboxes, 3 PIN history entries, 1 API key, \d+ audit events into postgres:\/\/.+, from a sqlite export of / });
      target = await startTestService(targetEnv({ UMPIN_LISTEN: '127.0.0.1:0' }), targetDir);
      cleanUp.push(() => target.close());
    });

    it('every mailbox, history, policy, API key and audit event is as it was on SQLite', async () => {
      for (const login of LOGINS) {
        assert.deepEqual(await target.services.store.findMailbox(login), await source.services.store.findMailbox(login), login);
        assert.deepEqual(await findRememberedPinVerifiers(target.services.store, login), await findRememberedPinVerifiers(source.services.store, login), login);
      }
      assert.equal((await target.services.store.findMailbox('carol'))?.lockedOut, true);
      assert.equal((await target.services.store.findMailbox('bob'))?.failedLogons, 2);
      assert.deepEqual(await target.services.store.listPolicies(), await source.services.store.listPolicies());
      assert.deepEqual(await target.services.store.listApiKeys(), await source.services.store.listApiKeys());
      const withoutIds = (events: ReadonlyArray<{ id: number }>) => events.map(({ id: _id, ...event }) => event);
      assert.deepEqual(withoutIds(await target.services.store.listAudit({ limit: 10_000 })), withoutIds(await source.services.store.listAudit({ limit: 10_000 })));
      assert.equal(await target.services.store.findServerKeyId(), await source.services.store.findServerKeyId());
    });

    it('every known PIN still verifies on PostgreSQL, through the phone API with the same API key', async () => {
      for (const login of LOGINS) assert.equal(await isActivePin(target.services, login, pins.get(login) as string), true, login);
      assert.deepEqual(await logon(target.url, 'alice', pins.get('alice') as string), { result: 'ok', mustChange: false });
      assert.deepEqual(await logon(target.url, 'bob', pins.get('bob') as string), { result: 'ok', mustChange: true });
      assert.deepEqual(await logon(target.url, 'carol', pins.get('carol') as string), { result: 'locked-out', mustChange: false });
    });

    it('history still refuses an old PIN, and the refusal changes nothing', async () => {
      const before = await snapshotState(target, ['alice']);
      const result = await target.umpin(['pin', 'reset', 'alice', '--pin-stdin', '--no-email'], oldPins.get('alice') as string);
      assertRun(result, 1, { stderr: /pin\.history/ });
      assert.deepEqual(await snapshotState(target, ['alice']), before);
    });

    it('passwords still verify: bob resets his PIN through the web service on PostgreSQL; eve signs in but has no mailbox', async () => {
      const mailsBefore = await listMailFiles(target.config.pickupDir);
      const reset = await postSoap(target.endpoint, await readFile(REQUEST_XML), { login: 'bob', password: 'pw-bob-Tr4nsfer' });
      assert.equal(reset.status, 200, reset.body);
      const [mail] = await newPinMails(target.config.pickupDir, mailsBefore);
      assert.equal(await isActivePin(target.services, 'bob', (mail as { pin: string }).pin), true);
      const eve = await postSoap(target.endpoint, await readFile(REQUEST_XML), { login: 'eve', password: 'pw-eve-Tr4nsfer' });
      assert.equal(eve.status, 500);
      assert.match(eve.body, /ErrorUserNotUnifiedMessagingEnabled/);
    });

    it('a second import into the now non-empty database is refused, and nothing changes', async () => {
      const before = await targetContents();
      const result = await runUmpin(['import', imported], targetEnv());
      assertRun(result, 1, { stderr: /^umpin import: The target database already holds data \(4 users, 3 mailboxes, \d+ PIN history entries, 1 API key, \d+ audit events, 1 policy besides "default"\); import fills a new, empty database only\. Point UMPIN_DATABASE_URL at a new PostgreSQL schema or database, or a new SQLite file, and import again; nothing was imported\.\n$/ });
      assert.deepEqual(await targetContents(), before);
    });
  });
});
