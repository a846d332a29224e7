/**
 * Issue 7, crash test: `kill -9` of a real `umpin serve` while 500 resets
 * (one per mailbox, all sent at once) are in flight, after some have been
 * answered. After a restart (which recovers before it listens):
 * - every mailbox's active PIN is its welcome PIN or one a mail in the
 *   pickup directory carried, and a caller who was answered 200 has the PIN
 *   of their reset mail (DESIGN §2's invariant);
 * - no pending change is left, each one the crash left is audited as
 *   `abandoned`;
 * - SQLite's integrity and foreign-key checks pass, and the CLI reads the
 *   state.
 *
 * Environment, and why: all 500 callers are one loopback address, so
 * UMPIN_LIMIT_REQUESTS_PER_MINUTE is raised past 500; UMPIN_KDF_CONCURRENCY
 * is 8 so that the KDF queue (64 per slot: 512) holds every caller instead
 * of refusing most with ErrorServerBusy, which would leave little in flight
 * to crash into. Mailboxes are provisioned in-process (one password
 * verifier shared by all users, a welcome mail each) to keep the test short.
 * The data directory is on /dev/shm when there is one (see `before`).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { openServices, type OpenedServices } from '../../src/open-services.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import {
  REQUEST_XML, assertRun, isActivePin, newPinMails, postSoap, runUmpin, startServeProcess, type PinMail,
} from '../support/service.ts';
import { countPendingPinChanges } from '../support/store-readers.ts';

const MAILBOXES = 500;
const PASSWORD = 'crash test password';
/** Answers to wait for before the kill: some resets complete, most are still in flight. */
const ANSWERED_BEFORE_KILL = 25;
const login = (i: number) => `crash${String(i).padStart(3, '0')}`;

type Outcome = { kind: 'answered'; status: number } | { kind: 'lost' };

/** Runs `task` over `items`, `width` at a time. */
async function inBatches<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) results.push(...(await Promise.all(items.slice(i, i + width).map(task))));
  return results;
}

