/**
 * Issue 7's log audit: after resets, phone checks, failures and admin
 * work, no log line, CLI output, audit row or database byte holds any
 * issued PIN or any password in clear. PINs are 10 digits here, so a match
 * by chance (in a UUID, a timestamp, random bytes) is out of the question.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listMailFiles, newPinMails, makeDataDir, postSoap, REQUEST_XML, runUmpin, startServeProcess, type CliResult, type ServeProcess } from '../support/service.ts';

const PASSWORDS = new Map([['nina', 'Nina-pw-7f3a9c'], ['omar', 'Omar-pw-b21e04']]);

describe('no PIN or password in clear anywhere but the mail', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: ServeProcess;
  const cliOutput: CliResult[] = [];
  const secrets = new Set<string>(PASSWORDS.values());

  const umpin = async (args: string[], input?: string) => {
    const result = await runUmpin(args, env, input);
    cliOutput.push(result);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return result;
  };

  before(async () => {
    dataDir = await makeDataDir();
    env = { UMPIN_DATA_DIR: dataDir, UMPIN_LOG_LEVEL: 'debug' };
    await umpin(['policy', 'new', 'long', '--min-pin-length', '10']);
    for (const [login, password] of PASSWORDS) {
      await umpin(['user', 'add', login, '--password-stdin'], `${password}\n`);
      await umpin(['mailbox', 'enable', login, '--email', `${login}@example.com`, '--extension', login === 'nina' ? '5101' : '5102', '--policy', 'long']);
    }
    const key = (await umpin(['apikey', 'add', 'pbx'])).stdout.trim();
    server = await startServeProcess(env);
    const request = await readFile(REQUEST_XML);
    const pickup = join(dataDir, 'pickup');
    const phone = (path: string, body: object) => fetch(`${server.url}/tui/v1/${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });

    assert.equal((await postSoap(server.endpoint, request, { login: 'nina', password: PASSWORDS.get('nina') })).status, 200);
    const mailsBefore = await listMailFiles(pickup);
    assert.equal((await postSoap(server.endpoint, request, { login: 'nina', password: PASSWORDS.get('nina') })).status, 200);
    const ninaPin = (await newPinMails(pickup, mailsBefore))[0]?.pin ?? '';
    assert.equal((await postSoap(server.endpoint, request, { login: 'nina', password: 'Wrong-pw-c0ffee' })).status, 401);
    secrets.add('Wrong-pw-c0ffee');
    assert.deepEqual(await (await phone('logon', { mailbox: 'nina', pin: ninaPin })).json(), { result: 'ok', mustChange: true });
    assert.deepEqual(await (await phone('logon', { mailbox: 'nina', pin: '9081726354' })).json(), { result: 'wrong-pin', mustChange: false });
    secrets.add('9081726354');
    assert.deepEqual(await (await phone('change-pin', { mailbox: 'nina', oldPin: ninaPin, newPin: '5829173046' })).json(), { result: 'ok' });
    secrets.add('5829173046');
    assert.equal((await phone('change-pin', { mailbox: 'nina', oldPin: '5829173046', newPin: '1234567890' })).status, 422);
    await umpin(['pin', 'reset', 'omar', '--pin-stdin', '--no-email'], '7395018264\n');
    secrets.add('7395018264');
    await umpin(['pin', 'reset', 'omar']);
    await umpin(['pin', 'show', 'omar', '--json']);
    await umpin(['audit', '--json']);
    for (const mail of await newPinMails(pickup, [])) secrets.add(mail.pin);
    await server.stop();
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  const assertClean = (where: string, text: string) => {
    for (const secret of secrets) assert.ok(!text.includes(secret), `${where} holds a PIN or password`);
  };

  it('issued many PINs (the check has something to find)', () => {
    assert.ok(secrets.size >= 10, `${secrets.size} secrets`);
  });

  it('not in the service log', () => {
    const log = server.output();
    assert.ok(log.split('\n').filter((l) => l.includes('"msg"')).length >= 8, 'the log has lines');
    assertClean('the service log', log);
  });

  it('not in any CLI output', () => {
    for (const result of cliOutput) assertClean('CLI output', result.stdout + result.stderr);
  });

  it('not in any byte of the database or its WAL, nor in the secret file', async () => {
    for (const file of await readdir(dataDir)) {
      if (file === 'pickup') continue;
      const bytes = await readFile(join(dataDir, file));
      assertClean(file, bytes.toString('latin1'));
      assertClean(`${file} (UTF-16)`, bytes.toString('utf16le'));
    }
  });
});
