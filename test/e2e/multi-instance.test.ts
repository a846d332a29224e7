/**
 * Issue 6: two `umpin serve` processes on one PostgreSQL schema and one
 * secret file, 200 concurrent ResetPIN calls spread over both for 20
 * mailboxes, while both outbox workers drain the 20 welcome mails the relay
 * first deferred. One real SMTP relay takes every mail, so each one can be
 * counted. What must hold (DESIGN §2): every call answers success or a typed
 * fault; each mailbox's active PIN is the one of its last mail; no change is
 * mailed twice; every activated change, and every success answer, has
 * exactly one mail; the outbox drains.
 *
 * The abuse limits are raised here: this test is about concurrency, and 100
 * calls per instance from one loopback address, 10 per login, would otherwise
 * meet UMPIN_LIMIT_REQUESTS_PER_MINUTE / UMPIN_LIMIT_RESETS_PER_HOUR.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { openServices } from '../../src/open-services.ts';
import { loadConfig } from '../../src/config.ts';
import { ServerBusy } from '../../src/errors.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { findLastMail } from '../../src/operations/admin/pins.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import { RESET_EFFECTS, changePin } from '../../src/operations/change-pin.ts';
import type { Services } from '../../src/operations/services.ts';
import { listOutbox } from '../../src/operations/outbox.ts';
import { MESSAGES_NS } from '../../src/soap/namespaces.ts';
import { renderResetPinResponse } from '../../src/soap/render.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';
import {
  REQUEST_XML, assertRun, isActivePin, listMailFiles, makeDataDir, newPinMails, postSoap, provisionMailbox, startServeProcess, startTestService,
  type ServeProcess, type SoapCall, type TestService,
} from '../support/service.ts';
import { startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp-peer.ts';
import { countPendingPinChanges } from '../support/store-readers.ts';

const MAILBOXES = 20;
const CALLS = 200;
const PIN_LINE = /^ {4}(\d+)$/m;
/** DESIGN §1.4: the response codes a fault may carry. */
const DESIGN_RESPONSE_CODES = new Set([
  'ErrorSchemaValidation', 'ErrorInvalidRequest', 'ErrorAccessDenied', 'ErrorUserNotUnifiedMessagingEnabled',
  'ErrorUnifiedMessagingRequestFailed', 'ErrorServerBusy', 'ErrorInternalServerError',
]);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const postgres = (await testEngines()).find((engine) => engine.name === 'postgres');

