/**
 * Directory sign-in end to end: a real OpenLDAP slapd on a free loopback
 * port, the service over HTTP, ResetPIN as a client sends it. What the user
 * sees (status, fault, mail) and what the directory saw (its bind log), and
 * for every refusal that nothing changed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DIRECTORY_RETRY_AFTER_SECONDS } from '../../src/auth/ldap-authenticator.ts';
import { AuthenticationFailed, ServerBusy } from '../../src/errors.ts';
import { MESSAGES_NS } from '../../src/soap/namespaces.ts';
import { renderFault, renderResetPinResponse } from '../../src/soap/render.ts';
import {
  REQUEST_XML, isActivePin, listMailFiles, newPinMails, postSoap, provisionMailbox, runUmpin, snapshotState, startTestService, type SoapCall, type TestService,
} from '../support/service.ts';
import {
  BASE_DN, DIRECTORY_USERS, SERVICE_DN, SERVICE_PASSWORD, startSlapd, userDn, type Slapd,
} from '../support/slapd.ts';
import { peerSkip } from '../support/peers.ts';

const skipDirectory = await peerSkip('slapd');
import { freePort, startSilentServer } from '../support/net.ts';

const ALICE_PASSWORD = DIRECTORY_USERS[0]?.password ?? '';
const BOB_PASSWORD = DIRECTORY_USERS[1]?.password ?? '';
const CAROL_PASSWORD = DIRECTORY_USERS[2]?.password ?? '';
const ACCESS_DENIED = renderFault(new AuthenticationFailed('umpin'));
const UNAVAILABLE_SENTENCE = 'The directory that checks your password did not answer, so you were not signed in; try again in a minute, and tell your administrator if it keeps failing.';
const TIMEOUT_MS = 1000;

let request: Buffer;
let secretsDir: string;
let passwordFile: string;

before(async () => {
  request = await readFile(REQUEST_XML);
  secretsDir = await mkdtemp(join(tmpdir(), 'umpin-ldap-secrets-'));
  passwordFile = join(secretsDir, 'bind-password');
  await writeFile(passwordFile, `${SERVICE_PASSWORD}\n`, { mode: 0o600 });
});
after(() => rm(secretsDir, { recursive: true, force: true }));

const reset = (service: TestService, login: string, password: string): Promise<SoapCall> =>
  postSoap(service.endpoint, request, { login, password, headers: { soapaction: `"${MESSAGES_NS}/ResetPIN"` } });

/** Enables a mailbox only; its owner signs in through the directory, so there is no local user. */
async function enableMailbox(service: TestService, login: string, email: string, extension: string): Promise<void> {
  const enabled = await service.umpin(['mailbox', 'enable', login, '--email', email, '--extension', extension]);
  assert.equal(enabled.code, 0, enabled.stderr);
}

function assertAccessDenied(answer: SoapCall, context = ''): void {
  assert.equal(answer.status, 401, `${context}\n${answer.body}`);
  assert.equal(answer.headers.get('www-authenticate'), 'Basic realm="umpin", charset="UTF-8"');
  assert.equal(answer.body, ACCESS_DENIED, context);
}

function assertDirectoryUnavailable(answer: SoapCall): void {
  assert.equal(answer.status, 503, answer.body);
  assert.equal(answer.headers.get('retry-after'), String(DIRECTORY_RETRY_AFTER_SECONDS));
  assert.equal(answer.body, renderFault(new ServerBusy(DIRECTORY_RETRY_AFTER_SECONDS, UNAVAILABLE_SENTENCE)));
}

/** Asserts one successful reset: the reference response, one mail to `email` whose PIN is now active. */
async function assertResetWorks(service: TestService, login: string, password: string, mailbox: string, email: string): Promise<void> {
  const before = await listMailFiles(service.config.pickupDir);
  const answer = await reset(service, login, password);
  assert.equal(answer.status, 200, answer.body);
  assert.equal(answer.body, renderResetPinResponse(MESSAGES_NS));
  const mails = await newPinMails(service.config.pickupDir, before);
  assert.equal(mails.length, 1);
  assert.equal(mails[0]?.to, email);
  assert.equal(await isActivePin(service.services, mailbox, mails[0]?.pin ?? ''), true);
}

