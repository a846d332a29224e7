/**
 * DESIGN §2's invariant under a crash: no mailbox ends up with an active PIN
 * that no mail carried, and a pending change left by a dead process is
 * discarded at the next start (the old PIN stays).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { openServices, type OpenedServices } from '../../src/open-services.ts';
import { RESET_EFFECTS } from '../../src/operations/change-pin.ts';
import {
  REQUEST_XML, isActivePin, makeDataDir, newPinMails, postSoap, runUmpin, startServeProcess,
} from '../support/service.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';
import { countPendingPinChanges } from '../support/store-readers.ts';

const MAILBOXES = 8;

for (const engine of await testEngines()) describe(`crash recovery (${engine.name})`, { skip: engine.skip }, () => {
  let database: TestDatabase | undefined;
  let dataDir: string;
  let env: Record<string, string>;
  let opened: OpenedServices;
  const welcomePins = new Map<string, string>();

  before(async () => {
    dataDir = await makeDataDir();
    database = await engine.database('e2e_crash_recovery');
    env = { UMPIN_DATA_DIR: dataDir, ...database.env };
    const logins = Array.from({ length: MAILBOXES }, (_, i) => `user${i}`);
    // Separate CLI processes at once: on SQLite they take turns through its busy timeout.
    await Promise.all(logins.map(async (login, i) => {
      assert.equal((await runUmpin(['user', 'add', login, '--password-stdin'], env, `pw-${login}\n`)).code, 0);
      assert.equal((await runUmpin(['mailbox', 'enable', login, '--email', `${login}@example.com`, '--extension', `${2000 + i}`], env)).code, 0);
    }));
    for (const welcome of await newPinMails(`${dataDir}/pickup`, [])) welcomePins.set(welcome.to.split('@')[0] ?? '', welcome.pin);
    assert.equal(welcomePins.size, MAILBOXES);
    opened = await openServices(loadConfig(env), pino({ level: 'silent' }));
  });
  after(async () => {
    await opened?.close();
    await database?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('discards at start-up a pending change whose process was killed; the old PIN keeps working', async () => {
    const { store } = opened.services;
    const mailbox = await store.findMailbox('user0');
    assert.ok(mailbox);
    const dead = spawnSync(process.execPath, ['-e', '']).pid; // a process that has exited: its pid is free
    const id = randomUUID();
    assert.ok(await store.beginPinChange({
      id, login: 'user0', reason: 'reset', newPinVerifier: Buffer.alloc(32, 1), newPinLength: 6, sealedMail: Buffer.alloc(64), effects: RESET_EFFECTS, delivery: 'inline',
      baseGeneration: mailbox.pinGeneration, ownerHost: hostname(), ownerPid: dead,
      leaseUntil: new Date(Date.now() + 3_600_000), actor: 'user0', source: '127.0.0.1',
    }, new Date()));

    const server = await startServeProcess(env);
    try {
      assert.equal(await countPendingPinChanges(store, 'user0'), 0);
      assert.equal(await isActivePin(opened.services, 'user0', welcomePins.get('user0') ?? ''), true);
      const events = await store.listAudit({ login: 'user0' });
      assert.deepEqual(
        events.filter((e) => e.outcome === 'abandoned').map((e) => ({ event: e.event, actor: e.actor, source: e.source, pid: e.detail?.ownerPid })),
        [{ event: 'pin.reset', actor: 'system', source: 'recovery', pid: dead }],
      );
      assert.match(server.output(), /discarded an abandoned PIN change; the old PIN stays/);
    } finally {
      await server.stop();
    }
  });

  it('kill -9 during concurrent resets: after restart no pending change remains and every active PIN was mailed', async (t) => {
    const request = await readFile(REQUEST_XML);
    const server = await startServeProcess(env);
    const calls: Array<Promise<unknown>> = [];
    for (let round = 0; round < 6; round += 1) {
      for (let i = 0; i < MAILBOXES; i += 1) {
        calls.push(postSoap(server.endpoint, request, { login: `user${i}`, password: `pw-user${i}` }).catch(() => 'connection lost'));
      }
    }
    // Let some resets finish and others be in flight, then pull the plug.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await server.stop('SIGKILL'), null);
    await Promise.all(calls);
    const pendingAtCrash = await countPendingPinChanges(opened.services.store);
    t.diagnostic(`${pendingAtCrash} pending changes at the crash`);

    const restarted = await startServeProcess(env);
    try {
      assert.equal(await countPendingPinChanges(opened.services.store), 0, 'recovery resolved every pending change');
      const abandoned = (await opened.services.store.listAudit({})).filter((e) => e.outcome === 'abandoned' && e.source === 'recovery');
      assert.ok(abandoned.length >= pendingAtCrash, `${abandoned.length} abandoned ≥ ${pendingAtCrash} pending at the crash`);

      const mailedPins = new Map<string, string[]>();
      for (const mail of await newPinMails(`${dataDir}/pickup`, [])) {
        const login = mail.to.split('@')[0] ?? '';
        mailedPins.set(login, [...(mailedPins.get(login) ?? []), mail.pin]);
      }
      for (let i = 0; i < MAILBOXES; i += 1) {
        const login = `user${i}`;
        const candidates = mailedPins.get(login) ?? [];
        const active = await Promise.all(candidates.map((pin) => isActivePin(opened.services, login, pin)));
        assert.equal(active.filter(Boolean).length, 1, `${login}'s active PIN is exactly one of the ${candidates.length} PINs mailed to it`);
      }
      // The restarted service works.
      const after = await postSoap(restarted.endpoint, request, { login: 'user1', password: 'pw-user1' });
      assert.equal(after.status, 200);
    } finally {
      await restarted.stop();
    }
  });
});
