/**
 * The FastAGI listener against an EMULATED Asterisk (test/support/asterisk-agi-emulation.ts,
 * written from res_agi.c: no Asterisk package exists for this machine). Asserts what the
 * dialplan sees (the channel variables), what the caller hears (the prompts), and what is
 * stored: one failure counter with POST /tui/v1/logon across separate calls, lockout, the
 * must-change dialog, a hang-up mid-dialog that changes nothing, the allowlist, bounded
 * lines and reads, and no PIN in any log line.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { startAgiServer, type AgiServer } from '../../src/agi/agi-server.ts';
import { setMailbox } from '../../src/operations/admin/mailboxes.ts';
import { newPolicy } from '../../src/operations/admin/policies.ts';
import { createApiKey } from '../../src/operations/api-keys.ts';
import { phoneChangePin } from '../../src/operations/phone.ts';
import type { Logger, Services } from '../../src/operations/services.ts';
import { emulateAsteriskCall, type CallerEntry } from '../support/asterisk-agi-emulation.ts';
import { isActivePin, provisionMailbox, provisionMailboxInProcess, snapshotState, startServeProcess, startTestService, makeDataDir, runUmpin, type TestService } from '../support/service.ts';

/** Every line the service logs, at every level, kept to look for digits in. */
function capturingLogger(lines: string[]): Logger {
  const keep = (level: string) => (object: object, message?: string) => {
    lines.push(`${level} ${message ?? ''} ${JSON.stringify(object, (_key, value: unknown) => (value instanceof Error ? { message: value.message, stack: value.stack } : value))}`);
  };
  return { info: keep('info'), warn: keep('warn'), error: keep('error') };
}