describe('sign-in against OpenLDAP (search as a service account, then bind as the entry)', { skip: skipDirectory }, () => {
  let slapd: Slapd;
  let service: TestService;
  const logins = ['alice', 'bob', 'carol'];

  before(async () => {
    slapd = await startSlapd();
    service = await startTestService({
      UMPIN_LDAP_URL: slapd.url,
      UMPIN_LDAP_BASE_DN: BASE_DN,
      UMPIN_LDAP_BIND_DN: SERVICE_DN,
      UMPIN_LDAP_BIND_PASSWORD_FILE: passwordFile,
      UMPIN_LDAP_TIMEOUT_MS: '5000',
    });
    await enableMailbox(service, 'alice', 'alice@example.com', '36001');
    // bob and carol are also local users, with passwords of their own.
    await provisionMailbox(service, 'bob', 'bob local pw', '36002');
    await provisionMailbox(service, 'carol', 'carol local pw', '36003');
  });
  after(async () => {
    await service?.close();
    await slapd?.stop();
  });

  it('the right directory password resets the PIN; the directory saw the service account and then alice bind', async () => {
    await assertResetWorks(service, 'alice', ALICE_PASSWORD, 'alice', 'alice@example.com');
    assert.deepEqual((await slapd.successfulBinds()).slice(-2), [SERVICE_DN, userDn('alice')]);
  });

  it("another spelling the directory equates ('ALICE') signs in as the entry's own login, alice", async () => {
    await assertResetWorks(service, 'ALICE', ALICE_PASSWORD, 'alice', 'alice@example.com');
  });

  it('a wrong password is the 401 fault and changes nothing', async () => {
    const before = await snapshotState(service, logins);
    assertAccessDenied(await reset(service, 'alice', 'not alice directory pw'));
    assert.deepEqual(await snapshotState(service, logins), before);
    assert.deepEqual((await slapd.attemptedBinds()).slice(-1), [userDn('alice')], 'the directory was asked, and refused');
    assert.notEqual((await slapd.successfulBinds()).at(-1), userDn('alice'));
  });

  it('an unknown user gets the very same 401 and changes nothing', async () => {
    const before = await snapshotState(service, logins);
    assertAccessDenied(await reset(service, 'mallory', ALICE_PASSWORD));
    assert.deepEqual(await snapshotState(service, logins), before);
  });

  it('an empty password is refused before any bind as the entry (LDAP would call it an unauthenticated bind)', async () => {
    const binds = (await slapd.attemptedBinds()).length;
    const before = await snapshotState(service, logins);
    assertAccessDenied(await reset(service, 'alice', ''));
    assert.deepEqual(await snapshotState(service, logins), before);
    assert.equal((await slapd.attemptedBinds()).length, binds, 'the directory was not asked at all');
  });

  for (const login of ['*', 'alice)(uid=*', '*)(|(uid=*', 'ali*', 'alice\u0000', 'alice\u0000)(uid=*', '\\61lice', 'alice\\', '\\2a', userDn('alice'), `uid=alice,${BASE_DN}`]) {
    it(`an injection attempt in the login (${JSON.stringify(login)}) with alice's password is the 401 and binds as no one`, async () => {
      const successes = (await slapd.successfulBinds()).length;
      const before = await snapshotState(service, logins);
      assertAccessDenied(await reset(service, login, ALICE_PASSWORD), login);
      assert.deepEqual(await snapshotState(service, logins), before);
      const newBinds = (await slapd.successfulBinds()).slice(successes);
      assert.deepEqual(newBinds.filter((dn) => dn !== SERVICE_DN), [], `binds: ${newBinds.join('; ')}`);
    });
  }

  it('a local login is decided by its local password only: the directory password does not sign bob in, and the directory is not asked', async () => {
    await assertResetWorks(service, 'bob', 'bob local pw', 'bob', 'bob@example.com');
    const attempted = (await slapd.attemptedBinds()).length;
    const before = await snapshotState(service, logins);
    assertAccessDenied(await reset(service, 'bob', BOB_PASSWORD));
    assert.deepEqual(await snapshotState(service, logins), before);
    assert.equal((await slapd.attemptedBinds()).length, attempted);
  });

  it("another spelling of a local login ('CAROL') is not let in through the directory entry it matches", async () => {
    const before = await snapshotState(service, logins);
    assertAccessDenied(await reset(service, 'CAROL', CAROL_PASSWORD));
    assert.deepEqual(await snapshotState(service, logins), before);
  });
});

describe("Active Directory's logins through configuration (anonymous search)", { skip: skipDirectory }, () => {
  let slapd: Slapd;
  const services: TestService[] = [];
  const start = async (loginAttribute: string) => {
    const service = await startTestService({ UMPIN_LDAP_URL: slapd.url, UMPIN_LDAP_BASE_DN: BASE_DN, UMPIN_LDAP_LOGIN_ATTRIBUTE: loginAttribute });
    services.push(service);
    return service;
  };

  before(async () => {
    slapd = await startSlapd();
  });
  after(async () => {
    for (const service of services) await service.close();
    await slapd?.stop();
  });

  it('userPrincipalName: alice@example.com signs in, in any case, as alice@example.com; uid alone does not', async () => {
    const service = await start('userPrincipalName');
    await enableMailbox(service, 'alice@example.com', 'alice@example.com', '36001');
    await assertResetWorks(service, 'alice@example.com', ALICE_PASSWORD, 'alice@example.com', 'alice@example.com');
    await assertResetWorks(service, 'Alice@Example.COM', ALICE_PASSWORD, 'alice@example.com', 'alice@example.com');
    const before = await snapshotState(service, ['alice@example.com']);
    assertAccessDenied(await reset(service, 'alice', ALICE_PASSWORD));
    assertAccessDenied(await reset(service, 'bob@example.com', BOB_PASSWORD), 'bob has no userPrincipalName');
    assert.deepEqual(await snapshotState(service, ['alice@example.com']), before);
  });

  it('sAMAccountName: alice signs in as alice', async () => {
    const service = await start('sAMAccountName');
    await enableMailbox(service, 'alice', 'alice@example.com', '36001');
    await assertResetWorks(service, 'alice', ALICE_PASSWORD, 'alice', 'alice@example.com');
    const before = await snapshotState(service, ['alice']);
    assertAccessDenied(await reset(service, 'alice', 'wrong'));
    assert.deepEqual(await snapshotState(service, ['alice']), before);
  });
});

