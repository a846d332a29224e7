/**
 * The PinStore contract, run against every engine (STYLE 13): SQLite on a temporary file, and a real
 * PostgreSQL at postgres://postgres@127.0.0.1:5432/test (or user root). Every test gets a database of
 * its own: a new SQLite file, or a new PostgreSQL schema (dropped at the end).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { DatabaseUnavailable } from '../errors.ts';
import { DEFAULT_POLICY, type PinPolicy } from '../pin/index.ts';
import {
  openPinStore,
  type AuditEvent,
  type DatabaseLocation,
  type NewMailbox,
  type PendingPinChange,
  type PinChangeEffects,
  type PinStore,
  type StoredAuditEvent,
} from './index.ts';
import { PEERS_REQUIRED, peerMissing, peerSkipReason } from '../../test/support/peers.ts';
import { countPendingPinChanges, findRememberedPinVerifiers } from '../../test/support/store-readers.ts';

const POSTGRES_USERS = ['postgres', 'root'];
const POSTGRES_SERVER = '127.0.0.1:5432/test';

interface EngineUnderTest {
  readonly name: string;
  /** Why this half cannot run; outside CI it is skipped for this reason, in CI it fails. */
  readonly unavailable: string | undefined;
  /** A database no test has used: a new file, or a new empty schema. */
  freshLocation(): Promise<DatabaseLocation>;
  cleanUp(): Promise<void>;
}

async function sqliteEngine(): Promise<EngineUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'umpin-store-'));
  let n = 0;
  return {
    name: 'sqlite',
    unavailable: undefined,
    freshLocation: async () => ({ engine: 'sqlite', file: join(dir, `store-${(n += 1)}.sqlite`) }),
    cleanUp: () => rm(dir, { recursive: true, force: true }),
  };
}

async function postgresEngine(): Promise<EngineUnderTest> {
  const hidden = await peerMissing('postgres');
  const failures: string[] = hidden === undefined ? [] : [hidden];
  let admin: pg.Client | undefined;
  let url = '';
  for (const user of hidden === undefined ? POSTGRES_USERS : []) {
    url = `postgres://${user}@${POSTGRES_SERVER}`;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      admin = client;
      break;
    } catch (error) {
      failures.push(`as ${user}: ${error instanceof Error ? error.message || String(error) : String(error)}`);
      await client.end().catch(() => {});
    }
  }
  const schemas: string[] = [];
  return {
    name: 'postgres',
    unavailable: admin ? undefined : `no PostgreSQL at ${POSTGRES_SERVER} (${failures.join('; ')})`,
    async freshLocation() {
      if (!admin) throw new Error('PostgreSQL is unavailable');
      const schema = `umpin_contract_${process.pid}_${schemas.length + 1}`;
      await admin.query(`create schema ${schema}`);
      schemas.push(schema);
      return { engine: 'postgres', url: `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}` };
    },
    async cleanUp() {
      if (!admin) return;
      for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}

const ENGINES = [await sqliteEngine(), await postgresEngine()];

/**
 * Starts `count` processes that each open a store on `location` at one signal, as instances of the
 * service do. Separate processes, because SQLite waits for another connection's lock synchronously:
 * two of its connections in one process would block the thread that has to release the lock.
 * Resolves to their exit codes.
 */
async function openTogether(location: DatabaseLocation, count: number): Promise<number[]> {
  const script = `
    const { openPinStore } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      const store = await openPinStore(JSON.parse(process.env.UMPIN_TEST_LOCATION));
      await store.close();
      process.exit(0);
    });`;
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, UMPIN_TEST_LOCATION: JSON.stringify(location) },
    stdio: ['pipe', 'pipe', 'inherit'],
  }));
  const exits = children.map((child) => new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1))));
  await Promise.all(children.map((child) => new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`a child exited (${code}) before it was ready`)));
  })));
  for (const child of children) child.stdin.end('go\\n');
  return Promise.all(exits);
}

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const RESET_EFFECTS: PinChangeEffects = { pinExpired: true, lockedOut: 'unlock', clearFailedLogons: true, clearFirstTimeUser: false };

function newMailbox(login: string, extension: string, overrides: Partial<NewMailbox> = {}): NewMailbox {
  return {
    login,
    email: `${login}@example.com`,
    notifyEmail: null,
    extension,
    language: 'en',
    policyName: DEFAULT_POLICY.name,
    firstName: 'First',
    lastName: 'Last',
    pinSalt: Buffer.from(`salt-${login}`),
    ...overrides,
  };
}

function pinChange(id: string, login: string, overrides: Partial<PendingPinChange> = {}): PendingPinChange {
  return {
    id,
    login,
    reason: 'reset',
    newPinVerifier: Buffer.from(`verifier-${id}`),
    newPinLength: 6,
    sealedMail: Buffer.from(`sealed-${id}`),
    effects: RESET_EFFECTS,
    delivery: 'inline',
    baseGeneration: 0,
    ownerHost: 'host-a',
    ownerPid: 100,
    leaseUntil: at(60),
    actor: login,
    source: '192.0.2.1',
    ...overrides,
  };
}

/** A queued outbox row nobody holds, due since T0. */
function queuedChange(id: string, login: string): PendingPinChange {
  return pinChange(id, login, { delivery: 'outbox', recipient: `${login}@example.com`, giveUpAt: at(86_400), leaseUntil: new Date(0), reason: 'welcome' });
}

function auditEvent(event: string, login: string | null, atTime: Date = T0, detail?: AuditEvent['detail']): AuditEvent {
  return { at: atTime, event, outcome: 'success', login, actor: 'admin', source: 'cli', ...(detail ? { detail } : {}) };
}

const policy = (name: string, overrides: Partial<PinPolicy> = {}): PinPolicy => ({ ...DEFAULT_POLICY, name, ...overrides });

/** Begins and activates a change, asserting both. */
async function activate(store: PinStore, id: string, login: string, now: Date, overrides: Partial<PendingPinChange> = {}): Promise<void> {
  const generation = (await store.findMailbox(login))?.pinGeneration ?? 0;
  assert.equal(await store.beginPinChange(pinChange(id, login, { baseGeneration: generation, ...overrides }), now), true);
  assert.equal(await store.activatePinChange(id, now, auditEvent('pin.reset', login, now)), 'activated');
}

