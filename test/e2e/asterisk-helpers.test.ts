/**
 * `umpin asterisk-passcheck` and `umpin asterisk-setpin`, spawned as an EMULATED
 * app_voicemail spawns its externpasscheck and externpass commands
 * (test/support/asterisk-voicemail-emulation.ts, written from app_voicemail.c:
 * execv with the argument order mailbox context oldpw newpw, one read() of the
 * output; /bin/sh -c with context mailbox newpw), against a running umpin and a
 * stopped one.
 */
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiKey } from '../../src/operations/api-keys.ts';
import { runExternPass, runExternPassCheck, separateAppArgs } from '../support/asterisk-voicemail-emulation.ts';
import { freePort } from '../support/net.ts';
import { isActivePin, listMailFiles, provisionMailbox, snapshotState, startTestService, UMPIN_BIN, type TestService } from '../support/service.ts';

/** Asterisk's own environment: nothing of umpin's, a PATH on which `env node` finds Node. */
const ASTERISK_ENV = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: '/nonexistent' };
/** app_voicemail's placeholder from voicemail.conf (`2001 => 7f3kq9xw,…`): what it passes as oldpw. */
const PLACEHOLDER = '7f3kq9xw';

describe('Asterisk PIN-change helpers, spawned as an emulated app_voicemail spawns them (not Asterisk)', () => {
  let service: TestService;
  let extension: string;
  let clientFile: string;
  let downFile: string;
  let openFile: string;
  const passcheck = (file: string) => `${UMPIN_BIN} asterisk-passcheck --client-file ${file}`;
  const setpin = (file: string) => `${UMPIN_BIN} asterisk-setpin --client-file ${file}`;

  before(async () => {
    service = await startTestService();
    await provisionMailbox(service, 'hal', 'pw-hal');
    extension = (await service.services.store.findMailbox('hal'))?.extension ?? '';
    const key = await createApiKey(service.services, 'asterisk');
    clientFile = join(service.dataDir, 'umpin-client.conf');
    await writeFile(clientFile, `# for Asterisk's helpers\nurl=${service.url}\nkey=${key}\n`, { mode: 0o600 });
    downFile = join(service.dataDir, 'umpin-down.conf');
    await writeFile(downFile, `url=http://127.0.0.1:${await freePort()}\nkey=${key}\n`, { mode: 0o600 });
    openFile = join(service.dataDir, 'umpin-open.conf');
    await writeFile(openFile, `url=${service.url}\nkey=${key}\n`);
    await chmod(openFile, 0o644);
  });
  after(async () => {
    await service?.close();
  });

  it('the emulation splits the command as AST_NONSTANDARD_APP_ARGS does: empty oldpw kept as a word', () => {
    assert.deepEqual(separateAppArgs('/usr/bin/umpin asterisk-passcheck 2001 default  482916'), ['/usr/bin/umpin', 'asterisk-passcheck', '2001', 'default', '', '482916']);
  });

  it('externpasscheck: VALID for a PIN the policy takes, INVALID naming the rules otherwise; nothing changes', async () => {
    const before = await snapshotState(service, ['hal']);
    const vmu = { mailbox: extension, context: 'default', password: PLACEHOLDER };
    assert.deepEqual(await runExternPassCheck(passcheck(clientFile), vmu, '582047', ASTERISK_ENV), { output: 'VALID\n', accepted: true });
    assert.deepEqual(await runExternPassCheck(passcheck(clientFile), vmu, '1234', ASTERISK_ENV), { output: 'INVALID: pin.too-short pin.sequential\n', accepted: false });
    const empty = await runExternPassCheck(passcheck(clientFile), { ...vmu, password: '' }, '582047', ASTERISK_ENV);
    assert.equal(empty.output, 'VALID\n', 'an empty placeholder leaves an empty word, and the helper still reads its arguments right');
    assert.deepEqual(await snapshotState(service, ['hal']), before, 'a dry run stores, counts and mails nothing');
  });

  it('externpasscheck fails closed: umpin stopped, a file others may read, an unknown mailbox — INVALID, never FAILURE', async () => {
    const vmu = { mailbox: extension, context: 'default', password: PLACEHOLDER };
    const down = await runExternPassCheck(passcheck(downFile), vmu, '582047', ASTERISK_ENV);
    assert.match(down.output, /^INVALID: umpin at http:\/\/127\.0\.0\.1:\d+ did not answer \(ECONNREFUSED\)\n$/);
    assert.equal(down.accepted, false);
    const open = await runExternPassCheck(passcheck(openFile), vmu, '582047', ASTERISK_ENV);
    assert.match(open.output, /^INVALID: .*umpin-open\.conf may be read by others \(mode 644\); chmod 600 it\n$/);
    const unknown = await runExternPassCheck(passcheck(clientFile), { ...vmu, mailbox: '99999' }, '582047', ASTERISK_ENV);
    assert.deepEqual(unknown, { output: 'INVALID: mailbox-not-found\n', accepted: false });
    for (const verdict of [down, open, unknown]) assert.ok(!/^failure/i.test(verdict.output));
  });

  it('externpass: exit 0 only once umpin committed the PIN (no mail, audited without the PIN); non-zero otherwise', async () => {
    const vmu = { context: 'default', mailbox: extension };
    const mails = await listMailFiles(service.config.pickupDir);
    const changed = await runExternPass(setpin(clientFile), vmu, '691304', ASTERISK_ENV);
    assert.deepEqual(changed, { changed: true, stderr: '' });
    assert.equal(await isActivePin(service.services, 'hal', '691304'), true);
    assert.deepEqual(await listMailFiles(service.config.pickupDir), mails, 'the caller chose it: no mail');
    const audit = (await service.services.store.listAudit({ login: 'hal' })).filter((e) => e.event === 'pin.change');
    assert.equal(audit.at(-1)?.outcome, 'success');
    assert.ok(!JSON.stringify(audit).includes('691304'));

    const before = await snapshotState(service, ['hal']);
    const refused = await runExternPass(setpin(clientFile), vmu, '691304', ASTERISK_ENV);
    assert.equal(refused.changed, false);
    assert.match(refused.stderr, /the PIN was not changed: pin\.history/);
    const down = await runExternPass(setpin(downFile), vmu, '702415', ASTERISK_ENV);
    assert.equal(down.changed, false);
    assert.match(down.stderr, /the PIN was not changed: umpin at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    assert.deepEqual(await snapshotState(service, ['hal']), before);
    assert.equal(await isActivePin(service.services, 'hal', '691304'), true);
  });
});
