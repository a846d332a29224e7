/**
 * ResetPIN end to end over a real socket: CLI-provisioned mailbox, the
 * reference request bytes, the mail file parsed as a mail client would, the
 * PIN checked against the policy and the stored verifier.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { checkPin } from '../../src/pin/index.ts';
import { renderResetPinResponse } from '../../src/soap/render.ts';
import { MESSAGES_NS } from '../../src/soap/namespaces.ts';
import {
  REQUEST_XML, isActivePin, listMailFiles, newPinMails, postSoap, provisionMailbox, startTestService, type TestService,
} from '../support/service.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';
import { countPendingPinChanges, findRememberedPinVerifiers } from '../support/store-readers.ts';

for (const engine of await testEngines()) describe(`ResetPIN end to end (${engine.name} + pickup directory)`, { skip: engine.skip }, () => {
  let database: TestDatabase | undefined;
  let service: TestService;
  let requestBytes: Buffer;

  before(async () => {
    database = await engine.database('e2e_reset_pin');
    service = await startTestService(database.env);
    requestBytes = await readFile(REQUEST_XML);
  });
  after(async () => {
    await service?.close();
    await database?.dispose();
  });

  // Every test provisions its own mailbox, so each can run alone
  // (--test-name-pattern) and none sees another's resets, mails or audit rows.
  const provision = async (login: string) => ({ login, welcomePin: await provisionMailbox(service, login, 'correct horse') });

  const reset = (login: string, password = 'correct horse') =>
    postSoap(service.endpoint, requestBytes, {
      login, password,
      headers: { soapaction: `"${MESSAGES_NS}/ResetPIN"` },
    });

  /** One reset of `login` that must succeed, and the one mail it wrote. */
  const resetAndRead = async (login: string) => {
    const mailsBefore = await listMailFiles(service.config.pickupDir);
    assert.equal((await reset(login)).status, 200);
    const mails = await newPinMails(service.config.pickupDir, mailsBefore);
    assert.equal(mails.length, 1);
    const [mail] = mails;
    assert.ok(mail);
    return mail;
  };

  it('the welcome mail carries the first PIN, which is active', async () => {
    const { login, welcomePin } = await provision('welcomed');
    assert.equal(await isActivePin(service.services, login, welcomePin), true);
  });

  it('answers the reference response and mails a new PIN that obeys the policy and is now the PIN', async () => {
    const { login, welcomePin } = await provision('alice');
    const mailsBefore = await listMailFiles(service.config.pickupDir);
    const response = await reset(login);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/xml; charset=utf-8');
    assert.equal(response.body, renderResetPinResponse(MESSAGES_NS));

    const mails = await newPinMails(service.config.pickupDir, mailsBefore);
    assert.equal(mails.length, 1);
    const [mail] = mails;
    assert.ok(mail);
    assert.equal(mail.to, 'alice@example.com');
    assert.equal(mail.subject, 'Your voice mail PIN has been reset');
    for (const header of ['date', 'message-id', 'from']) assert.ok(mail.headers.has(header), `${header} is present`);
    assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
    assert.doesNotMatch(mail.subject, /\d{4,}/, 'the PIN is never in the subject');

    const mailbox = await service.services.store.findMailbox(login);
    assert.ok(mailbox);
    assert.equal(mail.pin.length, mailbox.policy.minPinLength);
    assert.deepEqual(checkPin(mail.pin, mailbox.policy, { extension: mailbox.extension }), []);
    assert.equal(await isActivePin(service.services, login, mail.pin), true);
    assert.equal(await isActivePin(service.services, login, welcomePin), false);
    assert.equal(mailbox.pinExpired, true, 'the user must choose a PIN at the next phone logon');
    assert.equal(await countPendingPinChanges(service.services.store), 0);
  });

  it('a second reset gives a different PIN and puts the first in history', async () => {
    const { login, welcomePin } = await provision('twice');
    const firstResetPin = (await resetAndRead(login)).pin;
    const mail = await resetAndRead(login);
    assert.notEqual(mail.pin, firstResetPin);
    assert.equal(await isActivePin(service.services, login, mail.pin), true);

    const mailbox = await service.services.store.findMailbox(login);
    assert.ok(mailbox);
    const [current, ...history] = await findRememberedPinVerifiers(service.services.store, login);
    assert.ok(current);
    const firstVerifier = await service.services.kdf.pinVerifier(firstResetPin, mailbox.pinSalt);
    const welcomeVerifier = await service.services.kdf.pinVerifier(welcomePin, mailbox.pinSalt);
    assert.deepEqual(history, [firstVerifier, welcomeVerifier], 'history holds the earlier PINs, newest first');
  });

  it('history never grows past PINHistoryCount', async () => {
    const { login } = await provision('many-resets');
    const mailbox = await service.services.store.findMailbox(login);
    assert.ok(mailbox);
    // The welcome PIN and PINHistoryCount + 1 resets: one earlier PIN more than history holds.
    for (let i = 0; i < mailbox.policy.pinHistoryCount + 1; i += 1) assert.equal((await reset(login)).status, 200);
    const [, ...history] = await findRememberedPinVerifiers(service.services.store, login);
    assert.equal(history.length, mailbox.policy.pinHistoryCount);
  });

  it('audits every reset with who, when, where and the outcome, never the PIN', async () => {
    const { login, welcomePin } = await provision('audited');
    const pins = [welcomePin, (await resetAndRead(login)).pin, (await resetAndRead(login)).pin];
    const events = await service.services.store.listAudit({ login });
    const resets = events.filter((e) => e.event === 'pin.reset');
    assert.equal(resets.length, 2);
    for (const event of resets) {
      assert.equal(event.outcome, 'success');
      assert.equal(event.actor, login);
      assert.equal(event.source, '127.0.0.1');
      assert.ok(Date.now() - event.at.getTime() < 120_000);
    }
    const serialised = JSON.stringify(events);
    for (const pin of pins) assert.ok(!serialised.includes(pin), 'no PIN in the audit trail');
  });

  it('serialises concurrent resets of one mailbox: the active PIN is the one of the last mail', async () => {
    const { login } = await provision('concurrent');
    const mailsBefore = await listMailFiles(service.config.pickupDir);
    const answers = await Promise.all(Array.from({ length: 6 }, () => reset(login)));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
    const mails = await newPinMails(service.config.pickupDir, mailsBefore);
    assert.equal(mails.length, 6);
    const successes = (await service.services.store.listAudit({ login })).filter((e) => e.event === 'pin.reset' && e.outcome === 'success');
    const lastMessageId = successes.at(-1)?.detail?.messageId;
    const lastMail = mails.find((m) => m.headers.get('message-id') === lastMessageId);
    assert.ok(lastMail, 'the last activation names a mail that was written');
    assert.equal(await isActivePin(service.services, login, lastMail.pin), true);
    assert.equal(mails.filter((m) => m.pin === lastMail.pin).length, 1);
  });

  it('serves the WSDL without authentication, addressed to where it was asked for', async () => {
    for (const path of ['/EWS/UM2007Legacy.asmx?wsdl', '/UnifiedMessaging/Service.asmx?WSDL']) {
      const response = await fetch(`${service.url}${path}`);
      assert.equal(response.status, 200);
      const wsdl = await response.text();
      assert.match(wsdl, /<wsdl:operation name="ResetPIN">/);
      assert.ok(wsdl.includes(`<soap:address location="${service.url}${path.split('?')[0]}"/>`));
    }
  });

  it('answers GET without ?wsdl with a page that links to it, and other methods with 405', async () => {
    const page = await fetch(service.endpoint);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<a href="\/EWS\/UM2007Legacy\.asmx\?wsdl">/);
    const put = await fetch(service.endpoint, { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, POST');
  });
});