describe('FastAGI listener, against an emulated Asterisk (res_agi.c protocol emulation, not Asterisk)', () => {
  let service: TestService;
  let services: Services;
  let agi: AgiServer;
  let key: string;
  const logLines: string[] = [];
  const pins = new Map<string, string>();
  const extensions = new Map<string, string>();
  const typedPins = new Set<string>();

  const call = (script: string, entries: CallerEntry[], args?: string[], extra: { hangUpBeforeCommand?: number } = {}) => {
    for (const entry of entries) if ('digits' in entry) typedPins.add(entry.digits);
    return emulateAsteriskCall(agi.address.port, { url: `agi://127.0.0.1:${agi.address.port}/${script}`, entries, ...(args ? { args } : {}), ...extra });
  };
  const httpLogon = async (extension: string, pin: string) => {
    const response = await fetch(`${service.url}/tui/v1/logon`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ mailbox: extension, context: 'default', pin }).toString(),
    });
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  };

  before(async () => {
    service = await startTestService();
    services = { ...service.services, log: capturingLogger(logLines) };
    for (const login of ['amy', 'ben', 'cal', 'dot', 'eve', 'fay']) {
      pins.set(login, await provisionMailbox(service, login, `pw-${login}`));
      extensions.set(login, (await service.services.store.findMailbox(login))?.extension ?? '');
    }
    key = await createApiKey(service.services, 'asterisk');
    agi = await startAgiServer(services, { agi: { listen: { host: '127.0.0.1', port: 0 }, allow: ['127.0.0.1', '::1'], readTimeoutMs: 1500 }, extensionContexts: ['default'] });
  });
  after(async () => {
    await agi?.close();
    await service?.close();
  });

  // Each mailbox belongs to one test (those made above, or one the test makes
  // with provision), so each test runs alone (--test-name-pattern) and none
  // logs on with a PIN another test chose.
  async function provision(login: string): Promise<void> {
    pins.set(login, await provisionMailboxInProcess(service, login, `pw-${login}`));
    extensions.set(login, (await service.services.store.findMailbox(login))?.extension ?? '');
  }
  // Every test's typed PINs are checked against every log line once it ends, so
  // the check covers each test whether it runs alone or with the others.
  afterEach(() => {
    for (const pin of typedPins) {
      if (pin.length < 4) continue;
      const leaking = logLines.find((line) => line.includes(pin));
      assert.equal(leaking, undefined, `a log line holds a typed PIN: ${leaking}`);
    }
  });

  /** A mailbox whose PIN was chosen by its user, so it need not change: returns that PIN. */
  async function settle(login: string, pin: string): Promise<string> {
    const answer = await phoneChangePin(service.services, { mailbox: login }, pins.get(login) ?? '', pin, { address: '127.0.0.1' });
    assert.equal(answer.result, 'ok');
    pins.set(login, pin);
    typedPins.add(pin);
    return pin;
  }

  it('logon with the mailbox as argument: ok, UMPIN_MAILBOX and UMPIN_CONTEXT set for VoiceMailMain(…,s)', async () => {
    const pin = await settle('amy', '482916');
    const ext = extensions.get('amy') ?? '';
    const result = await call('logon', [{ digits: pin }], [ext]);
    assert.deepEqual(result.commands, [
      'SET VARIABLE UMPIN_RESULT "error"', 'SET VARIABLE UMPIN_MAILBOX ""', 'SET VARIABLE UMPIN_CONTEXT ""',
      'GET DATA vm-password 6000 24',
      `SET VARIABLE UMPIN_MAILBOX "${ext}"`, 'SET VARIABLE UMPIN_CONTEXT "default"', 'SET VARIABLE UMPIN_RESULT "ok"',
    ]);
    assert.deepEqual(Object.fromEntries(result.variables), { UMPIN_RESULT: 'ok', UMPIN_MAILBOX: ext, UMPIN_CONTEXT: 'default' });
    assert.equal(result.closedByServer, true, 'umpin ends the AGI so the dialplan goes on');
  });

  it('asks for the mailbox when the dialplan gives none, takes box@context, and accepts digits typed before a timeout', async () => {
    await provision('ann');
    const pin = await settle('ann', '538172');
    const ext = extensions.get('ann') ?? '';
    const asked = await call('logon', [{ timeout: '' }, { digits: ext }, { timeout: pin }]);
    assert.deepEqual(asked.prompts, ['vm-login', 'vm-login', 'vm-password']);
    assert.equal(asked.variables.get('UMPIN_RESULT'), 'ok');
    const qualified = await call('logon', [{ digits: pin }], [`${ext}@default`]);
    assert.deepEqual(Object.fromEntries(qualified.variables), { UMPIN_RESULT: 'ok', UMPIN_MAILBOX: ext, UMPIN_CONTEXT: 'default' });
    const otherContext = await call('logon', [{ digits: pin }, { digits: pin }, { digits: pin }], [ext, 'sales']);
    assert.equal(otherContext.variables.get('UMPIN_RESULT'), 'wrong-pin', 'a context that is not mapped to extensions names no umpin mailbox');
    assert.equal(otherContext.variables.get('UMPIN_MAILBOX'), '');
  });

  it('three wrong PINs in a call: wrong-pin, vm-incorrect between tries, no mailbox handed to the dialplan', async () => {
    await settle('ben', '639027');
    const before = (await service.services.store.findMailbox('ben'))?.failedLogons ?? -1;
    const result = await call('logon', [{ digits: '111000' }, { digits: '*' }, { digits: '222000' }], [extensions.get('ben') ?? '']);
    assert.deepEqual(result.prompts, ['vm-password', 'vm-incorrect', 'vm-password', 'vm-incorrect', 'vm-password']);
    assert.deepEqual(Object.fromEntries(result.variables), { UMPIN_RESULT: 'wrong-pin', UMPIN_MAILBOX: '', UMPIN_CONTEXT: '' });
    assert.equal((await service.services.store.findMailbox('ben'))?.failedLogons, before + 2, 'the "*" entry is no guess; the two PINs count');
  });

  it('one failure counter across separate AGI calls and POST /tui/v1/logon, up to lockout', async () => {
    await settle('cal', '750481');
    await newPolicy(service.services, 'agi-lock-at-5', { maxLogonAttempts: 5, logonFailuresBeforePinReset: null });
    await setMailbox(service.services, 'cal', { policy: 'agi-lock-at-5' });
    const ext = extensions.get('cal') ?? '';
    const failed = async () => (await service.services.store.findMailbox('cal'))?.failedLogons;

    const first = await call('logon', [{ digits: '100001' }, { digits: '100002' }, { hangup: true }], [ext]);
    assert.equal(first.variables.get('UMPIN_RESULT'), 'error', 'a caller who hangs up leaves the fail-closed value');
    assert.equal(await failed(), 2);
    assert.deepEqual(await httpLogon(ext, '100003'), { status: 200, body: { result: 'wrong-pin', mustChange: false } });
    assert.equal(await failed(), 3);
    const second = await call('logon', [{ digits: '100004' }, { digits: '100005' }, { digits: pins.get('cal') ?? '' }], [ext]);
    assert.deepEqual(Object.fromEntries(second.variables), { UMPIN_RESULT: 'locked-out', UMPIN_MAILBOX: '', UMPIN_CONTEXT: '' });
    assert.deepEqual(second.prompts, ['vm-password', 'vm-incorrect', 'vm-password'], 'locked at the fifth failure: no third try');
    assert.equal((await service.services.store.findMailbox('cal'))?.lockedOut, true);
    const third = await call('logon', [{ digits: pins.get('cal') ?? '' }], [ext]);
    assert.equal(third.variables.get('UMPIN_RESULT'), 'locked-out', 'the right PIN does not open a locked mailbox');
    assert.deepEqual(await httpLogon(ext, pins.get('cal') ?? ''), { status: 200, body: { result: 'locked-out', mustChange: false } });
  });

  it('the must-change dialog with Asterisk\'s prompts: invalid, mismatch, then changed', async () => {
    const ext = extensions.get('dot') ?? '';
    const welcome = pins.get('dot') ?? '';
    const chosen = '860273';
    const result = await call('logon', [
      { digits: welcome }, // mustChange: the welcome PIN is expired by design
      { digits: '1234' }, // too short and sequential
      { digits: welcome }, // in the history
      { digits: chosen }, { digits: '860274' }, // mismatch
      { digits: chosen }, { digits: chosen },
    ], [ext]);
    assert.deepEqual(result.prompts, [
      'vm-password',
      'vm-newpassword', 'vm-invalid-password', 'vm-pls-try-again',
      'vm-newpassword', 'vm-invalid-password', 'vm-pls-try-again',
      'vm-newpassword', 'vm-reenterpassword', 'vm-mismatch',
    ], 'three tries of the dialog are spent: the PIN is not changed');
    assert.equal(result.variables.get('UMPIN_RESULT'), 'not-changed');
    assert.equal(await isActivePin(service.services, 'dot', welcome), true);

    const again = await call('logon', [{ digits: welcome }, { digits: chosen }, { digits: chosen }], [ext]);
    assert.deepEqual(again.prompts, ['vm-password', 'vm-newpassword', 'vm-reenterpassword', 'vm-passchanged']);
    assert.deepEqual(Object.fromEntries(again.variables), { UMPIN_RESULT: 'ok', UMPIN_MAILBOX: ext, UMPIN_CONTEXT: 'default' });
    assert.equal(await isActivePin(service.services, 'dot', chosen), true);
    typedPins.add(chosen);
    assert.deepEqual(await httpLogon(ext, chosen), { status: 200, body: { result: 'ok', mustChange: false } });
  });

  it('a hang-up anywhere in the dialog, even right after the second entry, changes nothing', async () => {
    const ext = extensions.get('eve') ?? '';
    const welcome = pins.get('eve') ?? '';
    const cases: Array<{ entries: CallerEntry[]; hangUpBeforeCommand?: number }> = [
      { entries: [{ digits: welcome }, { hangup: true }] },
      { entries: [{ digits: welcome }, { digits: '593018' }, { hangup: true }] },
      { entries: [{ digits: welcome }, { digits: '593018' }, { digits: '593018', thenHangUp: true }] },
      // HANGUP inline while umpin checks the new PIN: the re-entry prompt then meets a dead channel (511)
      { entries: [{ digits: welcome }, { digits: '593018' }, { digits: '593018' }], hangUpBeforeCommand: 5 },
    ];
    for (const { entries, hangUpBeforeCommand } of cases) {
      const before = await snapshotState(service, ['eve']);
      const result = await call('logon', entries, [ext], hangUpBeforeCommand === undefined ? {} : { hangUpBeforeCommand });
      assert.equal(result.variables.get('UMPIN_RESULT'), 'error', JSON.stringify(entries));
      assert.deepEqual(await snapshotState(service, ['eve']), before, 'no PIN, no pending change, no mail');
      assert.equal(await isActivePin(service.services, 'eve', welcome), true);
    }
  });

  it('change-pin asks for the current PIN, then the same dialog; a wrong current PIN counts', async () => {
    const old = await settle('fay', '307158');
    const ext = extensions.get('fay') ?? '';
    const wrong = await call('change-pin', [{ digits: '999000' }, { digits: '999001' }, { digits: '999002' }], [ext]);
    assert.equal(wrong.variables.get('UMPIN_RESULT'), 'wrong-pin');
    assert.equal((await service.services.store.findMailbox('fay'))?.failedLogons, 3);
    const result = await call('change-pin', [{ digits: old }, { digits: '418305' }, { digits: '418305' }], [ext]);
    assert.deepEqual(result.prompts, ['vm-password', 'vm-newpassword', 'vm-reenterpassword', 'vm-passchanged']);
    assert.equal(result.variables.get('UMPIN_RESULT'), 'ok');
    typedPins.add('418305');
    assert.equal(await isActivePin(service.services, 'fay', '418305'), true);
    assert.equal((await service.services.store.findMailbox('fay'))?.failedLogons, 0);
  });

  it('an unknown script gets UMPIN_RESULT=error and the session ends', async () => {
    const result = await call('voicemail', []);
    assert.deepEqual(result.commands, ['SET VARIABLE UMPIN_RESULT "error"']);
    assert.equal(result.closedByServer, true);
  });

  it('a peer outside UMPIN_AGI_ALLOW is closed on before a byte is read', async () => {
    await provision('abe');
    const pin = await settle('abe', '615038');
    const narrow = await startAgiServer(services, { agi: { listen: { host: '127.0.0.1', port: 0 }, allow: ['127.0.0.2'], readTimeoutMs: 1500 }, extensionContexts: ['default'] });
    try {
      const url = `agi://127.0.0.1:${narrow.address.port}/logon`;
      const refused = await emulateAsteriskCall(narrow.address.port, { url, entries: [{ digits: pin }], args: [extensions.get('abe') ?? ''] });
      assert.deepEqual(refused.commands, []);
      assert.ok(logLines.some((line) => line.includes('refused a FastAGI connection') && line.includes('"peer":"127.0.0.1"')));
      const allowed = await emulateAsteriskCall(narrow.address.port, { url, entries: [{ digits: pin }], args: [extensions.get('abe') ?? ''] }, { localAddress: '127.0.0.2' });
      assert.equal(allowed.variables.get('UMPIN_RESULT'), 'ok');
    } finally {
      await narrow.close();
    }
  });

  it('an oversized line, an endless line and a silent peer are cut off without a command', async () => {
    const url = `agi://127.0.0.1:${agi.address.port}/logon`;
    const oversized = await emulateAsteriskCall(agi.address.port, { url, entries: [], rawEnvironment: `agi_network: yes\nagi_request: ${'x'.repeat(9000)}\n\n` });
    assert.deepEqual(oversized.commands, []);
    const endless = await emulateAsteriskCall(agi.address.port, { url, entries: [], rawEnvironment: 'agi_network: yes\nagi_request: '.padEnd(20_000, 'y') });
    assert.deepEqual(endless.commands, []);
    const started = Date.now();
    const silent = await emulateAsteriskCall(agi.address.port, { url, entries: [], rawEnvironment: 'agi_network: yes\n' });
    assert.deepEqual(silent.commands, []);
    assert.ok(Date.now() - started >= 1400, 'dropped after the read timeout, not before');
    const notAgi = await emulateAsteriskCall(agi.address.port, { url, entries: [], rawEnvironment: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' });
    assert.deepEqual(notAgi.commands, []);
    assert.ok(logLines.some((line) => line.includes('"reason":"line-too-long"')));
    assert.ok(logLines.some((line) => line.includes('"reason":"timeout"')));
  });

  it('no PIN typed in any of these calls is in any log line', async () => {
    // Its own calls of every kind (each test's own are checked after it, above).
    await provision('gus');
    const welcome = pins.get('gus') ?? '';
    const ext = extensions.get('gus') ?? '';
    const linesBefore = logLines.length;
    await call('logon', [{ digits: welcome }, { digits: '1234' }, { digits: '720385' }, { digits: '720386' }, { digits: '720385' }, { digits: '720385' }], [ext]);
    await call('logon', [{ digits: '720385' }], [ext]);
    await call('logon', [{ digits: '100001' }, { digits: '100002' }, { hangup: true }], [ext]);
    await call('change-pin', [{ digits: '720385' }, { digits: '941627' }, { digits: '941627' }], [ext]);
    assert.equal(await isActivePin(service.services, 'gus', '941627'), true, 'the calls did what a caller meant');
    assert.ok(logLines.length - linesBefore > 3, 'the sessions were logged');
    for (const pin of typedPins) {
      if (pin.length < 4) continue;
      const leaking = logLines.find((line) => line.includes(pin));
      assert.equal(leaking, undefined, `a log line holds a typed PIN: ${leaking}`);
    }
  });
});