for (const engine of ENGINES) {
  if (engine.unavailable !== undefined) {
    // A developer without the server still runs the rest; CI (UMPIN_REQUIRE_PEERS=1) must not pass without it.
    describe(`PinStore contract on ${engine.name}`, { skip: engine.unavailable === undefined || PEERS_REQUIRED ? false : peerSkipReason('postgres', engine.unavailable) }, () => {
      it('reaches its database (UMPIN_REQUIRE_PEERS=1 requires it)', () => assert.fail(engine.unavailable));
    });
    continue;
  }

  describe(`PinStore contract on ${engine.name}`, () => {
    after(() => engine.cleanUp());

    async function openStore(t: TestContext, location?: DatabaseLocation): Promise<PinStore> {
      const store = await openPinStore(location ?? (await engine.freshLocation()));
      t.after(() => store.close());
      return store;
    }

    it('migrates once when two instances (processes) open a fresh database at the same time', async (t) => {
      const location = await engine.freshLocation();
      assert.deepEqual(await openTogether(location, 2), [0, 0]);
      const again = await openStore(t, location);
      assert.deepEqual(await again.listPolicies(), [DEFAULT_POLICY], 'the default policy, inserted once');
    });

    it('binds the server key once, then says whether the same one is in use', async (t) => {
      const store = await openStore(t);
      assert.equal(await store.findServerKeyId(), undefined);
      assert.deepEqual(await store.bindServerKey('key-1'), { status: 'bound' });
      assert.deepEqual(await store.bindServerKey('key-1'), { status: 'matched' });
      assert.deepEqual(await store.bindServerKey('key-2'), { status: 'mismatch', expected: 'key-1' });
      assert.equal(await store.findServerKeyId(), 'key-1');
    });

    it('adds users once and finds their password verifiers', async (t) => {
      const store = await openStore(t);
      assert.equal(await store.addUser('alice', '$argon2id$alice', T0), true);
      assert.equal(await store.addUser('alice', '$argon2id$other', T0), false);
      assert.equal((await store.findPassword('alice'))?.verifier, '$argon2id$alice');
      assert.equal(await store.findPassword('Alice'), undefined, 'logins are case-sensitive');
      assert.equal(await store.findPassword('nobody'), undefined);
    });

    it('creates, lists (byte order), updates and deletes policies; one in use stays', async (t) => {
      const store = await openStore(t);
      assert.deepEqual(await store.findPolicy(DEFAULT_POLICY.name), DEFAULT_POLICY);
      const strict = policy('Strict', { minPinLength: 8, pinLifetimeDays: null, pinHistoryCount: 0, allowCommonPatterns: true, strictRules: true, logonFailuresBeforePinReset: null, maxLogonAttempts: null, resetPinText: 'Ré', umEnabledText: '欢迎' });
      assert.equal(await store.createPolicy(strict), true);
      assert.equal(await store.createPolicy(policy('Strict')), false, 'the name is taken');
      assert.equal(await store.createPolicy(policy('_lab')), true);
      assert.deepEqual((await store.listPolicies()).map((p) => p.name), ['Strict', '_lab', 'default'], 'by bytes, as SQLite sorts');
      assert.deepEqual(await store.findPolicy('Strict'), strict);

      const changed = { ...strict, minPinLength: 5, maxLogonAttempts: 3 };
      assert.equal(await store.updatePolicy(changed), true);
      assert.deepEqual(await store.findPolicy('Strict'), changed);
      assert.equal(await store.updatePolicy(policy('missing')), false);
      assert.equal(await store.findPolicy('missing'), undefined);

      assert.equal(await store.createMailbox(newMailbox('alice', '100', { policyName: 'Strict' }), T0), true);
      assert.equal(await store.deletePolicy('Strict'), 'in-use');
      assert.deepEqual(await store.findPolicy('Strict'), changed, 'still there');
      assert.equal(await store.deletePolicy('_lab'), 'deleted');
      assert.equal(await store.deletePolicy('_lab'), 'missing');
      assert.deepEqual((await store.listPolicies()).map((p) => p.name), ['Strict', 'default']);
    });

    it('creates mailboxes; a taken login or extension is refused', async (t) => {
      const store = await openStore(t);
      const alice = newMailbox('alice', '100', { notifyEmail: 'alice@home.example', language: 'de', firstName: 'Alice', lastName: 'Ädler' });
      assert.equal(await store.createMailbox(alice, T0), true);
      assert.equal(await store.createMailbox(newMailbox('alice', '101'), T0), false, 'login taken');
      assert.equal(await store.createMailbox(newMailbox('bob', '100'), T0), false, 'extension taken');
      assert.equal(await store.findMailbox('bob'), undefined);
      assert.deepEqual(await store.findMailbox('alice'), {
        login: 'alice',
        email: 'alice@example.com',
        notifyEmail: 'alice@home.example',
        extension: '100',
        language: 'de',
        firstName: 'Alice',
        lastName: 'Ädler',
        policy: DEFAULT_POLICY,
        pinSalt: Buffer.from('salt-alice'),
        hasPin: false,
        pinLength: null,
        pinSetAt: null,
        pinExpired: true,
        firstTimeUser: true,
        lockedOut: false,
        failedLogons: 0,
        pinGeneration: 0,
        // The voice mail settings' defaults (migration 0005): missed-call notices on, everything else off or empty.
        voiceMail: { oofStatus: false, missedCallNotificationEnabled: true, playOnPhoneDialString: '', telephoneAccessFolder: '' },
      });
      await assert.rejects(store.createMailbox(newMailbox('carol', '102', { policyName: 'missing' }), T0), 'an unknown policy is refused by the database');
    });

    it('updates a mailbox; a missing one is false, a taken extension throws', async (t) => {
      const store = await openStore(t);
      await store.createPolicy(policy('other'));
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      const settings = { email: 'a@example.org', notifyEmail: 'n@example.org', extension: '101', language: 'fr', policyName: 'other', firstName: 'A', lastName: 'L' };
      assert.equal(await store.updateMailbox('alice', settings), true);
      const alice = await store.findMailbox('alice');
      assert.deepEqual(
        { email: alice?.email, notifyEmail: alice?.notifyEmail, extension: alice?.extension, language: alice?.language, policyName: alice?.policy.name, firstName: alice?.firstName, lastName: alice?.lastName },
        settings,
      );
      assert.equal(await store.updateMailbox('nobody', settings), false);
      await assert.rejects(store.updateMailbox('bob', settings), 'extension 101 is alice\'s');
      assert.equal((await store.findMailbox('bob'))?.extension, '200');
    });

    it('finds a mailbox by extension, lists them in byte order, and deletes one with its PIN, history and pending change', async (t) => {
      const store = await openStore(t);
      for (const [login, extension] of [['alice', '300'], ['Bob', '100'], ['_svc', '200']] as const) {
        assert.equal(await store.createMailbox(newMailbox(login, extension), T0), true);
      }
      assert.equal(await store.findMailboxLoginByExtension('100'), 'Bob');
      assert.equal(await store.findMailboxLoginByExtension('999'), undefined);
      assert.deepEqual((await store.listMailboxesPage({ limit: 100 })).map((m) => m.login), ['Bob', '_svc', 'alice']);

      await activate(store, 'c1', 'alice', at(1));
      await activate(store, 'c2', 'alice', at(2));
      assert.equal(await store.beginPinChange(pinChange('c3', 'alice', { baseGeneration: 2 }), at(3)), true);
      assert.equal(await store.deleteMailbox('alice'), true);
      assert.equal(await store.deleteMailbox('alice'), false);
      assert.equal(await store.findMailbox('alice'), undefined);
      assert.deepEqual(await findRememberedPinVerifiers(store, 'alice'), []);
      assert.equal(await countPendingPinChanges(store, 'alice'), 0);
      assert.equal(await store.activatePinChange('c3', at(4), auditEvent('pin.reset', 'alice')), 'gone');
      assert.equal(await store.createMailbox(newMailbox('alice', '300'), T0), true, 'login and extension are free again');
    });

    it('pages the mailboxes by login in byte order: the first page, the next, and the end', async (t) => {
      const store = await openStore(t);
      // Upper case before '_' before lower case, '-' before '.', and a non-ASCII letter after 'z': byte order, not a locale's.
      const logins = ['émile', 'alice.b', 'zoë', 'alice', '_svc', 'Bob', 'alice-b', "o'neil%_"];
      for (const [i, login] of logins.entries()) assert.equal(await store.createMailbox(newMailbox(login, String(100 + i)), T0), true);
      const byBytes = ['Bob', '_svc', 'alice', 'alice-b', 'alice.b', "o'neil%_", 'zoë', 'émile'];
      const first = await store.listMailboxesPage({ limit: 3 });
      assert.deepEqual(first.map((m) => m.login), byBytes.slice(0, 3));
      assert.deepEqual(first[0], await store.findMailbox('Bob'), 'the whole mailbox state, as findMailbox gives it');
      assert.deepEqual((await store.listMailboxesPage({ after: 'alice', limit: 3 })).map((m) => m.login), byBytes.slice(3, 6));
      assert.deepEqual((await store.listMailboxesPage({ after: "o'neil%_", limit: 3 })).map((m) => m.login), byBytes.slice(6), 'the last page is short');
      assert.deepEqual(await store.listMailboxesPage({ after: 'émile', limit: 3 }), [], 'after the last one: the end');
      assert.deepEqual((await store.listMailboxesPage({ after: 'alice.a', limit: 1 })).map((m) => m.login), ['alice.b'], 'after a login that does not exist');
      assert.deepEqual(await store.listMailboxesPage({ limit: 0 }), []);

      const walked: string[] = [];
      for (let page = await store.listMailboxesPage({ limit: 2 }); page.length > 0; page = await store.listMailboxesPage({ after: page.at(-1)?.login, limit: 2 })) {
        assert.ok(page.length <= 2);
        walked.push(...page.map((m) => m.login));
      }
      assert.deepEqual(walked, byBytes, 'every mailbox once, in byte order');
    });

    it('activates a pending change: the PIN, its length and time, the effects, the generation and the audit event', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.recordFailedLogon('alice', null);
      await store.recordFailedLogon('alice', null);
      const effects = { pinExpired: false, lockedOut: 'lock', clearFailedLogons: false, clearFirstTimeUser: true } as const;
      assert.equal(await store.beginPinChange(pinChange('c1', 'alice', { newPinLength: 7, effects }), at(1)), true);
      assert.equal(await countPendingPinChanges(store), 1);
      assert.equal(await countPendingPinChanges(store, 'alice'), 1);
      assert.equal(await countPendingPinChanges(store, 'bob'), 0);
      assert.equal((await store.findMailbox('alice'))?.hasPin, false, 'nothing changes before activation');

      assert.equal(await store.activatePinChange('c1', at(2), auditEvent('pin.reset', 'alice', at(2), { to: 'alice@example.com' })), 'activated');
      const alice = await store.findMailbox('alice');
      assert.deepEqual(
        { hasPin: alice?.hasPin, pinLength: alice?.pinLength, pinSetAt: alice?.pinSetAt, pinExpired: alice?.pinExpired, lockedOut: alice?.lockedOut, failedLogons: alice?.failedLogons, firstTimeUser: alice?.firstTimeUser, pinGeneration: alice?.pinGeneration },
        { hasPin: true, pinLength: 7, pinSetAt: at(2), pinExpired: false, lockedOut: true, failedLogons: 2, firstTimeUser: false, pinGeneration: 1 },
      );
      assert.deepEqual(await findRememberedPinVerifiers(store, 'alice'), [Buffer.from('verifier-c1')]);
      assert.deepEqual(await store.findActivePinVerifier('alice'), { verifier: Buffer.from('verifier-c1'), keyId: '' }, 'no key bound, none named: no key id');
      assert.equal(await countPendingPinChanges(store), 0);
      assert.deepEqual(await store.listAudit({}), [{ id: 1, ...auditEvent('pin.reset', 'alice', at(2), { to: 'alice@example.com' }) }]);

      assert.equal(await store.beginPinChange(pinChange('c2', 'alice', { baseGeneration: 1 }), at(3)), true);
      assert.equal(await store.activatePinChange('c2', at(4), auditEvent('pin.reset', 'alice', at(4))), 'activated');
      const after = await store.findMailbox('alice');
      assert.deepEqual(
        { pinExpired: after?.pinExpired, lockedOut: after?.lockedOut, failedLogons: after?.failedLogons, firstTimeUser: after?.firstTimeUser, pinGeneration: after?.pinGeneration },
        { pinExpired: true, lockedOut: false, failedLogons: 0, firstTimeUser: false, pinGeneration: 2 },
        'RESET_EFFECTS: expired, unlocked, counter cleared; first-time-user stays cleared',
      );
    });

    it('a change that keeps the lock leaves it as activation finds it: a lockout after the change began stays, with its counter', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      const keep = { pinExpired: true, lockedOut: 'keep', clearFailedLogons: true, clearFirstTimeUser: false } as const;
      for (const login of ['alice', 'bob']) {
        await store.recordFailedLogon(login, 3);
        assert.equal(await store.beginPinChange(pinChange(`k-${login}`, login, { effects: keep }), at(1)), true);
      }
      // alice reaches the lockout while her change waits; bob does not.
      await store.recordFailedLogon('alice', 3);
      assert.deepEqual(await store.recordFailedLogon('alice', 3), { failedLogons: 3, lockedOut: true });
      await store.recordGoodLogon('alice');
      assert.equal((await store.findMailbox('alice'))?.failedLogons, 3, 'a right PIN racing the lock does not clear a locked mailbox\'s counter');
      for (const login of ['alice', 'bob']) assert.equal(await store.activatePinChange(`k-${login}`, at(2), auditEvent('pin.auto-reset', login, at(2))), 'activated');
      const [alice, bob] = await Promise.all([store.findMailbox('alice'), store.findMailbox('bob')]);
      assert.deepEqual({ lockedOut: alice?.lockedOut, failedLogons: alice?.failedLogons, hasPin: alice?.hasPin }, { lockedOut: true, failedLogons: 3, hasPin: true });
      assert.deepEqual({ lockedOut: bob?.lockedOut, failedLogons: bob?.failedLogons, hasPin: bob?.hasPin }, { lockedOut: false, failedLogons: 0, hasPin: true });
      // An administrator's lock between begin and activation is kept the same way.
      assert.equal(await store.beginPinChange(pinChange('k2', 'bob', { effects: keep, baseGeneration: 1 }), at(3)), true);
      assert.equal(await store.setLockedOut('bob', true), true);
      assert.equal(await store.activatePinChange('k2', at(4), auditEvent('pin.change', 'bob', at(4))), 'activated');
      assert.equal((await store.findMailbox('bob'))?.lockedOut, true);
    });

    it('remembers the current PIN first, then the history newest first, trimmed to PINHistoryCount', async (t) => {
      const store = await openStore(t);
      await store.createPolicy(policy('two', { pinHistoryCount: 2 }));
      await store.createPolicy(policy('none', { pinHistoryCount: 0 }));
      await store.createMailbox(newMailbox('alice', '100', { policyName: 'two' }), T0);
      await store.createMailbox(newMailbox('bob', '200', { policyName: 'none' }), T0);
      for (let i = 1; i <= 5; i += 1) {
        await activate(store, `a${i}`, 'alice', at(i));
        await activate(store, `b${i}`, 'bob', at(i));
      }
      assert.deepEqual(await findRememberedPinVerifiers(store, 'alice'), ['a5', 'a4', 'a3'].map((id) => Buffer.from(`verifier-${id}`)));
      assert.deepEqual(await findRememberedPinVerifiers(store, 'bob'), [Buffer.from('verifier-b5')]);
      assert.deepEqual(await findRememberedPinVerifiers(store, 'nobody'), []);
      assert.deepEqual(await store.findActivePinVerifier('alice'), { verifier: Buffer.from('verifier-a5'), keyId: '' }, 'the active one, not the history');
      assert.equal(await store.findActivePinVerifier('nobody'), undefined);
    });

    it('supersedes a change begun on an older generation, and answers gone for an unknown one', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await activate(store, 'c1', 'alice', at(1));
      const before = await store.findMailbox('alice');
      assert.equal(await store.beginPinChange(pinChange('stale', 'alice', { baseGeneration: 0 }), at(2)), true);
      assert.equal(await store.activatePinChange('stale', at(3), auditEvent('pin.reset', 'alice', at(3))), 'superseded');
      assert.deepEqual(await store.findMailbox('alice'), before, 'the PIN did not change');
      assert.equal(await countPendingPinChanges(store, 'alice'), 0, 'the stale change is gone');
      assert.equal(await store.activatePinChange('stale', at(4), auditEvent('pin.reset', 'alice', at(4))), 'gone');
      assert.equal(await store.activatePinChange('never', at(4), auditEvent('pin.reset', 'alice', at(4))), 'gone');
      assert.deepEqual((await store.listAudit({})).map((e) => [e.at.toISOString(), e.outcome]), [[at(1).toISOString(), 'success'], [at(3).toISOString(), 'superseded']]);
    });

    it('keeps one pending change per mailbox; a discarded one makes room and leaves the PIN alone', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      assert.equal(await store.beginPinChange(pinChange('a1', 'alice'), T0), true);
      assert.equal(await store.beginPinChange(pinChange('a2', 'alice'), T0), false);
      assert.equal(await store.beginPinChange(pinChange('b1', 'bob'), T0), true, 'another mailbox is not held up');
      assert.equal(await store.discardPinChange('a1', { ...auditEvent('pin.reset', 'alice'), outcome: 'mail-failed' }), true);
      assert.equal(await store.discardPinChange('a1', auditEvent('pin.reset', 'alice')), false);
      assert.equal((await store.findMailbox('alice'))?.hasPin, false);
      assert.deepEqual((await store.listAudit({})).map((e) => e.outcome), ['mail-failed'], 'one audit event, from the discard that happened');
      assert.equal(await store.beginPinChange(pinChange('a2', 'alice'), T0), true);
    });

    it('counts failed logons, locks at the maximum, and a good logon clears the counter of a mailbox not locked', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      assert.deepEqual(await store.recordFailedLogon('alice', 3), { failedLogons: 1, lockedOut: false });
      await store.recordGoodLogon('alice');
      assert.deepEqual(await store.recordFailedLogon('alice', 3), { failedLogons: 1, lockedOut: false });
      assert.deepEqual(await store.recordFailedLogon('alice', 3), { failedLogons: 2, lockedOut: false });
      assert.deepEqual(await store.recordFailedLogon('alice', 3), { failedLogons: 3, lockedOut: true });
      assert.deepEqual(await store.recordFailedLogon('alice', null), { failedLogons: 4, lockedOut: true }, 'no maximum never unlocks');
      await store.recordGoodLogon('alice');
      assert.deepEqual(await store.recordFailedLogon('alice', null), { failedLogons: 5, lockedOut: true }, 'a right PIN racing the lock leaves a locked mailbox\'s counter');
      await assert.rejects(store.recordFailedLogon('nobody', 3));
    });

    it('counts every one of 20 concurrent failed logons', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.recordFailedLogon('alice', 15)));
      assert.deepEqual(results.map((r) => r.failedLogons).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.deepEqual(results.filter((r) => r.lockedOut).map((r) => r.failedLogons).sort((a, b) => a - b), [15, 16, 17, 18, 19, 20]);
      const alice = await store.findMailbox('alice');
      assert.deepEqual({ failedLogons: alice?.failedLogons, lockedOut: alice?.lockedOut }, { failedLogons: 20, lockedOut: true });
    });

    it('locks and unlocks a mailbox; unlocking clears the counter', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.recordFailedLogon('alice', null);
      assert.equal(await store.setLockedOut('alice', true), true);
      assert.deepEqual(pick(await store.findMailbox('alice')), { lockedOut: true, failedLogons: 1 });
      assert.equal(await store.setLockedOut('alice', false), true);
      assert.deepEqual(pick(await store.findMailbox('alice')), { lockedOut: false, failedLogons: 0 });
      assert.equal(await store.setLockedOut('nobody', true), false);
      function pick(m: { lockedOut: boolean; failedLogons: number } | undefined) {
        return { lockedOut: m?.lockedOut, failedLogons: m?.failedLogons };
      }
    });

    it('keeps the voice mail settings per mailbox: defaults, a partial update with its audit in one step, a missing mailbox changes nothing', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      const defaults = { oofStatus: false, missedCallNotificationEnabled: true, playOnPhoneDialString: '', telephoneAccessFolder: '' };
      assert.deepEqual((await store.findMailbox('alice'))?.voiceMail, defaults);

      assert.equal(await store.updateVoiceMailSettings('alice', { oofStatus: true, playOnPhoneDialString: '+1 555 0100' }, auditEvent('um.set', 'alice', T0, { setting: 'OofStatus' })), true);
      assert.equal(await store.updateVoiceMailSettings('alice', { telephoneAccessFolder: 'AAAA', missedCallNotificationEnabled: false }, auditEvent('um.set', 'alice', at(1))), true);
      assert.deepEqual((await store.findMailbox('alice'))?.voiceMail, { oofStatus: true, missedCallNotificationEnabled: false, playOnPhoneDialString: '+1 555 0100', telephoneAccessFolder: 'AAAA' });
      assert.deepEqual((await store.listMailboxesPage({ limit: 100 })).find((m) => m.login === 'alice')?.voiceMail, (await store.findMailbox('alice'))?.voiceMail);
      assert.deepEqual((await store.findMailbox('bob'))?.voiceMail, defaults, "another mailbox's settings are its own");
      assert.deepEqual((await store.listAudit({ login: 'alice' })).map((e) => [e.event, e.detail]), [['um.set', { setting: 'OofStatus' }], ['um.set', {}]]);

      assert.equal(await store.updateVoiceMailSettings('nobody', { oofStatus: true }, auditEvent('um.set', 'nobody')), false);
      assert.deepEqual(await store.listAudit({ login: 'nobody' }), [], 'no audit event for a change that did not happen');
      await assert.rejects(store.updateVoiceMailSettings('alice', {}, auditEvent('um.set', 'alice')), TypeError);
    });

    it('applies 20 concurrent setting changes of one mailbox, each with its audit event', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        store.updateVoiceMailSettings('alice', { playOnPhoneDialString: String(1000 + i), oofStatus: i % 2 === 0 }, auditEvent('um.set', 'alice', at(i)))));
      assert.deepEqual(results, Array.from({ length: 20 }, () => true));
      const final = (await store.findMailbox('alice'))?.voiceMail;
      const i = Number(final?.playOnPhoneDialString) - 1000;
      assert.ok(i >= 0 && i < 20, 'one of the values written');
      assert.equal(final?.oofStatus, i % 2 === 0, 'both settings from the same update: no torn write');
      assert.equal((await store.listAudit({ login: 'alice' })).length, 20);
    });

    it('adds, finds, lists and revokes API keys; a revoked key gives its name back', async (t) => {
      const store = await openStore(t);
      const verifier = randomBytes(32);
      assert.equal(await store.addApiKey({ id: 'k1', name: 'pbx', verifier }, T0), true);
      assert.equal(await store.addApiKey({ id: 'k2', name: 'pbx', verifier }, T0), false, 'the name is taken');
      assert.equal(await store.addApiKey({ id: 'k1', name: 'other', verifier }, T0), false, 'the id is taken');
      assert.equal(await store.addApiKey({ id: 'k3', name: 'Agent', verifier: Buffer.alloc(0) }, at(1)), true);
      assert.deepEqual(await store.findApiKeyVerifier('k1'), { verifier, keyId: '' });
      assert.equal(await store.findApiKeyVerifier('nope'), undefined);
      assert.deepEqual(await store.listApiKeys(), [
        { id: 'k3', name: 'Agent', createdAt: at(1), revokedAt: null },
        { id: 'k1', name: 'pbx', createdAt: T0, revokedAt: null },
      ]);

      assert.equal(await store.revokeApiKey('pbx', at(2)), true);
      assert.equal(await store.revokeApiKey('pbx', at(3)), false, 'already revoked');
      assert.equal(await store.revokeApiKey('nope', at(3)), false);
      assert.equal(await store.findApiKeyVerifier('k1'), undefined);
      assert.deepEqual((await store.listApiKeys())[1], { id: 'k1', name: 'pbx', createdAt: T0, revokedAt: at(2) });

      assert.equal(await store.addApiKey({ id: 'k4', name: 'pbx', verifier }, at(4)), true);
      assert.deepEqual(await store.listApiKeys(), [
        { id: 'k3', name: 'Agent', createdAt: at(1), revokedAt: null },
        { id: 'k4', name: 'pbx', createdAt: at(4), revokedAt: null },
      ]);
      assert.deepEqual(await store.findApiKeyVerifier('k4'), { verifier, keyId: '' });
    });

    it('records the server key each verifier was made under, the bound key when none is named, and keeps it into the history', async (t) => {
      const store = await openStore(t);
      await store.bindServerKey('k-old');
      assert.equal(await store.addUser('alice', '$argon2id$alice', T0), true);
      assert.equal(await store.addUser('bob', '$argon2id$bob', T0, 'k-new'), true);
      assert.deepEqual(await store.findPassword('alice'), { verifier: '$argon2id$alice', keyId: 'k-old' });
      assert.deepEqual(await store.findPassword('bob'), { verifier: '$argon2id$bob', keyId: 'k-new' });
      assert.equal(await store.findPassword('nobody'), undefined);

      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      await activate(store, 'c1', 'alice', at(1));
      await activate(store, 'c2', 'alice', at(2), { newPinKeyId: 'k-new' });
      assert.deepEqual(await store.findKeyedPinVerifiers('alice'), [
        { verifier: Buffer.from('verifier-c2'), keyId: 'k-new' }, { verifier: Buffer.from('verifier-c1'), keyId: 'k-old' },
      ], 'the retired verifier keeps its key in the history');
      assert.deepEqual(await store.findKeyedPinVerifiers('bob'), [], 'no PIN yet');
      assert.equal(await store.beginPinChange(pinChange('c3', 'bob', { newPinKeyId: 'k-new' }), at(3)), true);
      const verifier = randomBytes(32);
      assert.equal(await store.addApiKey({ id: 'k1', name: 'pbx', verifier, keyId: 'k-old' }, T0), true);
      assert.equal(await store.addApiKey({ id: 'k2', name: 'gone', verifier }, T0), true);
      await store.revokeApiKey('gone', at(1));
      assert.deepEqual(await store.findApiKeyVerifier('k1'), { verifier, keyId: 'k-old' });
      assert.deepEqual(await store.countVerifiersByKey(), {
        passwords: { 'k-old': 1, 'k-new': 1 }, pins: { 'k-new': 1 }, history: { 'k-old': 1 }, pending: { 'k-new': 1 }, apiKeys: { 'k-old': 1 },
      }, 'a mailbox without a PIN and a revoked API key use no key');
    });

    it('re-hashes a verifier only while it is still the one that was checked', async (t) => {
      const store = await openStore(t);
      await store.bindServerKey('k-old');
      await store.addUser('alice', '$argon2id$alice', T0);
      assert.equal(await store.replacePasswordVerifier('alice', '$argon2id$stale', { verifier: '$argon2id$x', keyId: 'k-new' }, at(1)), false);
      assert.deepEqual(await store.findPassword('alice'), { verifier: '$argon2id$alice', keyId: 'k-old' }, 'a stale verifier replaces nothing');
      assert.equal(await store.replacePasswordVerifier('alice', '$argon2id$alice', { verifier: '$argon2id$new', keyId: 'k-new' }, at(1)), true);
      assert.deepEqual(await store.findPassword('alice'), { verifier: '$argon2id$new', keyId: 'k-new' });

      await store.createMailbox(newMailbox('alice', '100'), T0);
      await activate(store, 'c1', 'alice', at(1));
      const before = await store.findMailbox('alice');
      assert.equal(await store.replaceActivePinVerifier('alice', Buffer.from('verifier-other'), { verifier: Buffer.from('re'), keyId: 'k-new' }), false);
      assert.deepEqual(await store.findActivePinVerifier('alice'), { verifier: Buffer.from('verifier-c1'), keyId: 'k-old' });
      assert.equal(await store.replaceActivePinVerifier('alice', Buffer.from('verifier-c1'), { verifier: Buffer.from('re'), keyId: 'k-new' }), true);
      assert.deepEqual(await store.findActivePinVerifier('alice'), { verifier: Buffer.from('re'), keyId: 'k-new' });
      assert.deepEqual(await store.findMailbox('alice'), before, 'the same PIN: no new generation, nothing else changed');

      const verifier = randomBytes(32);
      await store.addApiKey({ id: 'k1', name: 'pbx', verifier }, T0);
      assert.equal(await store.replaceApiKeyVerifier('k1', randomBytes(32), { verifier: Buffer.from('re'), keyId: 'k-new' }), false);
      assert.equal(await store.replaceApiKeyVerifier('k1', verifier, { verifier: Buffer.from('re'), keyId: 'k-new' }), true);
      assert.deepEqual(await store.findApiKeyVerifier('k1'), { verifier: Buffer.from('re'), keyId: 'k-new' });
      await store.revokeApiKey('pbx', at(2));
      assert.equal(await store.replaceApiKeyVerifier('k1', Buffer.from('re'), { verifier, keyId: 'k-x' }), false, 'a revoked key is not brought back');
    });

    it('rebinds the server key only from the key it is bound to, re-sealing every sealed mail in the same transaction', async (t) => {
      const store = await openStore(t);
      await store.bindServerKey('k1');
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      await store.beginPinChange(queuedChange('m1', 'alice'), T0);
      await store.beginPinChange(pinChange('quiet', 'bob', { sealedMail: undefined }), T0);
      const reseal = (id: string, sealed: Buffer) => Buffer.concat([sealed, Buffer.from(`+${id}`)]);
      assert.equal(await store.rebindServerKey('k0', 'k2', reseal, auditEvent('secret.rotate', null)), 'conflict');
      assert.equal(await store.findServerKeyId(), 'k1');
      assert.deepEqual(await store.listSealedMail(), [{ id: 'm1', sealedMail: Buffer.from('sealed-m1') }], 'nothing re-sealed');
      assert.deepEqual(await store.listAudit({}), [], 'nor audited');
      assert.equal(await store.rebindServerKey('k1', 'k2', reseal, auditEvent('secret.rotate', null, at(1), { from: 'k1', to: 'k2' })), 'rebound');
      assert.equal(await store.findServerKeyId(), 'k2');
      assert.deepEqual(await store.bindServerKey('k2'), { status: 'matched' });
      assert.deepEqual(await store.listSealedMail(), [{ id: 'm1', sealedMail: Buffer.from('sealed-m1+m1') }]);
      assert.deepEqual(await store.listAudit({}), [{ id: 1, ...auditEvent('secret.rotate', null, at(1), { from: 'k1', to: 'k2' }) }]);
    });

    it('remembers a self-service session ended early until it would have expired, and then forgets it', async (t) => {
      const store = await openStore(t);
      assert.equal(await store.isWebSessionEnded('s1'), false);
      await store.endWebSession('s1', at(60), T0);
      await store.endWebSession('s1', at(60), T0); // signing out twice (two tabs) is no error
      await store.endWebSession('s2', at(120), T0);
      assert.equal(await store.isWebSessionEnded('s1'), true);
      assert.equal(await store.isWebSessionEnded('s2'), true);
      assert.equal(await store.isWebSessionEnded('s3'), false);
      await store.endWebSession('s3', at(200), at(90)); // s1 is past its expiry by now and goes; s2 stays
      assert.equal(await store.isWebSessionEnded('s1'), false);
      assert.equal(await store.isWebSessionEnded('s2'), true);
      assert.equal(await store.isWebSessionEnded('s3'), true);
    });

    it('appends audit events and lists them oldest first, by login, since a time, and the newest `limit`', async (t) => {
      const store = await openStore(t);
      const events = [
        auditEvent('mailbox.enable', 'alice', at(1), { policy: 'default', attempts: 2, queued: false }),
        auditEvent('mailbox.enable', 'bob', at(2)),
        { ...auditEvent('pin.reset', 'alice', at(3)), outcome: 'mail-failed', actor: 'alice', source: '2001:db8::1' },
        auditEvent('apikey.add', null, at(4), { name: 'pbx' }),
        auditEvent('pin.reset', 'alice', at(5)),
      ];
      for (const event of events) await store.appendAudit(event);
      const stored = events.map((event, i) => ({ id: i + 1, ...event, detail: event.detail ?? {} }));
      assert.deepEqual(await store.listAudit({}), stored);
      assert.deepEqual(await store.listAudit({ login: 'alice' }), [stored[0], stored[2], stored[4]]);
      assert.deepEqual(await store.listAudit({ since: at(3) }), stored.slice(2));
      assert.deepEqual(await store.listAudit({ limit: 2 }), stored.slice(3), 'the newest two, oldest first');
      assert.deepEqual(await store.listAudit({ login: 'alice', since: at(2), limit: 1 }), [stored[4]]);
      assert.deepEqual(await store.listAudit({ limit: 0 }), []);
    });

    it('pages the audit trail by id, oldest first, by login and since a time, and finds where the newest N begin', async (t) => {
      const store = await openStore(t);
      const logins = ['alice', 'bob', 'alice', null, 'alice', 'bob', 'alice'];
      for (const [i, login] of logins.entries()) await store.appendAudit(auditEvent('pin.reset', login, at(i + 1)));
      const ids = async (page: Promise<StoredAuditEvent[]>) => (await page).map((e) => e.id);
      assert.deepEqual(await ids(store.listAuditPage({ limit: 3 })), [1, 2, 3]);
      assert.deepEqual(await ids(store.listAuditPage({ limit: 3, afterId: 3 })), [4, 5, 6]);
      assert.deepEqual(await ids(store.listAuditPage({ limit: 3, afterId: 6 })), [7]);
      assert.deepEqual(await ids(store.listAuditPage({ limit: 3, afterId: 7 })), []);
      assert.deepEqual(await ids(store.listAuditPage({ login: 'alice', limit: 2, afterId: 1 })), [3, 5]);
      assert.deepEqual(await ids(store.listAuditPage({ login: 'alice', since: at(4), limit: 10 })), [5, 7]);
      assert.deepEqual((await store.listAuditPage({ limit: 1, afterId: 3 }))[0], { id: 4, ...auditEvent('pin.reset', null, at(4)), detail: {} });
      assert.equal(await store.findAuditIdBeforeNewest({}, 2), 5, 'the newest two are 6 and 7');
      assert.equal(await store.findAuditIdBeforeNewest({ login: 'alice' }, 2), 3, "alice's newest two are 5 and 7");
      assert.equal(await store.findAuditIdBeforeNewest({ login: 'alice', since: at(2) }, 3), undefined, 'fewer than asked');
      assert.equal(await store.findAuditIdBeforeNewest({ login: 'carol' }, 1), undefined);
    });

    it("finds a login's last PIN mail event, passing over logons, chosen PINs and other logins", async (t) => {
      const store = await openStore(t);
      const handedOff = auditEvent('pin.admin-reset', 'alice', at(1), { messageId: '<1@relay>', handOff: '250 ok', to: 'alice@example.com' });
      const gaveUp = { ...auditEvent('pin.auto-reset', 'alice', at(2), { reply: '550 no such user', permanent: true }), outcome: 'mail-failed' };
      const later = [
        { ...auditEvent('pin.logon', 'alice', at(3)), outcome: 'ok', actor: 'phone' },
        { ...auditEvent('pin.logon', 'alice', at(4), { failedLogons: 1 }), outcome: 'wrong-pin', actor: 'phone' },
        auditEvent('pin.admin-reset', 'alice', at(5), { mail: 'none' }),
        auditEvent('pin.admin-reset', 'bob', at(6), { messageId: '<2@relay>', handOff: '250 ok' }),
      ];
      assert.equal(await store.findLastMailEvent('alice'), undefined, 'none yet');
      await store.appendAudit(handedOff);
      assert.deepEqual(await store.findLastMailEvent('alice'), { id: 1, ...handedOff });
      await store.appendAudit(gaveUp);
      for (const event of later) await store.appendAudit(event);
      assert.deepEqual(await store.findLastMailEvent('alice'), { id: 2, ...gaveUp });
      assert.equal((await store.findLastMailEvent('bob'))?.id, 6);
      assert.equal(await store.findLastMailEvent('carol'), undefined);
    });

    it('prunes the oldest events from before a time, at most `limit` at once, and nothing newer', async (t) => {
      const store = await openStore(t);
      for (let i = 1; i <= 5; i += 1) await store.appendAudit(auditEvent('pin.reset', 'alice', at(i)));
      const kept = (await store.listAudit({})).slice(2);
      assert.equal(await store.pruneAudit(at(3), 1), 1);
      assert.deepEqual((await store.listAudit({})).map((e) => e.id), [2, 3, 4, 5], 'the oldest went first');
      assert.equal(await store.pruneAudit(at(3), 10), 1);
      assert.equal(await store.pruneAudit(at(3), 10), 0, 'nothing older is left');
      assert.deepEqual(await store.listAudit({}), kept, 'the events at and after the time are untouched');
      assert.equal(await store.pruneAudit(at(0), 10), 0);
    });

    it('claims due outbox mail for one worker, counts the attempt, and a retry releases it until it is due', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      await store.createMailbox(newMailbox('carol', '300'), T0);
      assert.equal(await store.beginPinChange(queuedChange('m1', 'alice'), T0), true);
      assert.equal(await store.beginPinChange(queuedChange('m2', 'bob'), at(1)), true);
      assert.equal(await store.beginPinChange(pinChange('inline', 'carol'), T0), true);

      assert.deepEqual(await store.listQueuedMail(at(2)), [
        { id: 'm1', login: 'alice', reason: 'welcome', recipient: 'alice@example.com', attempts: 1, nextAttemptAt: T0, giveUpAt: at(86_400), lastReply: null, createdAt: T0, inFlight: false },
        { id: 'm2', login: 'bob', reason: 'welcome', recipient: 'bob@example.com', attempts: 1, nextAttemptAt: at(1), giveUpAt: at(86_400), lastReply: null, createdAt: at(1), inFlight: false },
      ]);
      assert.deepEqual(await store.claimDueMail(at(0.5), { host: 'h', pid: 1 }, at(60), 10).then((c) => c.map((m) => m.id)), ['m1'], 'm2 is not due yet');
      const claimed = await store.claimDueMail(at(2), { host: 'h', pid: 2 }, at(60), 10);
      assert.deepEqual(claimed, [
        { id: 'm2', login: 'bob', reason: 'welcome', recipient: 'bob@example.com', attempts: 2, nextAttemptAt: at(1), giveUpAt: at(86_400), lastReply: null, createdAt: at(1), inFlight: true, sealedMail: Buffer.from('sealed-m2') },
      ], 'm1 is held by the first worker');
      assert.deepEqual(await store.claimDueMail(at(3), { host: 'h', pid: 3 }, at(60), 10), []);
      assert.deepEqual((await store.listQueuedMail(at(3))).map((m) => [m.id, m.attempts, m.inFlight]), [['m1', 2, true], ['m2', 2, true]]);

      await store.scheduleMailRetry('m2', at(120), '451 4.3.0 try later');
      const [, m2] = await store.listQueuedMail(at(3));
      assert.deepEqual({ nextAttemptAt: m2?.nextAttemptAt, lastReply: m2?.lastReply, inFlight: m2?.inFlight }, { nextAttemptAt: at(120), lastReply: '451 4.3.0 try later', inFlight: false });
      assert.deepEqual(await store.claimDueMail(at(61), { host: 'h', pid: 4 }, at(200), 10).then((c) => c.map((m) => m.id)), ['m1'], 'm1 lease ran out; m2 is not due');
      assert.deepEqual(await store.claimDueMail(at(121), { host: 'h', pid: 4 }, at(200), 10).then((c) => c.map((m) => [m.id, m.attempts, m.lastReply])), [['m2', 3, '451 4.3.0 try later']]);
    });

    it('never gives one row to two workers: two instances claiming 20 rows at once', async (t) => {
      const location = await engine.freshLocation();
      const a = await openStore(t, location);
      const b = await openStore(t, location);
      for (let i = 0; i < 20; i += 1) {
        const login = `user${String(i).padStart(2, '0')}`;
        await a.createMailbox(newMailbox(login, String(1000 + i)), T0);
        await a.beginPinChange(queuedChange(`m${i}`, login), T0);
      }
      const drain = async (store: PinStore, pid: number) => {
        const ids: string[] = [];
        for (;;) {
          const batch = await store.claimDueMail(at(1), { host: 'h', pid }, at(60), 3);
          if (batch.length === 0) return ids;
          ids.push(...batch.map((m) => m.id));
        }
      };
      const [byA, byB] = await Promise.all([drain(a, 1), drain(b, 2)]);
      const all = [...byA, ...byB];
      assert.equal(new Set(all).size, all.length, `no row twice: ${byA.join(',')} | ${byB.join(',')}`);
      assert.deepEqual(all.sort(), Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
      assert.ok((await a.listQueuedMail(at(1))).every((m) => m.attempts === 2 && m.inFlight));
    });

    it('retries a queued mail now, but only an outbox row', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      await store.beginPinChange(queuedChange('m1', 'alice'), T0);
      await store.beginPinChange(pinChange('inline', 'bob'), T0);
      await store.scheduleMailRetry('m1', at(3600), '421 busy');
      assert.deepEqual(await store.claimDueMail(at(10), { host: 'h', pid: 1 }, at(60), 10), []);
      assert.equal(await store.retryMailNow('m1', at(10)), true);
      assert.deepEqual((await store.claimDueMail(at(10), { host: 'h', pid: 1 }, at(60), 10)).map((m) => m.id), ['m1']);
      assert.equal(await store.retryMailNow('inline', at(10)), false);
      assert.equal(await store.retryMailNow('nope', at(10)), false);
    });

    it('supersedes a queued mail nobody holds, not one in flight nor an inline change', async (t) => {
      const store = await openStore(t);
      await store.createMailbox(newMailbox('alice', '100'), T0);
      await store.createMailbox(newMailbox('bob', '200'), T0);
      await store.createMailbox(newMailbox('carol', '300'), T0);
      await store.beginPinChange(queuedChange('m1', 'alice'), T0);
      await store.beginPinChange(queuedChange('m2', 'bob'), T0);
      await store.beginPinChange(pinChange('inline', 'carol', { leaseUntil: T0 }), T0);
      await store.claimDueMail(at(1), { host: 'h', pid: 1 }, at(60), 10).then(() => store.scheduleMailRetry('m1', at(5), 'later'));
      const superseded = { ...auditEvent('pin.outbox', 'alice', at(2)), outcome: 'superseded' };
      assert.equal(await store.supersedeQueuedPinChange('alice', at(2), superseded), true);
      assert.equal(await store.supersedeQueuedPinChange('alice', at(2), superseded), false, 'gone already');
      assert.equal(await store.supersedeQueuedPinChange('bob', at(2), superseded), false, 'in flight');
      assert.equal(await store.supersedeQueuedPinChange('carol', at(2), superseded), false, 'inline');
      assert.deepEqual((await store.listQueuedMail(at(2))).map((m) => m.id), ['m2']);
      assert.equal(await countPendingPinChanges(store), 2);
      assert.deepEqual((await store.listAudit({})).map((e) => [e.login, e.outcome]), [['alice', 'superseded']]);
    });

    it('finds the recovery candidates: inline changes past their lease on any host, and every change owned on this host', async (t) => {
      const store = await openStore(t);
      const cases: Array<[string, Partial<PendingPinChange>]> = [
        ['lease-out', { leaseUntil: at(-1), ownerPid: 1 }],
        ['dead-here', { leaseUntil: at(60), ownerPid: 2 }],
        ['alive-here', { leaseUntil: at(60), ownerPid: 1 }],
        ['dead-elsewhere', { leaseUntil: at(60), ownerPid: 2, ownerHost: 'host-b' }],
        ['lease-out-elsewhere', { leaseUntil: at(-1), ownerPid: 2, ownerHost: 'host-b' }],
        ['outbox-held-dead', { delivery: 'outbox', leaseUntil: at(60), ownerPid: 2, reason: 'welcome' }],
        ['outbox-held-alive', { delivery: 'outbox', leaseUntil: at(60), ownerPid: 1, reason: 'welcome' }],
        ['outbox-released', { delivery: 'outbox', leaseUntil: at(-1), ownerPid: 2, reason: 'welcome' }],
        ['outbox-elsewhere', { delivery: 'outbox', leaseUntil: at(-1), ownerPid: 2, ownerHost: 'host-b', reason: 'welcome' }],
      ];
      for (const [i, [id, overrides]] of cases.entries()) {
        await store.createMailbox(newMailbox(id, String(100 + i)), T0);
        assert.equal(await store.beginPinChange(pinChange(id, id, { ownerHost: 'host-a', ...overrides }), T0), true);
      }
      const candidates = await store.findRecoveryCandidates(T0, 'host-a');
      const candidate = (id: string, ownerHost: string, ownerPid: number, leaseUntil: Date, delivery: 'inline' | 'outbox' = 'inline') =>
        ({ id, login: id, reason: delivery === 'inline' ? 'reset' : 'welcome', ownerHost, ownerPid, leaseUntil, delivery });
      assert.deepEqual(candidates.sort((x, y) => (x.id < y.id ? -1 : 1)), [
        candidate('alive-here', 'host-a', 1, at(60)),
        candidate('dead-here', 'host-a', 2, at(60)),
        candidate('lease-out', 'host-a', 1, at(-1)),
        candidate('lease-out-elsewhere', 'host-b', 2, at(-1)),
        candidate('outbox-held-alive', 'host-a', 1, at(60), 'outbox'),
        candidate('outbox-held-dead', 'host-a', 2, at(60), 'outbox'),
        candidate('outbox-released', 'host-a', 2, at(-1), 'outbox'),
      ]);
    });

    it('refuses to start when no schema of the search_path exists, naming the server', { skip: engine.name !== 'postgres' && 'a SQLite file has no schemas' }, async () => {
      const location = await engine.freshLocation();
      const url = location.engine === 'postgres' ? location.url.replace(/search_path%3D\w+/, 'search_path%3Dumpin_no_such_schema') : '';
      await assert.rejects(openPinStore({ engine: 'postgres', url }), {
        message: `PostgreSQL at ${POSTGRES_SERVER}: no schema of the search_path exists; create one (CREATE SCHEMA …) or set search_path`,
      });
    });

    const noRowLocks = engine.name === 'postgres' ? false : 'SQLite has no row locks: it lets one writer in at a time';
    it('opens while other schemas of the database come and go (the stock introspector read them all)', { skip: engine.name !== 'postgres' && 'a SQLite file has no schemas' }, async () => {
      const location = await engine.freshLocation();
      // Other applications' (or tests') schemas, each with a serial column, created and dropped over and over.
      let churning = true;
      const churns = Array.from({ length: 3 }, async (_, c) => {
        const other = new pg.Client({ connectionString: location.engine === 'postgres' ? location.url : '' });
        await other.connect();
        try {
          const tables = (name: string) => Array.from({ length: 20 }, (_, n) => `create table ${name}.t${n} (id serial primary key, a text);`).join(' ');
          let previous: string | undefined;
          for (let i = 0; churning; i += 1) {
            const name = `umpin_churn_${process.pid}_${c}_${i}`;
            await other.query(`create schema ${name}; ${tables(name)}`);
            if (previous) await other.query(`drop schema ${previous} cascade`);
            previous = name;
          }
          if (previous) await other.query(`drop schema ${previous} cascade`);
        } finally {
          await other.end();
        }
      });
      try {
        for (let i = 0; i < 40; i += 1) await (await openPinStore(location)).close();
      } finally {
        churning = false;
        await Promise.all(churns);
      }
    });

    describe('row locks, seen from another instance\'s connection', { skip: noRowLocks }, () => {
      async function otherInstance(t: TestContext, location: DatabaseLocation): Promise<pg.Client> {
        const client = new pg.Client({ connectionString: location.engine === 'postgres' ? location.url : '' });
        await client.connect();
        t.after(() => client.end());
        return client;
      }

      it('an activation waits while another instance changes the mailbox, then finds itself superseded', async (t) => {
        const location = await engine.freshLocation();
        const store = await openStore(t, location);
        await store.createMailbox(newMailbox('alice', '100'), T0);
        await store.beginPinChange(pinChange('c1', 'alice'), T0);
        const other = await otherInstance(t, location);
        await other.query('begin');
        await other.query("update mailboxes set pin_generation = pin_generation + 1 where login = 'alice'");
        const activation = store.activatePinChange('c1', at(1), auditEvent('pin.reset', 'alice', at(1)));
        assert.equal(await Promise.race([activation.then(() => 'done'), delay(300).then(() => 'waiting')]), 'waiting');
        await other.query('commit');
        // Without the lock at the read, the activation read generation 0 and its UPDATE found the row changed: an error.
        assert.equal(await activation, 'superseded');
        assert.equal((await store.findMailbox('alice'))?.hasPin, false);
      });

      it('a claim passes over a row another instance is claiming instead of waiting for it', async (t) => {
        const location = await engine.freshLocation();
        const store = await openStore(t, location);
        await store.createMailbox(newMailbox('alice', '100'), T0);
        await store.createMailbox(newMailbox('bob', '200'), T0);
        await store.beginPinChange(queuedChange('m1', 'alice'), T0);
        await store.beginPinChange(queuedChange('m2', 'bob'), T0);
        const other = await otherInstance(t, location);
        await other.query('begin');
        await other.query("select id from pending_pin_changes where id = 'm1' for update");
        const claim = store.claimDueMail(at(1), { host: 'h', pid: 1 }, at(60), 10);
        const first = await Promise.race([claim, delay(2_000).then(() => 'waited for the locked row')]);
        await other.query('rollback');
        assert.deepEqual(typeof first === 'string' ? first : first.map((m) => m.id), ['m2']);
        assert.deepEqual((await store.claimDueMail(at(1), { host: 'h', pid: 1 }, at(60), 10)).map((m) => m.id), ['m1'], 'free again');
      });
    });
  });
}

describe('openPinStore on PostgreSQL', () => {
  it('fails fast, saying where and why, without the password, when the server does not answer', async () => {
    const started = Date.now();
    const error = await openPinStore({ engine: 'postgres', url: 'postgres://umpin:secretpw@127.0.0.1:1/umpin' }).then(
      () => assert.fail('opened a store on a closed port'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DatabaseUnavailable, 'a typed error, printed by the CLI without a stack');
    assert.equal(error.message, 'Cannot connect to PostgreSQL at 127.0.0.1:1/umpin (connect ECONNREFUSED 127.0.0.1:1); check that the server is running and reachable, and that UMPIN_DATABASE_URL names the right host, port, database, user and password.');
    assert.ok(!error.message.includes('secretpw'));
    assert.ok(Date.now() - started < 5_000);
  });
});