describe('two umpin instances on one PostgreSQL', { skip: postgres === undefined ? 'UMPIN_TEST_ENGINES leaves PostgreSQL out' : postgres.skip }, () => {
  let database: TestDatabase | undefined;
  let peer: SmtpPeer | undefined;
  let shared: string | undefined;
  let admin: TestService | undefined;
  const instances: ServeProcess[] = [];
  const logins = Array.from({ length: MAILBOXES }, (_, i) => `multi${i}`);

  before(async () => {
    if (!postgres) return;
    database = await postgres.database('e2e_multi');
    // A plain relay on loopback that both instances deliver to: every mail is counted in one place.
    peer = await startSmtpPeer({ tls: 'none' });
    shared = await makeDataDir();
    const env = {
      ...database.env,
      // The one secret every instance must share: passwords and PINs verify, and sealed mail opens, on either.
      UMPIN_SECRET_FILE: join(shared, 'secret.key'),
      UMPIN_SMTP_URL: `smtp://127.0.0.1:${peer.port}?tls=off`,
      // Generous on a loaded 2-core machine: a hand-off that timed out after the relay took the mail would be a mail without its PIN.
      UMPIN_MAIL_TIMEOUT_MS: '60000',
      UMPIN_OUTBOX_RETRY_MS: '100',
      UMPIN_OUTBOX_INTERVAL_MS: '200',
      UMPIN_LIMIT_REQUESTS_PER_MINUTE: '100000',
      UMPIN_LIMIT_RESETS_PER_HOUR: '100000',
    };
    // The administrator's side, in this process: it creates the schema and the secret, and reads the state afterwards.
    admin = await startTestService(env, join(shared, 'admin'));
    // The relay defers every welcome mail: all 20 wait in the outbox for the instances' workers.
    peer.setReply({ kind: 'reject', code: 451, message: 'try again later' });
    for (const [i, login] of logins.entries()) {
      await addUser(admin.services, login, `pw-${login}`);
      const outcome = await enableMailbox(admin.services, login, { email: `${login}@example.com`, extension: String(4000 + i) });
      assert.ok(outcome.queued, `the welcome mail of ${login} waits in the outbox`);
    }
    peer.setReply({ kind: 'accept' });
    instances.push(...await Promise.all(['a', 'b'].map((name) => startServeProcess({ ...env, UMPIN_DATA_DIR: join(shared ?? '', name) }))));
  });

  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await admin?.close();
    await peer?.close();
    await database?.dispose();
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  it('200 concurrent resets over both instances: success or a typed fault, the last mail\'s PIN active, each change mailed once, the outbox drained', { timeout: 240_000 }, async (t) => {
    assert.ok(admin && peer);
    const { services } = admin;
    const received: readonly ReceivedMail[] = peer.received;
    const requestBytes = await readFile(REQUEST_XML);
    // Each mailbox's calls alternate between the instances, 5 on each, racing for its one pending change;
    // half the mailboxes get their first call on one instance, half on the other.
    const calls = Array.from({ length: CALLS }, (_, i) => ({ login: logins[i % MAILBOXES] ?? '', instance: instances[(i + Math.floor(i / MAILBOXES)) % 2] }));
    const answers = await Promise.all(calls.map(async ({ login, instance }) => {
      assert.ok(instance);
      const response = await postSoap(instance.endpoint, requestBytes, {
        login, password: `pw-${login}`, headers: { soapaction: `"${MESSAGES_NS}/ResetPIN"` },
      });
      return { login, instance, response };
    }));

    const codes = new Map<string, number>();
    const successes = new Map<string, number>(logins.map((login) => [login, 0]));
    const servedBy = new Map<ServeProcess | undefined, number>();
    for (const { login, instance, response } of answers) {
      const code = responseCodeOf(response);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (code !== 'success') continue;
      successes.set(login, (successes.get(login) ?? 0) + 1);
      servedBy.set(instance, (servedBy.get(instance) ?? 0) + 1);
    }
    t.diagnostic(`answers: ${[...codes].map(([code, n]) => `${code} ${n}`).join(', ')}; successes per instance: ${instances.map((i) => servedBy.get(i) ?? 0).join(' and ')}`);
    for (const code of codes.keys()) if (code !== 'success') assert.ok(DESIGN_RESPONSE_CODES.has(code), `${code} is a response code of DESIGN §1.4`);
    assert.equal(codes.get('ErrorInternalServerError'), undefined, `no unexpected failure:\n${instances.map((i) => errorLines(i.output())).join('\n')}`);
    // Not asserted per instance: whichever instance first holds a mailbox's pending change usually keeps it while its
    // own queue for that mailbox lasts, and the other's calls end busy at once, so the split is lopsided by design.
    assert.ok((codes.get('success') ?? 0) > 0, 'resets succeed');

    // The inline resets are all answered; what may still wait is a welcome mail in the outbox.
    const deadline = Date.now() + 60_000;
    while ((await countPendingPinChanges(services.store)) > 0 && Date.now() < deadline) await pause(200);
    assert.deepEqual(await listOutbox(services), [], 'the outbox drained');
    assert.equal(await countPendingPinChanges(services.store), 0, 'no change is left pending');
    const outbox = await admin.umpin(['outbox', '--json']);
    assertRun(outbox, 0);
    assert.deepEqual((JSON.parse(outbox.stdout) as Array<{ status: string }>).filter((row) => row.status !== 'delivered'), [], 'umpin outbox shows only delivered mail');

    const messageIds = received.map((mail) => mail.parsed.messageId);
    assert.equal(new Set(messageIds).size, messageIds.length, 'no mail reached the relay twice');
    let welcomesDelivered = 0;
    for (const login of logins) {
      const mails = received.filter((mail) => mail.envelope.to.includes(`${login}@example.com`));
      const pins = mails.map(pinOf);
      assert.equal(new Set(pins).size, pins.length, `${login}: every mail carries a PIN of its own`);
      const activated = (await services.store.listAudit({ login }))
        .filter((e) => (e.event === 'pin.welcome' || e.event === 'pin.reset') && e.outcome === 'success');
      assert.deepEqual(
        activated.map((e) => String(e.detail?.messageId)).sort(), mails.map((mail) => mail.parsed.messageId).sort(),
        `${login}: each activated change has exactly one mail, and each mail an activated change`,
      );
      assert.equal(activated.filter((e) => e.event === 'pin.reset').length, successes.get(login), `${login}: each success answer activated one reset`);
      welcomesDelivered += activated.filter((e) => e.event === 'pin.welcome').length;
      const last = mails.at(-1);
      assert.ok(last, `${login} got mail`);
      assert.equal(await isActivePin(services, login, pinOf(last)), true, `${login}: the PIN of the last mail is the active one`);
      // What `umpin pin show` reports (asked of the CLI once below: 20 processes would cost more than they prove).
      const lastMail = await findLastMail(services, login);
      assert.equal(lastMail?.status, 'handed-off', `${login}: the last mail was handed off`);
      assert.match(lastMail.reply, /^250 /);
    }
    const shown = await admin.umpin(['pin', 'show', logins[0] ?? '', '--json']);
    assertRun(shown, 0);
    assert.deepEqual((JSON.parse(shown.stdout) as { lastMail?: object }).lastMail, JSON.parse(JSON.stringify(await findLastMail(services, logins[0] ?? ''))));
    t.diagnostic(`mails: ${received.length}, of them welcome mails delivered by the workers: ${welcomesDelivered} of ${MAILBOXES} (a reset supersedes one no worker holds yet)`);

    for (const instance of instances) {
      assert.equal(errorLines(instance.output()), '', 'neither instance logged an error');
      assert.doesNotMatch(instance.output(), /its change was gone/, 'no delivered mail lost its change');
    }
  });
});

