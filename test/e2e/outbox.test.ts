/**
 * The durable outbox (issue 5) against a real smtp-server: changes nobody
 * waits for (admin reset, welcome, automatic reset) are retried on 4xx and
 * connection errors, given up on 5xx or after the deadline, activate only
 * on delivery, survive a restart, and are never sent twice by two workers.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { MailHandOffFailed } from '../../src/errors.ts';
import { openServices } from '../../src/open-services.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { resetPinByAdmin } from '../../src/operations/admin/pins.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import { deliverDueMail, dropOutboxMail, listOutbox } from '../../src/operations/outbox.ts';
import type { Services } from '../../src/operations/services.ts';
import { makeTestCertificate, startSmtpPeer, type SmtpPeer, type TestCertificate } from '../support/smtp-peer.ts';
import { REQUEST_XML, isActivePin, makeDataDir, postSoap, runUmpin, startTestService, type TestService } from '../support/service.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';
import { countPendingPinChanges } from '../support/store-readers.ts';

const PIN_LINE = /^ {4}(\d+)$/m;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const engine of await testEngines()) describe(`outbox (${engine.name})`, { skip: engine.skip }, () => {
  let database: TestDatabase | undefined;
  let certificate: TestCertificate;
  let peer: SmtpPeer;
  let dataDir: string;
  let env: Record<string, string>;
  let service: TestService;
  const pins = new Map<string, string>();

  const lastPinTo = (address: string) => {
    const mail = [...peer.received].reverse().find((m) => m.envelope.to.includes(address));
    return PIN_LINE.exec(mail?.parsed.text ?? '')?.[1] ?? '';
  };

  before(async () => {
    certificate = await makeTestCertificate();
    peer = await startSmtpPeer({ tls: 'starttls', certificate });
    dataDir = await makeDataDir();
    database = await engine.database('e2e_outbox');
    env = {
      ...database.env,
      UMPIN_SMTP_URL: `smtp://127.0.0.1:${peer.port}`,
      UMPIN_SMTP_CA_FILE: certificate.certFile,
      UMPIN_MAIL_TIMEOUT_MS: '10000', // every relay answer here is immediate; the timeout only has to survive a loaded machine
      UMPIN_OUTBOX_RETRY_MS: '100',
    };
    service = await startTestService(env, dataDir);
    // Eight CLI processes at once on two cores: give their welcome mails time.
    const patient = { ...service.env, UMPIN_MAIL_TIMEOUT_MS: '20000' };
    await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const login = `q${i}`;
      assert.equal((await runUmpin(['user', 'add', login, '--password-stdin'], patient, `pw-${login}\n`)).code, 0);
      const enabled = await runUmpin(['mailbox', 'enable', login, '--email', `${login}@example.com`, '--extension', `${7000 + i}`], patient);
      assert.equal(enabled.code, 0, enabled.stderr);
      pins.set(login, lastPinTo(`${login}@example.com`));
    }));
    assert.deepEqual(await listOutbox(service.services), [], 'every welcome mail went out at once');
  });
  after(async () => {
    await service?.close();
    await peer?.close();
    await certificate?.dispose();
    await database?.dispose();
  });

  // q0…q7 (made above) each belong to one test; a test that would otherwise
  // reuse one another test changed makes its own here, so each runs alone
  // (--test-name-pattern) and none depends on a PIN another left.
  /** A new mailbox, its welcome mail accepted by the relay; answers its PIN. */
  async function provision(login: string, extension: string): Promise<string> {
    peer.setReply({ kind: 'accept' });
    await addUser(service.services, login, `pw-${login}`);
    await enableMailbox(service.services, login, { email: `${login}@example.com`, extension });
    const pin = lastPinTo(`${login}@example.com`);
    assert.match(pin, /^\d{6}$/, 'the welcome mail went out');
    return pin;
  }

  const runUntilEmpty = async (services: Services) => {
    for (let i = 0; i < 20 && (await listOutbox(services)).length > 0; i += 1) {
      await pause(120);
      await deliverDueMail(services);
    }
  };

  it('451 then 250: queued with the old PIN working, delivered by the worker, activated once', async () => {
    const { services } = service;
    peer.setReply({ kind: 'reject', code: 451, message: 'greylisted' });
    const before = peer.dataCount();
    const outcome = await resetPinByAdmin(services, 'q0', {});
    assert.equal(outcome.receipt, undefined);
    assert.match(outcome.queued?.reply ?? '', /^451/);
    assert.equal(await isActivePin(services, 'q0', pins.get('q0') ?? ''), true, 'the old PIN works while the mail waits');
    const [queued] = await listOutbox(services);
    assert.deepEqual([queued?.login, queued?.recipient, queued?.attempts, queued?.inFlight], ['q0', 'q0@example.com', 1, false]);
    assert.ok((queued?.nextAttemptAt.getTime() ?? 0) - (queued?.createdAt.getTime() ?? 0) >= 100, 'the retry waits');
    const [listed, shown] = await Promise.all([service.umpin(['outbox', '--json']), service.umpin(['pin', 'show', 'q0', '--json'])]);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    const waiting = rows.find((r) => r.login === 'q0' && r.status !== 'delivered');
    assert.ok(waiting, 'umpin outbox lists the waiting mail');
    assert.equal(waiting.recipient, 'q0@example.com');
    assert.match(String(waiting.lastReply), /^451/);
    assert.deepEqual(Object.keys((JSON.parse(shown.stdout) as { lastMail: object }).lastMail), ['status', 'at', 'reply']);
    assert.equal((JSON.parse(shown.stdout) as { lastMail: { status: string } }).lastMail.status, 'retrying');

    await pause(120);
    const second = await deliverDueMail(services);
    assert.deepEqual(second.results.map((r) => r.status), ['Retry']);
    peer.setReply({ kind: 'accept' });
    await pause(220);
    const third = await deliverDueMail(services);
    assert.deepEqual(third.results.map((r) => [r.login, r.status]), [['q0', 'Sent']]);
    assert.equal(peer.dataCount() - before, 3, 'three attempts reached the relay');

    const pin = lastPinTo('q0@example.com');
    assert.equal(await isActivePin(services, 'q0', pin), true);
    assert.equal(await isActivePin(services, 'q0', pins.get('q0') ?? ''), false);
    assert.deepEqual(await listOutbox(services), []);
    const events = (await services.store.listAudit({ login: 'q0' })).filter((e) => e.event === 'pin.admin-reset').map((e) => e.outcome);
    assert.deepEqual(events, ['mail-queued', 'mail-queued', 'success']);
  });

  it('550 at once: the admin reset fails and nothing is queued', async () => {
    peer.setReply({ kind: 'reject', code: 550, message: 'no such user' });
    await assert.rejects(resetPinByAdmin(service.services, 'q1', {}), (error: Error) => error instanceof MailHandOffFailed && error.facts.permanent);
    assert.deepEqual(await listOutbox(service.services), []);
    assert.equal(await isActivePin(service.services, 'q1', pins.get('q1') ?? ''), true);
  });

  it('550 on a retry, and a mail past its deadline: given up, the old PIN stays, the sealed mail is gone', async () => {
    const services = service.services;
    pins.set('r1', await provision('r1', '7101'));
    peer.setReply({ kind: 'reject', code: 451, message: 'later' });
    await resetPinByAdmin(services, 'r1', {});
    const impatient: Services = { ...services, mail: { ...services.mail, giveUpAfterMs: 0 } };
    await resetPinByAdmin(impatient, 'q2', {});
    peer.setReply({ kind: 'reject', code: 550, message: 'no such user' });
    await pause(120);
    const run = await deliverDueMail(services);
    assert.deepEqual(run.results.map((r) => r.status).sort(), ['Failed', 'Failed']);
    assert.deepEqual(await listOutbox(services), []);
    for (const login of ['r1', 'q2']) assert.equal(await isActivePin(services, login, pins.get(login) ?? ''), true);
    assert.equal(await countPendingPinChanges(services.store), 0);
  });

  it('two workers racing on one outbox deliver each message once', async () => {
    peer.setReply({ kind: 'reject', code: 421, message: 'busy' });
    const logins = ['q3', 'q4', 'q5', 'q6'];
    for (const login of logins) assert.ok((await resetPinByAdmin(service.services, login, {})).queued);
    peer.setReply({ kind: 'accept' });
    const second = await openServices(loadConfig({ ...env, UMPIN_DATA_DIR: dataDir, UMPIN_LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
    try {
      await pause(120);
      const before = peer.received.length;
      const [a, b] = await Promise.all([deliverDueMail(service.services), deliverDueMail(second.services)]);
      const sent = [...a.results, ...b.results].filter((r) => r.status === 'Sent').map((r) => r.login).sort();
      assert.deepEqual(sent, logins);
      const delivered = peer.received.slice(before).flatMap((m) => m.envelope.to).sort();
      assert.deepEqual(delivered, logins.map((l) => `${l}@example.com`), 'each message reached the relay once');
      for (const login of logins) assert.equal(await isActivePin(service.services, login, lastPinTo(`${login}@example.com`)), true);
    } finally {
      await second.close();
    }
  });

  it('a queued mail survives a restart and is delivered after it', async () => {
    peer.setReply({ kind: 'reject', code: 451, message: 'later' });
    assert.ok((await resetPinByAdmin(service.services, 'q7', {})).queued);
    await service.close();
    peer.setReply({ kind: 'accept' });
    service = await startTestService(env, dataDir);
    assert.equal((await listOutbox(service.services)).length, 1);
    await runUntilEmpty(service.services);
    assert.equal(await isActivePin(service.services, 'q7', lastPinTo('q7@example.com')), true);
  });

  it("the user's own reset supersedes a queued mail; an administrator may drop one", async () => {
    await provision('s3', '7103');
    const active = await provision('s4', '7104');
    peer.setReply({ kind: 'reject', code: 451, message: 'later' });
    assert.ok((await resetPinByAdmin(service.services, 's3', {})).queued);
    peer.setReply({ kind: 'accept' });
    const response = await postSoap(service.endpoint, await readFile(REQUEST_XML), { login: 's3', password: 'pw-s3' });
    assert.equal(response.status, 200);
    assert.deepEqual(await listOutbox(service.services), []);
    assert.equal(await isActivePin(service.services, 's3', lastPinTo('s3@example.com')), true);
    assert.ok((await service.services.store.listAudit({ login: 's3' })).some((e) => e.outcome === 'superseded'));

    peer.setReply({ kind: 'reject', code: 451, message: 'later' });
    const queued = (await resetPinByAdmin(service.services, 's4', {})).queued;
    assert.ok(queued);
    await dropOutboxMail(service.services, queued.id);
    assert.deepEqual(await listOutbox(service.services), []);
    assert.equal(await isActivePin(service.services, 's4', active), true);
    peer.setReply({ kind: 'accept' });
  });
});
