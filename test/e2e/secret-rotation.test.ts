/**
 * Rotating the server secret (issue 7, docs/secret-rotation.md) with the real CLI and the real
 * service, on SQLite and PostgreSQL: a populated database (passwords, PINs, PIN history, an API key,
 * a queued PIN mail), `umpin secret rotate`, then a service restarted with the new keyring. Nothing a
 * user holds stops working, verifiers move to the new key as they are used, and the old key leaves
 * the ring only once nothing needs it.
 */
import assert from 'node:assert/strict';
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createApiKey } from '../../src/operations/api-keys.ts';
import { deliverDueMail, listOutbox, retryOutboxMail } from '../../src/operations/outbox.ts';
import type { KeyUsage, SecretStatus } from '../../src/operations/rotate-secret.ts';
import {
  assertRun, listMailFiles, makeDataDir, newPinMails, postSoap, provisionMailbox, runUmpin, snapshotState, startTestService, REQUEST_XML, type TestService,
} from '../support/service.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';

const PASSWORDS = { alice: 'pw-alice', bob: 'pw-bob', dave: 'pw-dave' } as const;
type Login = keyof typeof PASSWORDS;

/** A loopback port nothing listens on: a relay there refuses the connection, which the outbox retries. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One stage of a story told in one test: a subtest, so a failure names its stage, that returns what the
 * later stages need. A failed stage ends the story there, since every later stage builds on it.
 */
async function stage<T>(t: TestContext, name: string, run: () => Promise<T>): Promise<T> {
  // `as`: a plain declaration would be narrowed to `undefined`, since TypeScript does not see the subtest assign it.
  let outcome = undefined as { value: T } | undefined;
  await t.test(name, async () => { outcome = { value: await run() }; });
  assert.ok(outcome, `the stage "${name}" failed, and the later stages build on it`);
  return outcome.value;
}