describe('`umpin serve` with UMPIN_AGI_LISTEN (emulated Asterisk, not Asterisk)', () => {
  it('serves the logon script, refuses no one on loopback, and logs no digit at trace level', async () => {
    const dataDir = await makeDataDir();
    const env = { UMPIN_DATA_DIR: dataDir, UMPIN_LOG_LEVEL: 'silent' };
    await runUmpin(['user', 'add', 'gus', '--password-stdin'], env, 'pw-gus\n');
    const added = await runUmpin(['mailbox', 'enable', 'gus', '--email', 'gus@example.com', '--extension', '4711'], env);
    assert.equal(added.code, 0, added.stderr);
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: chosen } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(chosen));
      });
    });
    const serve = await startServeProcess({ UMPIN_DATA_DIR: dataDir, UMPIN_LOG_LEVEL: 'trace', UMPIN_AGI_LISTEN: `127.0.0.1:${port}` });
    try {
      const url = `agi://127.0.0.1:${port}/logon`;
      const result = await emulateAsteriskCall(port, { url, args: ['4711'], entries: [{ digits: '604719' }, { digits: '604720' }, { digits: '604721' }] });
      assert.equal(result.variables.get('UMPIN_RESULT'), 'wrong-pin');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const output = serve.output();
      assert.match(output, /FastAGI listener for Asterisk is up/);
      assert.match(output, /FastAGI PIN script ended/);
      for (const pin of ['604719', '604720', '604721']) assert.ok(!output.includes(pin), `the log holds ${pin}`);
    } finally {
      await serve.stop();
    }
  });
});
