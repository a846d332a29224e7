/**
 * integrations/freeswitch/umpin-voicemail.lua run by Debian's lua5.4 against a real
 * `umpin serve`, with FreeSWITCH's session object and mod_curl's `curl` API stood in
 * by a SHIM (test/support/freeswitch-shim.lua; NOT FreeSWITCH, which has no package
 * for this machine). The shim's curl performs the real HTTP request.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findExecutable, peerSkip } from '../support/peers.ts';
import { parseCurlApiArgs, runFreeswitchScript } from '../support/freeswitch-shim.ts';
import { freePort } from '../support/net.ts';
import { makeDataDir, provisionMailbox, REPO, runUmpin, startServeProcess, type ServeProcess, type TestService } from '../support/service.ts';

const SCRIPT = join(REPO, 'integrations/freeswitch/umpin-voicemail.lua');
const DOMAIN = 'pbx.example.com';

describe('FreeSWITCH Lua recipe under lua5.4, with a FreeSWITCH shim (not FreeSWITCH) and a real umpin serve', { skip: await peerSkip('lua') }, () => {
  const lua = findExecutable('lua5.4') as string;
  let serve: ServeProcess;
  let dataDir: string;
  let clientFile: string;
  let downFile: string;
  const env = () => ({ UMPIN_DATA_DIR: dataDir, UMPIN_LOG_LEVEL: 'silent', UMPIN_PBX_EXTENSION_CONTEXTS: DOMAIN });
  const pins = new Map<string, string>();
  const ids = new Map<string, string>();

  before(async () => {
    dataDir = await makeDataDir();
    // provisionMailbox drives the CLI against the data directory; the service object is only its handle on it.
    const cli = { umpin: (args: readonly string[], input?: string) => runUmpin(args, env(), input), config: { pickupDir: join(dataDir, 'pickup') } } as unknown as TestService;
    for (const [login, extension] of [['lia', '5101'], ['max', '5102'], ['ned', '5103'], ['oli', '5104']] as const) {
      pins.set(login, await provisionMailbox(cli, login, `pw-${login}`, extension));
      ids.set(login, extension);
    }
    const key = (await runUmpin(['apikey', 'add', 'freeswitch'], env())).stdout.trim();
    serve = await startServeProcess({ ...env(), UMPIN_LOG_LEVEL: 'trace' });
    clientFile = join(dataDir, 'umpin-client.conf');
    await writeFile(clientFile, `url=${serve.url}\nkey=${key}\n`, { mode: 0o600 });
    downFile = join(dataDir, 'umpin-down.conf');
    await writeFile(downFile, `url=http://127.0.0.1:${await freePort()}\nkey=${key}\n`, { mode: 0o600 });
  });
  after(async () => {
    await serve?.stop();
  });

  const run = (digits: string[], args: string[] = ['default', DOMAIN], file?: string) =>
    runFreeswitchScript(lua, SCRIPT, args, { digits, domain: DOMAIN, clientFile: file ?? clientFile });

  it('the shim reads curl arguments as mod_curl does: quoted header, URL-decoded form data', () => {
    assert.deepEqual(parseCurlApiArgs("http://127.0.0.1:8080/tui/v1/logon timeout 5 append_headers 'Authorization: Bearer umpin_x' post mailbox=5101&domain=a.b&pin=12%33"), {
      url: 'http://127.0.0.1:8080/tui/v1/logon', method: 'POST',
      headers: { authorization: 'Bearer umpin_x', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'mailbox=5101&domain=a.b&pin=123', timeoutSeconds: 5,
    });
  });

  it('a must-change PIN: umpin\'s dialog, then voicemail with its own check off', async () => {
    const id = ids.get('lia') ?? '';
    const result = await run([id, pins.get('lia') ?? '', '1234', '1234', '847261', '847261']);
    assert.deepEqual(result.events, [
      'answer',
      'prompt phrase:voicemail_enter_id:#',
      'prompt phrase:voicemail_enter_pass:#',
      'prompt phrase:voicemail_enter_pass:#', 'prompt phrase:voicemail_enter_pass:#', 'play phrase:voicemail_change_pass_fail',
      'prompt phrase:voicemail_enter_pass:#', 'prompt phrase:voicemail_enter_pass:#', 'play phrase:voicemail_change_pass_success',
      'set umpin_result=ok',
      `execute voicemail check auth default ${DOMAIN} ${id}`,
      'set umpin_result=ok',
      'end',
    ], result.stderr);
    // The new PIN is umpin's now: a second call logs on with it, no change asked.
    const again = await run([id, '847261']);
    assert.ok(again.events.includes(`execute voicemail check auth default ${DOMAIN} ${id}`));
    assert.ok(!again.events.some((e) => e.includes('change_pass')));
  });

  it('wrong PINs: fail_auth between tries, goodbye and hang-up, and the count is umpin\'s', async () => {
    const id = ids.get('max') ?? '';
    const result = await run([id, '000111', id, '000222', id, '000333'], ['default', DOMAIN]);
    assert.equal(result.events.filter((e) => e === 'play phrase:voicemail_fail_auth').length, 3);
    assert.deepEqual(result.events.slice(-4), ['set umpin_result=wrong-pin', 'play phrase:voicemail_goodbye', 'hangup', 'end']);
    assert.ok(!result.events.some((e) => e.startsWith('execute voicemail')));
    const shown = JSON.parse((await runUmpin(['pin', 'show', 'max', '--json'], env())).stdout) as { failedLogons: number };
    assert.equal(shown.failedLogons, 3);
  });

  it('umpin unreachable: the caller is refused, never let in', async () => {
    const result = await run([ids.get('ned') ?? '', pins.get('ned') ?? ''], ['default', DOMAIN], downFile);
    assert.ok(!result.events.some((e) => e.startsWith('execute voicemail')));
    assert.ok(result.events.includes('set umpin_result=error'));
    assert.ok(result.events.includes('hangup'));
  });

  it('a hang-up between the two entries of a new PIN changes nothing', async () => {
    const id = ids.get('ned') ?? '';
    const result = await run([id, pins.get('ned') ?? '', '592036', 'HANGUP']);
    assert.ok(!result.events.some((e) => e.startsWith('execute voicemail')));
    assert.equal(result.curlCalls.length, 1, 'only the logon reached umpin');
    const shown = JSON.parse((await runUmpin(['pin', 'show', 'ned', '--json'], env())).stdout) as { pinExpired: boolean };
    assert.equal(shown.pinExpired, true, 'the welcome PIN still stands, still to be changed');
  });

  it('no PIN in any log line of the script or of umpin serve at trace level', async () => {
    // A call of its own (the welcome PIN, a refused new PIN, a taken one), so that the log holds PINs to look for when this test runs alone.
    const changed = () => serve.output().split('"operation":"tui/change-pin","result":"ok"').length;
    const changedBefore = changed();
    const id = ids.get('oli') ?? '';
    const result = await run([id, pins.get('oli') ?? '', '1234', '1234', '930572', '930572']);
    assert.ok(result.events.includes(`execute voicemail check auth default ${DOMAIN} ${id}`), result.stderr);
    // umpin writes a request's line once the answer has gone out: wait for the last one of this call.
    for (let waited = 0; changed() === changedBefore && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const output = serve.output();
    assert.match(output, /"operation":"tui\/logon"/, 'the phone API requests were logged');
    for (const pin of [...pins.values(), '847261', '000111', '000222', '000333', '592036', '930572']) assert.ok(!output.includes(pin), `umpin logged ${pin}`);
  });
});