for (const engine of await testEngines()) describe(`secret rotation (${engine.name})`, { skip: engine.skip, timeout: 300_000 }, () => {
  let database: TestDatabase | undefined;
  let dataDir: string;
  let service: TestService | undefined;
  let env: Record<string, string>;
  let apiKey: string;
  let oldKeyLine: string;
  let oldKeyId: string;
  const pins = new Map<Login, string>();
  let aliceFirstPin: string;

  const secretFile = () => join(dataDir, 'secret.key');
  const pickupDir = () => join(dataDir, 'pickup');
  const runWith = (args: string[], extra: Record<string, string>) => runUmpin(args, { ...env, ...extra });
  const status = async (): Promise<SecretStatus> => {
    const result = await runWith(['secret', 'status', '--json'], {});
    assertRun(result, 0);
    return JSON.parse(result.stdout) as SecretStatus;
  };
  const usage = (s: SecretStatus, keyId: string) => {
    const { role, passwords, pins, history, pending, apiKeys, sealedMail } = s.keys.find((k) => k.keyId === keyId) as KeyUsage;
    return { role, passwords, pins, history, pending, apiKeys, sealedMail };
  };

  async function call(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${(service as TestService).url}/tui/v1/${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  async function resetBySoap(login: Login): Promise<string> {
    const before = await listMailFiles(pickupDir());
    const answer = await postSoap((service as TestService).endpoint, await readFile(REQUEST_XML), { login, password: PASSWORDS[login] });
    assert.equal(answer.status, 200, answer.body);
    const [mail] = await newPinMails(pickupDir(), before);
    assert.ok(mail, `a reset mail for ${login}`);
    return mail.pin;
  }

  before(async () => {
    database = await engine.database('e2e_secret_rotation');
    dataDir = await makeDataDir();
    service = await startTestService(database.env, dataDir);
    env = service.env;
    for (const login of ['alice', 'bob'] as const) pins.set(login, await provisionMailbox(service, login, PASSWORDS[login]));
    // alice's welcome PIN goes to her history, made under the old key.
    aliceFirstPin = pins.get('alice') as string;
    const before = await listMailFiles(pickupDir());
    assertRun(await service.umpin(['pin', 'reset', 'alice']), 0);
    pins.set('alice', (await newPinMails(pickupDir(), before))[0]?.pin as string);
    apiKey = await createApiKey(service.services, 'pbx');
    // dave's welcome mail finds no relay (a closed port on loopback): it waits in the outbox, sealed.
    assertRun(await service.umpin(['user', 'add', 'dave', '--password-stdin'], 'pw-dave\n'), 0);
    const relay = `smtp://127.0.0.1:${await closedPort()}?tls=off`;
    assertRun(await runWith(['mailbox', 'enable', 'dave', '--email', 'dave@example.com', '--extension', '44001'], { UMPIN_SMTP_URL: relay }), 0, { stdout: /queued/ });
    assert.equal(await service.services.store.countQueuedMail(), 1);
    oldKeyLine = (await readFile(secretFile(), 'utf8')).trim();
    oldKeyId = service.services.keyring.keyId;
  });
  after(async () => {
    await service?.close();
    await rm(dataDir, { recursive: true, force: true });
    await database?.dispose();
  });

  // One story, so one test: each stage builds on what the one before it left (the rotated file, the key the
  // database is bound to, the PINs the old instance made), and the test runs alone (docs/testing.md).
  it('rotate, an instance on the old file, a restart on the new ring, retire', async (t) => {
    const newKeyId = await stage(t, 'rotate writes the new ring, re-seals the queued mail, rebinds the database and says what to do next', async () => {
      const before = await status();
      assert.deepEqual(before.keys.map((k) => [k.keyId, k.role]), [[oldKeyId, 'current']]);
      assert.deepEqual(usage(before, oldKeyId), { role: 'current', passwords: 3, pins: 2, history: 1, pending: 1, apiKeys: 1, sealedMail: 1 });

      const rotated = await runWith(['secret', 'rotate'], {});
      assertRun(rotated, 0, { stdout: /re-sealed 1 queued PIN mail; the database is bound to [0-9a-f]{16}\.\nNext: copy this file to every instance/ });
      const lines = (await readFile(secretFile(), 'utf8')).trim().split('\n');
      assert.equal(lines.length, 2);
      assert.equal(lines[1], oldKeyLine, 'the old key is kept, second');
      assert.notEqual(lines[0], oldKeyLine);
      assert.equal((await stat(secretFile())).mode & 0o777, 0o600);

      const after = await status();
      const newKeyId = after.currentKeyId;
      assert.match(rotated.stdout, new RegExp(`key ${newKeyId} is now current, ${oldKeyId}`));
      assert.equal(after.boundKeyId, newKeyId);
      assert.deepEqual(usage(after, newKeyId), { role: 'current', passwords: 0, pins: 0, history: 0, pending: 0, apiKeys: 0, sealedMail: 1 });
      assert.deepEqual(usage(after, oldKeyId), { role: 'previous', passwords: 3, pins: 2, history: 1, pending: 1, apiKeys: 1, sealedMail: 0 }, 'verifiers stay where they were');
      const audit = await runWith(['audit', '--json'], {});
      assert.match(audit.stdout, new RegExp(`"event":"secret.rotate","outcome":"success".*"from":"${oldKeyId}","to":"${newKeyId}"`));
      return newKeyId;
    });

    await stage(t, 'an instance still running with the old file keeps working: what it makes, the new ring verifies', async () => {
      const running = service as TestService;
      assert.equal(running.services.keyring.keyId, oldKeyId, 'this instance still holds the old ring');
      assert.equal((await call('logon', { mailbox: 'bob', pin: pins.get('bob') })).body.result, 'ok');
      pins.set('bob', await resetBySoap('bob'));
      assert.deepEqual(await running.services.store.findActivePinVerifier('bob').then((v) => v?.keyId), oldKeyId, 'made under its current (the old) key');
    });

    await stage(t, 'the old one-key file is refused at start, saying the secret was rotated', async () => {
      await service?.close();
      service = undefined;
      const oldFile = join(dataDir, 'old-secret.key');
      await writeFile(oldFile, `${oldKeyLine}\n`, { mode: 0o600 });
      await chmod(oldFile, 0o600);
      const refused = await runWith(['secret', 'status'], { UMPIN_SECRET_FILE: oldFile });
      assertRun(refused, 2, {
        stderr: `umpin: configuration: UMPIN_SECRET_FILE: ${oldFile} is not the secret this database was created with or rotated to (the file's key id is ${oldKeyId}; ` +
          `the database is bound to key id ${newKeyId}, which the file does not hold). If the secret was rotated ("umpin secret rotate"), copy the rotated file to this host and start again`,
      });
      assert.equal(refused.stdout, '');
    });

    await stage(t, 'after a restart with the new ring, every PIN, password, API key and queued mail still works, and each moves to the new key when used', async () => {
      service = await startTestService(database?.env ?? {}, dataDir);
      const { store } = service.services;
      assert.equal(service.services.keyring.keyId, newKeyId);

      // The queued mail, sealed under the old key and re-sealed by the rotation, goes out with the PIN its verifier holds.
      const before = await listMailFiles(pickupDir());
      const [queued] = await listOutbox(service.services);
      await retryOutboxMail(service.services, (queued as { id: string }).id); // due now, not after the first retry wait
      assert.deepEqual((await deliverDueMail(service.services)).results.map((r) => [r.login, r.status]), [['dave', 'Sent']]);
      const [welcome] = await newPinMails(pickupDir(), before);
      assert.equal(welcome?.to, 'dave@example.com');
      pins.set('dave', welcome?.pin as string);

      for (const login of ['alice', 'bob', 'dave'] as const) {
        assert.deepEqual(await call('logon', { mailbox: login, pin: pins.get(login) }), { status: 200, body: { result: 'ok', mustChange: true } }, login);
        assert.equal((await store.findActivePinVerifier(login))?.keyId, newKeyId, `${login}'s PIN re-made under the new key at logon`);
      }
      assert.equal((await store.findApiKeyVerifier(apiKey.split('_')[1] as string))?.keyId, newKeyId, 'the API key re-made at its first use');

      // The history made under the old key still refuses alice's first PIN, and nothing changes.
      const unchanged = await snapshotState(service, ['alice']);
      const history = await call('change-pin', { mailbox: 'alice', oldPin: pins.get('alice'), newPin: aliceFirstPin });
      assert.equal(history.status, 422);
      assert.deepEqual(history.body.rules, [{ id: 'pin.history', message: 'A PIN may not be one of your recent PINs.' }]);
      const { mailboxes, mails } = (await snapshotState(service, ['alice'])) as { mailboxes: unknown; mails: unknown };
      assert.deepEqual({ mailboxes, mails }, { mailboxes: (unchanged as { mailboxes: unknown }).mailboxes, mails: (unchanged as { mails: unknown }).mails });
      assert.deepEqual(await call('logon', { mailbox: 'alice', pin: '000000' }), { status: 200, body: { result: 'wrong-pin', mustChange: false } }, 'a wrong PIN is still wrong');

      // A wrong password is still refused; the right one signs in and is re-made under the new key.
      const wrong = await postSoap(service.endpoint, await readFile(REQUEST_XML), { login: 'alice', password: 'pw-wrong' });
      assert.equal(wrong.status, 401);
      for (const login of ['alice', 'bob', 'dave'] as const) {
        const pin = await resetBySoap(login);
        assert.equal((await store.findPassword(login))?.keyId, newKeyId, `${login}'s password re-made at sign-in`);
        assert.equal((await store.findActivePinVerifier(login))?.keyId, newKeyId, `${login}'s new PIN made under the new key`);
        assert.equal((await call('logon', { mailbox: login, pin })).body.result, 'ok', `${login}'s new PIN`);
      }
      // alice's first PIN and bob's welcome PIN (retired by the old instance) cannot be re-made: they age out.
      assert.deepEqual(usage(await status(), oldKeyId), { role: 'previous', passwords: 0, pins: 0, history: 2, pending: 0, apiKeys: 0, sealedMail: 0 });
    });

    await stage(t, 'retire is refused while the old key protects anything, and accepted once nothing uses it', async () => {
      const ring = await readFile(secretFile(), 'utf8');
      const refused = await runWith(['secret', 'retire', oldKeyId], {});
      assertRun(refused, 1, { stderr: `Key ${oldKeyId} still protects 2 remembered PINs. Each is re-made under the current key when used` });
      assert.equal(await readFile(secretFile(), 'utf8'), ring, 'the file is untouched');
      assertRun(await runWith(['secret', 'retire', newKeyId], {}), 1, { stderr: `${newKeyId} is the current key` });
      assertRun(await runWith(['secret', 'retire', 'nonsense'], {}), 2, { stderr: '"nonsense" is not a key id' });

      // alice's and bob's mailboxes (and with them those remembered PINs) go; now nothing uses the old key.
      for (const login of ['alice', 'bob']) assertRun(await runWith(['mailbox', 'disable', login], {}), 0);
      const retired = await runWith(['secret', 'retire', oldKeyId], {});
      assertRun(retired, 0, { stdout: `Retired key ${oldKeyId}. ${secretFile()} now holds ${newKeyId}.` });
      assert.deepEqual((await readFile(secretFile(), 'utf8')).trim().split('\n'), [ring.trim().split('\n')[0]]);
      assert.equal((await stat(secretFile())).mode & 0o777, 0o600);
      const after = await status();
      assert.deepEqual(after.keys.map((k) => [k.keyId, k.role]), [[newKeyId, 'current']]);

      // The service, restarted with the one-key ring, still serves everyone left.
      await service?.close();
      service = await startTestService(database?.env ?? {}, dataDir);
      await resetBySoap('dave');
    });
  });
});