describe('a directory that is down or silent: a 503 within the timeout, not a hang, not a failed sign-in', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** One failed sign-in blocks the login, so a second 503 with the directory's sentence proves nothing was counted. */
  async function assertUnavailableTwice(url: string): Promise<TestService> {
    const service = await startTestService({
      UMPIN_LDAP_URL: url, UMPIN_LDAP_BASE_DN: BASE_DN, UMPIN_LDAP_TIMEOUT_MS: String(TIMEOUT_MS), UMPIN_LIMIT_FAILED_SIGNINS: '1',
    });
    cleanups.push(() => service.close());
    await enableMailbox(service, 'alice', 'alice@example.com', '36001');
    const before = await snapshotState(service, ['alice']);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const started = Date.now();
      assertDirectoryUnavailable(await reset(service, 'alice', ALICE_PASSWORD));
      // The timeout is 1 s; a loaded machine gets generous slack, a hang would not end at all.
      assert.ok(Date.now() - started < 15_000, `answered after ${Date.now() - started} ms`);
    }
    assert.deepEqual(await snapshotState(service, ['alice']), before);
    return service;
  }

  it('a port where nothing listens', async () => {
    const service = await assertUnavailableTwice(`ldap://127.0.0.1:${await freePort()}`);
    // A local user does not depend on the directory.
    await provisionMailbox(service, 'dave', 'dave local pw', '36004');
    await assertResetWorks(service, 'dave', 'dave local pw', 'dave', 'dave@example.com');
  });

  it('a server that accepts the connection and never answers', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    await assertUnavailableTwice(`ldap://127.0.0.1:${silent.port}`);
  });

  it('a slapd that was stopped', { skip: skipDirectory }, async () => {
    const slapd = await startSlapd();
    const url = slapd.url;
    await slapd.stop();
    await assertUnavailableTwice(url);
  });
});

describe('umpin mailbox enable --from-directory (the mail and extension attributes)', { skip: skipDirectory }, () => {
  let slapd: Slapd;
  let service: TestService;

  before(async () => {
    slapd = await startSlapd();
    service = await startTestService({
      UMPIN_LDAP_URL: slapd.url, UMPIN_LDAP_BASE_DN: BASE_DN, UMPIN_LDAP_BIND_DN: SERVICE_DN, UMPIN_LDAP_BIND_PASSWORD_FILE: passwordFile,
    });
  });
  after(async () => {
    await service?.close();
    await slapd?.stop();
  });

  const mailboxJson = async (login: string) => JSON.parse((await service.umpin(['mailbox', 'show', login, '--json'])).stdout) as { email: string; extension: string };

  it("takes the address and extension from the login's entry; the welcome mail goes there and the user signs in with the directory password", async () => {
    const enabled = await service.umpin(['mailbox', 'enable', 'alice', '--from-directory']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /^Enabled alice for voice mail; .*alice@example\.com/);
    const alice = await mailboxJson('alice');
    assert.deepEqual([alice.email, alice.extension], ['alice@example.com', '36001']);
    await assertResetWorks(service, 'alice', ALICE_PASSWORD, 'alice', 'alice@example.com');
  });

  it('an option given on the command line wins over the directory', async () => {
    const enabled = await service.umpin(['mailbox', 'enable', 'bob', '--from-directory', '--extension', '4242']);
    assert.equal(enabled.code, 0, enabled.stderr);
    const bob = await mailboxJson('bob');
    assert.deepEqual([bob.email, bob.extension], ['bob@example.com', '4242']);
  });

  it('a login the directory does not know is refused (exit 1), saying what to do, and nothing is enabled', async () => {
    const refused = await service.umpin(['mailbox', 'enable', 'mallory', '--from-directory']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no single entry whose uid is "mallory".*give --email and --extension instead/);
    assert.equal((await service.umpin(['mailbox', 'show', 'mallory'])).code, 1);
  });

  it('without a directory configured it is a configuration error (exit 2) naming UMPIN_LDAP_URL', async () => {
    const env = Object.fromEntries(Object.entries(service.env).filter(([name]) => !name.startsWith('UMPIN_LDAP_')));
    const refused = await runUmpin(['mailbox', 'enable', 'carol', '--from-directory'], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /UMPIN_LDAP_URL: --from-directory needs a directory/);
  });
});