describe('crash under 500 concurrent resets', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let opened: OpenedServices;
  const logins = Array.from({ length: MAILBOXES }, (_, i) => login(i));
  const welcomePins = new Map<string, string>();

  before(async () => {
    // Memory-backed when possible: kill -9 keeps the kernel's page cache, so fsync (which only matters for
    // power loss, not simulated here) would only slow the 500 provisionings and resets down.
    dataDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'umpin-crash-'));
    env = { UMPIN_DATA_DIR: dataDir, UMPIN_LIMIT_REQUESTS_PER_MINUTE: '100000', UMPIN_KDF_CONCURRENCY: '8' };
    opened = await openServices(loadConfig(env), pino({ level: 'silent' }));
    const { services } = opened;
    const verifier = await services.kdf.hashPassword(PASSWORD);
    const now = new Date();
    for (const name of logins) assert.equal(await services.store.addUser(name, verifier, now), true);
    await inBatches(logins, 50, (name) => enableMailbox(services, name, { email: `${name}@example.com`, extension: String(10_000 + Number(name.slice(5))) }));
    for (const mail of await newPinMails(`${dataDir}/pickup`, [])) welcomePins.set(mail.to.split('@')[0] ?? '', mail.pin);
    assert.equal(welcomePins.size, MAILBOXES, 'one welcome mail per mailbox');
  });
  after(async () => {
    await opened?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('kill -9 mid-flight, restart: every active PIN was mailed, nothing pending, the database intact', { timeout: 300_000 }, async (t) => {
    const { store } = opened.services;
    const request = await readFile(REQUEST_XML);
    const server = await startServeProcess(env);
    let answered = 0;
    let reachedThreshold: () => void = () => {};
    const threshold = new Promise<void>((resolve) => { reachedThreshold = resolve; });
    const outcomes = logins.map((name) =>
      postSoap(server.endpoint, request, { login: name, password: PASSWORD }).then(
        (call): Outcome => {
          answered += 1;
          if (answered >= ANSWERED_BEFORE_KILL) reachedThreshold();
          return { kind: 'answered', status: call.status };
        },
        (): Outcome => ({ kind: 'lost' }),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([threshold.then(() => 'threshold'), new Promise((r) => { timer = setTimeout(r, 120_000, 'timeout'); })]);
    clearTimeout(timer);
    assert.equal(waited, 'threshold', `${ANSWERED_BEFORE_KILL} resets were answered within 2 minutes`);
    assert.equal(await server.stop('SIGKILL'), null, 'the server died by the signal');
    const answeredAtKill = answered;
    const results = new Map(logins.map((name, i) => [name, outcomes[i] as Promise<Outcome>]));
    const settled = new Map<string, Outcome>();
    for (const [name, outcome] of results) settled.set(name, await outcome);
    const succeeded = logins.filter((name) => { const o = settled.get(name); return o?.kind === 'answered' && o.status === 200; });
    const lost = logins.filter((name) => settled.get(name)?.kind === 'lost');
    const pendingAtCrash = await countPendingPinChanges(store);
    t.diagnostic(`${answeredAtKill} answered when killed (${succeeded.length} with 200), ${lost.length} lost in flight, ${pendingAtCrash} pending changes left by the crash`);
    assert.ok(succeeded.length >= 1, 'some resets completed before the crash');
    assert.ok(lost.length >= MAILBOXES / 4, `many resets were in flight at the crash (${lost.length})`);
    for (const [name, outcome] of settled) {
      if (outcome.kind === 'answered') assert.ok([200, 503].includes(outcome.status), `${name} was answered ${outcome.status}`);
    }

    const restarted = await startServeProcess(env);
    try {
      // Recovery runs before the server listens, so by now it is done.
      assert.equal(await countPendingPinChanges(store), 0, 'no pending change is left after the restart');
      const abandoned = (await store.listAudit({})).filter((e) => e.outcome === 'abandoned' && e.source === 'recovery');
      assert.equal(abandoned.length, pendingAtCrash, 'each change the crash left pending was discarded and audited');

      const mailsByLogin = new Map<string, PinMail[]>();
      for (const mail of await newPinMails(`${dataDir}/pickup`, [])) {
        const name = mail.to.split('@')[0] ?? '';
        mailsByLogin.set(name, [...(mailsByLogin.get(name) ?? []), mail]);
      }
      // Each mailbox's active PIN is exactly one of the PINs mailed to it; reset mails are tried first (most likely active).
      const activeIsResetMail = await inBatches(logins, 100, async (name) => {
        const welcome = welcomePins.get(name) ?? '';
        const resetPins = (mailsByLogin.get(name) ?? []).map((m) => m.pin).filter((pin) => pin !== welcome);
        assert.ok(resetPins.length <= 1, `${name} got at most one reset mail (${resetPins.length})`);
        for (const pin of resetPins) if (await isActivePin(opened.services, name, pin)) return true;
        assert.equal(await isActivePin(opened.services, name, welcome), true, `${name}'s active PIN is its welcome PIN or a mailed one`);
        return false;
      });
      const changed = new Set(logins.filter((_, i) => activeIsResetMail[i]));
      for (const name of succeeded) assert.ok(changed.has(name), `${name} was answered 200, so its reset mail's PIN is active`);
      t.diagnostic(`${changed.size} mailboxes on a reset mail's PIN, ${MAILBOXES - changed.size} on their welcome PIN`);

      // No half-written mail was left under its final name; temporary files may remain from the kill.
      const leftovers = (await readdir(join(dataDir, 'pickup'))).filter((f) => !f.endsWith('.eml'));
      t.diagnostic(`${leftovers.length} temporary pickup files left by the kill`);

      const list = await runUmpin(['mailbox', 'list', '--json'], env);
      assertRun(list, 0);
      const listed = JSON.parse(list.stdout) as Array<{ login: string; hasPin: boolean }>;
      assert.deepEqual(listed.map((m) => m.login).sort(), [...logins].sort());
      assert.ok(listed.every((m) => m.hasPin), 'every mailbox has a PIN');
      const [lostOne = logins[0] as string] = lost;
      const shown = await runUmpin(['pin', 'show', lostOne, '--json'], env);
      assertRun(shown, 0);
      assert.equal((JSON.parse(shown.stdout) as { login: string; hasPin: boolean }).hasPin, true);

      const after = await postSoap(restarted.endpoint, request, { login: lostOne, password: PASSWORD });
      assert.equal(after.status, 200, 'the restarted service resets a PIN');
    } finally {
      await restarted.stop();
    }

    const db = new Database(join(dataDir, 'umpin.sqlite'), { readonly: true });
    try {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      assert.deepEqual(db.pragma('foreign_key_check'), []);
    } finally {
      db.close();
    }
  });
});