// Regression (found by the test above): an instance read the mailbox, drew a PIN, and meanwhile the other
// instance began and activated a change; the first then mailed a PIN that could never activate, and the
// user's newest mail held a dead PIN. Made deterministic here: the other instance's whole reset runs
// inside this one's PIN draw.
for (const engine of await testEngines()) describe(`a change overtaken by another instance before its hand-off (${engine.name})`, { skip: engine.skip }, () => {
  let database: TestDatabase | undefined;
  let service: TestService | undefined;

  before(async () => {
    database = await engine.database('e2e_overtaken');
    service = await startTestService(database.env);
  });
  after(async () => {
    await service?.close();
    await database?.dispose();
  });

  it('gives way with ErrorServerBusy before any mail goes out; the PIN of the one mail sent is active', async () => {
    assert.ok(service);
    const { services } = service;
    const welcomePin = await provisionMailbox(service, 'olga', 'pw-olga');
    // A second instance: its own services (and in-process lock) on the same database and data directory.
    const other = await openServices(loadConfig({ ...service.env, UMPIN_LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
    try {
      const reset = (on: Services) => changePin(on, 'olga', { reason: 'reset', by: { actor: 'olga', source: '127.0.0.1' }, effects: RESET_EFFECTS });
      let overtaken = false;
      // The real KDF, except that its first PIN hash (during the draw) runs the other instance's reset first.
      // A Proxy with bound methods, because the Kdf keeps its keyring in private fields.
      const real = services.kdf;
      const overtakingKdf = new Proxy(real, {
        get(target, property) {
          if (property === 'pinVerifier') {
            return async (pin: string, salt: Buffer, keyId?: string) => {
              if (!overtaken) {
                overtaken = true;
                await reset(other.services);
              }
              return target.pinVerifier(pin, salt, keyId);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const mailsBefore = await listMailFiles(service.config.pickupDir);

      await assert.rejects(reset({ ...services, kdf: overtakingKdf }), (error: unknown) => {
        assert.ok(error instanceof ServerBusy);
        assert.equal(error.responseCode, 'ErrorServerBusy');
        assert.equal(error.message, 'Another PIN change for this mailbox has just finished; try again in a few seconds.');
        return true;
      });
      assert.ok(overtaken, 'the other instance ran its reset in between');
      const mails = await newPinMails(service.config.pickupDir, mailsBefore);
      assert.equal(mails.length, 1, 'only the change that activated was mailed');
      assert.equal(await isActivePin(services, 'olga', mails[0]?.pin ?? ''), true);
      assert.equal(await isActivePin(services, 'olga', welcomePin), false);
      assert.equal(await countPendingPinChanges(services.store), 0, 'the overtaken change left nothing pending');
      const outcomes = (await services.store.listAudit({ login: 'olga' })).filter((e) => e.event === 'pin.reset').map((e) => e.outcome);
      assert.deepEqual(outcomes.sort(), ['busy', 'success']);
    } finally {
      await other.close();
    }
  });
});

/** `success`, or the fault's ResponseCode after checking that its HTTP status and faultcode agree with DESIGN §1.4. */
function responseCodeOf({ status, headers, body }: SoapCall): string {
  if (status === 200) {
    assert.equal(body, renderResetPinResponse(MESSAGES_NS));
    return 'success';
  }
  const code = /<e:ResponseCode[^>]*>(\w+)<\/e:ResponseCode>/.exec(body)?.[1];
  assert.ok(code, `a fault with a ResponseCode, not: ${status} ${body}`);
  assert.match(body, /<faultcode>soap:(Client|Server)<\/faultcode>/);
  if (code === 'ErrorServerBusy') {
    assert.equal(status, 503);
    assert.match(headers.get('retry-after') ?? '', /^\d+$/);
  }
  return code;
}

function pinOf(mail: ReceivedMail): string {
  const pin = PIN_LINE.exec(mail.parsed.text ?? '')?.[1];
  assert.ok(pin, 'the mail has a PIN line');
  return pin;
}

/** pino's error and fatal lines (level ≥ 50). */
function errorLines(output: string): string {
  return output.split('\n').filter((line) => /"level":(5|6)\d/.test(line)).join('\n');
}
