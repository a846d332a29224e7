/**
 * The installed command: what `npm ci` builds (its prepare script runs
 * scripts/build.mjs into dist/) and what `npm start` and `umpin` run
 * (bin/umpin.js). The other end-to-end tests run the TypeScript sources
 * through tsx; this one builds dist/ as `npm ci` does and checks that the
 * built CLI and server work, find their files that are not JavaScript (the
 * mail templates, the WSDL), and load no TypeScript: no compiler, no .ts
 * module. It also checks that a read command loads only what it uses.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  BUILT_UMPIN_BIN, REPO, REQUEST_XML, assertRun, listMailFiles, makeDataDir, newPinMails, postSoap, readPinMail, runUmpin, startServeProcess,
} from '../support/service.ts';

const RECORDER = join(REPO, 'test/fixtures/record-modules.mjs');

/** The modules a process loaded, as URLs relative to the checkout. */
async function loaded(log: string): Promise<string[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((url) => url.replace(`file://${REPO}`, ''));
}

function assertNoTypeScript(modules: readonly string[]): void {
  assert.ok(modules.some((m) => m.startsWith('dist/')), `the built modules ran:\n${modules.join('\n')}`);
  const typescript = modules.filter((m) => /\.[cm]?ts$/.test(m) || /node_modules\/(tsx|typescript|esbuild)\//.test(m));
  assert.deepEqual(typescript, [], 'no TypeScript source and no compiler is loaded');
}

describe('the built command (dist/, bin/umpin.js)', { timeout: 300_000 }, () => {
  let dataDir: string;
  let env: Record<string, string>;
  let logCount = 0;
  const withLog = () => join(dataDir, `modules-${logCount++}.log`);
  const umpin = async (args: readonly string[], input?: string) => {
    const log = withLog();
    const result = await runUmpin(args, { ...env, UMPIN_TEST_MODULE_LOG: log }, input, ['--import', RECORDER, BUILT_UMPIN_BIN]);
    return { result, modules: await loaded(log) };
  };

  before(async () => {
    // What `npm ci` runs (the prepare script); the build must succeed from a clean dist/.
    await promisify(execFile)(process.execPath, [join(REPO, 'scripts/build.mjs')], { cwd: REPO, timeout: 240_000 });
    dataDir = await makeDataDir();
    env = { UMPIN_DATA_DIR: dataDir, UMPIN_LOG_LEVEL: 'info', UMPIN_DATABASE_URL: '', UMPIN_SECRET_FILE: '', UMPIN_PICKUP_DIR: '', UMPIN_LISTEN: '', UMPIN_SMTP_URL: '', UMPIN_LDAP_URL: '', UMPIN_REDIS_URL: '' };
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('bin/umpin.js is the `umpin` command and `npm start`, and runs dist/', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    assert.equal(pkg.bin.umpin, 'bin/umpin.js');
    assert.equal(pkg.scripts.start, 'node bin/umpin.js serve');
    assert.match(pkg.scripts.prepare ?? '', /scripts\/build\.mjs/);
    assert.match(readFileSync(BUILT_UMPIN_BIN, 'utf8'), /import\('\.\.\/dist\/cli\/main\.js'\)/);
  });

  it('the CLI adds a user and a mailbox (welcome mail from the built-in template) and shows the PIN state, loading no TypeScript', async () => {
    const add = await umpin(['user', 'add', 'alice', '--password-stdin'], 'built password');
    assertRun(add.result, 0, { stdout: 'Added user alice.' });
    assertNoTypeScript(add.modules);

    const enable = await umpin(['mailbox', 'enable', 'alice', '--email', 'alice@example.com', '--extension', '4711', '--language', 'de']);
    assertRun(enable.result, 0, { stdout: /handed off to alice@example\.com/ });
    const [file] = await listMailFiles(join(dataDir, 'pickup'));
    assert.ok(file, 'a welcome mail was written');
    const mail = await readPinMail(join(dataDir, 'pickup', file));
    assert.equal(mail.headers.get('content-language'), 'de', 'the German template was found in dist/');
    assert.match(mail.text, /4711/);

    const show = await umpin(['pin', 'show', 'alice']);
    assertRun(show.result, 0, { stdout: /Has PIN\s+yes/ });
    assertNoTypeScript(show.modules);
    // A read command loads only what it uses: no HTTP server, mail composer, directory or Redis client, metrics, PostgreSQL driver.
    const unused = show.modules.filter((m) => /node_modules\/(fastify|nodemailer|ldapts|ioredis|prom-client|pg|pino|saxes)\//.test(m) || /^dist\/(http|soap)\//.test(m));
    assert.deepEqual(unused, [], '`umpin pin show` loads no module it does not use');
  });

  it('`umpin serve` from dist/ answers the WSDL and a ResetPIN (its mail from the built-in template), loading no TypeScript', async () => {
    // A mailbox of its own (through the built CLI), so that this test runs alone.
    assertRun((await umpin(['user', 'add', 'bob', '--password-stdin'], 'built password')).result, 0, { stdout: 'Added user bob.' });
    assertRun((await umpin(['mailbox', 'enable', 'bob', '--email', 'bob@example.com', '--extension', '4712'])).result, 0, { stdout: /handed off to bob@example\.com/ });
    const log = withLog();
    const server = await startServeProcess({ ...env, UMPIN_TEST_MODULE_LOG: log }, ['--import', RECORDER, BUILT_UMPIN_BIN]);
    try {
      const wsdl = await fetch(`${server.endpoint}?wsdl`);
      assert.equal(wsdl.status, 200);
      assert.match(await wsdl.text(), /<wsdl:definitions[\s\S]*ResetPIN/);

      const before = await listMailFiles(join(dataDir, 'pickup'));
      const reset = await postSoap(server.endpoint, readFileSync(REQUEST_XML), { login: 'bob', password: 'built password' });
      assert.equal(reset.status, 200, reset.body);
      assert.match(reset.body, /ResetPINResponse/);
      const [mail] = await newPinMails(join(dataDir, 'pickup'), before);
      assert.ok(mail, 'the reset mailed a new PIN');
      assert.equal(mail.to, 'bob@example.com');
      assert.match(mail.pin, /^\d{6,}$/);
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
    const modules = await loaded(log);
    assertNoTypeScript(modules);
    assert.deepEqual(modules.filter((m) => /node_modules\/(ldapts|ioredis|pg)\//.test(m)), [], 'no LDAP, Redis or PostgreSQL client without their settings');
  });
});
