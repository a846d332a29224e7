/**
 * ResetPIN delivered over SMTP to a real smtp-server (STARTTLS with a
 * certificate made here, AUTH): the relay's answer decides, and every
 * failure leaves the old PIN working with nothing pending.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import { MESSAGES_NS } from '../../src/soap/namespaces.ts';
import { renderResetPinResponse } from '../../src/soap/render.ts';
import { makeTestCertificate, startSmtpPeer, type SmtpPeer, type TestCertificate } from '../support/smtp-peer.ts';
import { REQUEST_XML, isActivePin, postSoap, startTestService, type TestService } from '../support/service.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';
import { countPendingPinChanges } from '../support/store-readers.ts';

const PIN_LINE = /^ {4}(\d+)$/m;
const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';

for (const engine of await testEngines()) describe(`ResetPIN over SMTP (${engine.name})`, { skip: engine.skip }, () => {
  let database: TestDatabase | undefined;
  let certificate: TestCertificate;
  let peer: SmtpPeer;
  let service: TestService;
  let request: Buffer;
  let olgaWelcomePin: string;

  before(async () => {
    certificate = await makeTestCertificate();
    peer = await startSmtpPeer({ tls: 'starttls', certificate, auth: { user: 'relay-user', pass: 'relay-pass' } });
    database = await engine.database('e2e_smtp_reset');
    service = await startTestService({
      ...database.env,
      UMPIN_SMTP_URL: `smtp://relay-user:relay-pass@127.0.0.1:${peer.port}`,
      UMPIN_SMTP_CA_FILE: certificate.certFile,
      UMPIN_MAIL_TIMEOUT_MS: '1500',
      UMPIN_MAIL_REPLY_TO: 'Help Desk <help@example.com>',
    });
    request = await readFile(REQUEST_XML);
    assert.equal((await service.umpin(['user', 'add', 'olga', '--password-stdin'], 'pw-olga\n')).code, 0);
    const enabled = await service.umpin(['mailbox', 'enable', 'olga', '--email', 'olga@example.com', '--extension', '4711']);
    assert.equal(enabled.code, 0, enabled.stderr);
    olgaWelcomePin = PIN_LINE.exec(peer.received.at(-1)?.parsed.text ?? '')?.[1] ?? '';
    assert.match(olgaWelcomePin, /^\d{6}$/, 'the welcome mail came over SMTP');
  });
  after(async () => {
    await service?.close();
    await peer?.close();
    await certificate?.dispose();
    await database?.dispose();
  });

  // olga (made with the CLI above) is the 250 test's alone; every other test
  // provisions its own mailbox here, so each can run alone (--test-name-pattern)
  // and none depends on the PIN or audit rows an earlier test left.
  let nextExtension = 4712;
  /** A new mailbox, its welcome mail accepted by the relay; answers its PIN. */
  async function provision(login: string): Promise<string> {
    peer.setReply({ kind: 'accept' });
    await addUser(service.services, login, `pw-${login}`);
    const before = peer.received.length;
    await enableMailbox(service.services, login, { email: `${login}@example.com`, extension: String(nextExtension++) });
    assert.equal(peer.received.length, before + 1);
    const pin = PIN_LINE.exec(peer.received.at(-1)?.parsed.text ?? '')?.[1] ?? '';
    assert.match(pin, /^\d{6}$/, 'the welcome mail came over SMTP');
    return pin;
  }

  const reset = (login: string) => postSoap(service.endpoint, request, { login, password: `pw-${login}` });

  async function expectFault(login: string, currentPin: string, message: string): Promise<void> {
    const response = await reset(login);
    assert.equal(response.status, 500);
    assert.ok(response.body.includes('<faultcode>soap:Server</faultcode>'));
    assert.ok(response.body.includes(`<e:ResponseCode xmlns:e="${ERRORS}">ErrorUnifiedMessagingRequestFailed</e:ResponseCode>`));
    assert.ok(response.body.includes(`<faultstring xml:lang="en">${message}</faultstring>`), response.body);
    assert.equal(await isActivePin(service.services, login, currentPin), true, 'the old PIN still works');
    assert.equal(await countPendingPinChanges(service.services.store), 0, 'nothing is pending');
  }
  const REFUSED = 'The e-mail with your new PIN was refused, so your PIN was not changed and your old PIN still works. Ask your administrator to check your e-mail address.';
  const NOT_NOW = 'The e-mail with your new PIN could not be sent now, so your PIN was not changed and your old PIN still works. Try again in a few minutes.';
  const lastAudit = async (login: string) => (await service.services.store.listAudit({ login })).at(-1);

  it('250: the mail went over STARTTLS with AUTH, and its PIN is now active', async () => {
    peer.setReply({ kind: 'accept' });
    const before = peer.received.length;
    const response = await reset('olga');
    assert.equal(response.status, 200);
    assert.equal(response.body, renderResetPinResponse(MESSAGES_NS));
    assert.equal(peer.received.length, before + 1);
    const mail = peer.received.at(-1);
    assert.ok(mail);
    assert.equal(mail.secure, true, 'STARTTLS was used');
    assert.equal(mail.user, 'relay-user');
    assert.deepEqual(mail.envelope.to, ['olga@example.com']);
    assert.equal(mail.parsed.headers.get('auto-submitted'), 'auto-generated');
    assert.ok(mail.parsed.messageId && mail.parsed.date);
    assert.equal(mail.parsed.replyTo?.text, '"Help Desk" <help@example.com>');
    const pin = PIN_LINE.exec(mail.parsed.text ?? '')?.[1] ?? '';
    assert.ok(!(mail.parsed.subject ?? '').includes(pin));
    assert.equal(await isActivePin(service.services, 'olga', pin), true);
    assert.equal(await isActivePin(service.services, 'olga', olgaWelcomePin), false);
    assert.match(String((await lastAudit('olga'))?.detail?.handOff), /^250/);
  });

  it('550: a permanent refusal, the old PIN stays', async () => {
    const pin = await provision('refused');
    peer.setReply({ kind: 'reject', code: 550, message: 'mailbox unavailable' });
    await expectFault('refused', pin, REFUSED);
    const audit = await lastAudit('refused');
    assert.deepEqual([audit?.outcome, audit?.detail?.permanent, audit?.detail?.responseCode], ['mail-failed', true, 550]);
  });

  for (const code of [451, 421]) {
    it(`${code}: a transient refusal, the old PIN stays`, async () => {
      const login = `later${code}`;
      const pin = await provision(login);
      peer.setReply({ kind: 'reject', code, message: 'try later' });
      await expectFault(login, pin, NOT_NOW);
      const audit = await lastAudit(login);
      assert.deepEqual([audit?.detail?.permanent, audit?.detail?.responseCode], [false, code]);
    });
  }

  it('a relay that stalls past the timeout: a transient fault, promptly', async () => {
    const pin = await provision('stalled');
    peer.setReply({ kind: 'stall' });
    const started = Date.now();
    await expectFault('stalled', pin, NOT_NOW);
    assert.ok(Date.now() - started < 5_000, 'bounded by UMPIN_MAIL_TIMEOUT_MS');
    peer.setReply({ kind: 'accept' });
  });

  it("delivers the PIN mail in each mailbox's language, text and HTML, the PIN in the body only", async () => {
    peer.setReply({ kind: 'accept' });
    const subjects: Record<string, string> = {
      en: 'Your voice mail PIN has been reset',
      de: 'Ihre Voicemail-PIN wurde zurückgesetzt',
      fr: 'Votre code PIN de messagerie vocale a été réinitialisé',
      'pt-BR': 'Seu PIN do correio de voz foi redefinido',
      ru: 'Ваш ПИН-код голосовой почты сброшен',
      'zh-CN': '您的语音邮件 PIN 已重置',
    };
    for (const [i, language] of Object.keys(subjects).entries()) {
      const login = `lang${i}`;
      await addUser(service.services, login, `pw-${login}`);
      await enableMailbox(service.services, login, { email: `${login}@example.com`, extension: `${4800 + i}`, language });
      const before = peer.received.length;
      const response = await postSoap(service.endpoint, request, { login, password: `pw-${login}` });
      assert.equal(response.status, 200);
      const mail = peer.received.at(-1);
      assert.ok(mail && peer.received.length === before + 1);
      assert.equal(mail.parsed.subject, subjects[language]);
      assert.equal(mail.parsed.headers.get('content-language'), language);
      const pin = PIN_LINE.exec(mail.parsed.text ?? '')?.[1] ?? '';
      assert.ok(typeof mail.parsed.html === 'string' && mail.parsed.html.includes(pin), 'the HTML part carries the PIN too');
      assert.ok(![...mail.parsed.headers.values()].some((v) => JSON.stringify(v).includes(pin)), 'no header carries the PIN');
      assert.equal(await isActivePin(service.services, login, pin), true);
    }
  });

  it('a relay that does not offer STARTTLS gets nothing in plain text', async () => {
    const pin = await provision('plain');
    const plain = await startSmtpPeer({ tls: 'none' });
    const other = await startTestService({ ...database?.env, UMPIN_SMTP_URL: `smtp://127.0.0.1:${plain.port}`, UMPIN_MAIL_TIMEOUT_MS: '1500' }, service.dataDir);
    try {
      const response = await postSoap(other.endpoint, request, { login: 'plain', password: 'pw-plain' });
      assert.equal(response.status, 500);
      assert.ok(response.body.includes(REFUSED), response.body);
      assert.equal(plain.dataCount(), 0, 'no message was sent');
      assert.equal(await isActivePin(service.services, 'plain', pin), true);
    } finally {
      await other.close();
      await plain.close();
    }
  });

  it('a relay that is down: a transient fault', async () => {
    const pin = await provision('unreached');
    await peer.close();
    await expectFault('unreached', pin, NOT_NOW);
  });
});
