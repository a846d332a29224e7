/**
 * The SMTP transport against a real smtp-server on 127.0.0.1:0 (STYLE 14):
 * TLS modes, the CA file, AUTH, every reply class, a relay that is down or
 * stalls, the pool. Each failure is checked for the facts the outbox decides
 * from and for what the relay must not have received.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError, MailHandOffFailed, type HandOffFacts } from '../../errors.ts';
import type { MailMessage } from '../transport.ts';
import { composePinMail } from '../compose-pin-mail.ts';
import { makeTestCertificate, startSmtpPeer, type SmtpPeer, type SmtpPeerOptions, type TestCertificate } from '../../../test/support/smtp-peer.ts';
import { classifySmtpError, SmtpTransport, type SmtpTransportOptions } from './smtp-transport.ts';
import { parseSmtpUrl } from './smtp-url.ts';

const TEST_TIMEOUT = { timeout: 15_000 };
const USER = 'umpin@example.com';
const PASSWORD = 'S3cret:p@ss/w%rd';
const URL_CREDENTIALS = `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}`;

const message: MailMessage = composePinMail({
  kind: 'reset', pin: '284619', from: 'Voice Mail <vm@example.com>', to: 'alice@example.com', extension: '36697', policyText: '',
});

describe('parseSmtpUrl', () => {
  it('smtp:// requires STARTTLS on port 587 by default, with the credentials percent-decoded', () => {
    assert.deepEqual(parseSmtpUrl(`smtp://${URL_CREDENTIALS}@relay.example.com`), {
      host: 'relay.example.com', port: 587, tlsMode: 'required', secure: false, requireTLS: true, ignoreTLS: false,
      auth: { user: USER, pass: PASSWORD },
    });
  });

  it('smtps:// is implicit TLS on port 465', () => {
    assert.deepEqual(parseSmtpUrl('smtps://relay.example.com'), {
      host: 'relay.example.com', port: 465, tlsMode: 'implicit', secure: true, requireTLS: false, ignoreTLS: false,
    });
    assert.equal(parseSmtpUrl('smtps://relay.example.com:2465?tls=required').port, 2465);
  });

  it('tls=off never sends STARTTLS, tls=opportunistic uses it when offered, tls=required is the default spelled out', () => {
    assert.deepEqual(parseSmtpUrl('smtp://127.0.0.1:25?tls=off'), {
      host: '127.0.0.1', port: 25, tlsMode: 'off', secure: false, requireTLS: false, ignoreTLS: true,
    });
    assert.deepEqual(parseSmtpUrl('smtp://relay.example.com:25/?tls=opportunistic'), {
      host: 'relay.example.com', port: 25, tlsMode: 'opportunistic', secure: false, requireTLS: false, ignoreTLS: false,
    });
    assert.equal(parseSmtpUrl('smtp://relay.example.com?tls=required').requireTLS, true);
  });

  it('takes an IPv6 literal without its brackets', () => {
    assert.equal(parseSmtpUrl('smtp://[::1]:2525?tls=off').host, '::1');
  });

  const invalid: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['not a URL', 'relay example', /not a valid URL/],
    ['a host without a scheme', 'relay.example.com:587', /must start with smtp:\/\/ .* smtps:\/\//],
    ['another scheme', `http://${URL_CREDENTIALS}@relay.example.com`, /smtp:\/\/ .* smtps:\/\//],
    ['port 0', `smtp://${URL_CREDENTIALS}@relay.example.com:0`, /port outside 1-65535/],
    ['a port over 65535', `smtp://${URL_CREDENTIALS}@relay.example.com:65536`, /not a valid URL/],
    ['a port that is not a number', `smtp://${URL_CREDENTIALS}@relay.example.com:smtp`, /not a valid URL/],
    ['an unknown query key', `smtp://${URL_CREDENTIALS}@relay.example.com?password=${PASSWORD}`, /unknown query parameter/],
    ['an unknown tls value', `smtp://${URL_CREDENTIALS}@relay.example.com?tls=${encodeURIComponent(PASSWORD)}`, /tls= value/],
    ['tls twice', 'smtp://relay.example.com?tls=off&tls=required', /more than once/],
    ['smtps with tls=off', 'smtps://relay.example.com?tls=off', /smtps:\/\/ \(always TLS\)/],
    ['a path (an unencoded / in the password)', 'smtp://user:2525/S3cret@relay.example.com', /path/],
    ['a user without a password', 'smtp://user@relay.example.com', /both a user and a password/],
    ['a password without a user', 'smtp://:S3cret@relay.example.com', /both a user and a password/],
    ['a malformed %-escape', 'smtp://user:S3cret%zz@relay.example.com', /%-escape/],
    ['no host', 'smtp:///?tls=off', /no host/],
  ];
  for (const [what, url, problem] of invalid) {
    it(`rejects ${what} with a TypeError naming UMPIN_SMTP_URL and no part of the password`, () => {
      assert.throws(() => parseSmtpUrl(url), (error: unknown) => {
        assert.ok(error instanceof ConfigError && error instanceof TypeError);
        assert.equal(error.setting, 'UMPIN_SMTP_URL');
        assert.match(error.message, /^UMPIN_SMTP_URL: /);
        assert.match(error.message, problem);
        for (const secret of ['S3cret', encodeURIComponent(PASSWORD), '2525']) assert.ok(!error.message.includes(secret), `message leaks ${secret}`);
        return true;
      });
    });
  }

});

describe('classifySmtpError', () => {
  const cases: ReadonlyArray<readonly [string, unknown, HandOffFacts]> = [
    ['550 to DATA: permanent', { code: 'EMESSAGE', responseCode: 550, response: '550 5.7.1 Message rejected' },
      { permanent: true, responseCode: 550, reply: '550 5.7.1 Message rejected' }],
    ['553 to RCPT: permanent', { code: 'EENVELOPE', responseCode: 553, response: '553 5.1.3 Bad recipient address syntax' },
      { permanent: true, responseCode: 553, reply: '553 5.1.3 Bad recipient address syntax' }],
    ['503, which nodemailer calls transient: permanent, as RFC 5321 says', { code: 'EENVELOPE', responseCode: 503, response: '503 5.5.1 Error: need RCPT command', permanent: false },
      { permanent: true, responseCode: 503, reply: '503 5.5.1 Error: need RCPT command' }],
    ['451: transient', { code: 'EMESSAGE', responseCode: 451, response: '451 4.3.0 Try again later' },
      { permanent: false, responseCode: 451, reply: '451 4.3.0 Try again later' }],
    ['421 closing the connection: transient', { code: 'ECONNECTION', responseCode: 421, response: '421 4.3.2 Shutting down' },
      { permanent: false, responseCode: 421, reply: '421 4.3.2 Shutting down' }],
    ['535 to AUTH: permanent', { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Authentication credentials invalid' },
      { permanent: true, responseCode: 535, reply: '535 5.7.8 Authentication credentials invalid' }],
    ['454 to AUTH (temporary): the reply code wins over EAUTH', { code: 'EAUTH', responseCode: 454, response: '454 4.7.0 Temporary authentication failure' },
      { permanent: false, responseCode: 454, reply: '454 4.7.0 Temporary authentication failure' }],
    ['EAUTH without a reply (no credentials offered): permanent', { code: 'EAUTH' }, { permanent: true, reply: 'EAUTH' }],
    ['ETLS without a reply (the STARTTLS upgrade failed): permanent', { code: 'ETLS' }, { permanent: true, reply: 'ETLS' }],
    ['STARTTLS unknown to the relay (500): permanent', { code: 'ETLS', responseCode: 500, response: '500 5.5.2 Error: command not recognized' },
      { permanent: true, responseCode: 500, reply: '500 5.5.2 Error: command not recognized' }],
    ['STARTTLS refused for now (454): transient', { code: 'ETLS', responseCode: 454, response: '454 4.7.0 TLS not available' },
      { permanent: false, responseCode: 454, reply: '454 4.7.0 TLS not available' }],
    ['ECONNECTION: transient', { code: 'ECONNECTION' }, { permanent: false, reply: 'ECONNECTION' }],
    ['ETIMEDOUT: transient', { code: 'ETIMEDOUT' }, { permanent: false, reply: 'ETIMEDOUT' }],
    ['EDNS with the resolver code: transient', { code: 'EDNS', originalCode: 'ENOTFOUND' }, { permanent: false, reply: 'EDNS (ENOTFOUND)' }],
    ['an untrusted certificate (ESOCKET, DEPTH_ZERO_SELF_SIGNED_CERT): permanent', { code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
      { permanent: true, reply: 'ESOCKET (DEPTH_ZERO_SELF_SIGNED_CERT)' }],
    ['an expired certificate: permanent', { code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED' }, { permanent: true, reply: 'ESOCKET (CERT_HAS_EXPIRED)' }],
    ['a certificate for another name: permanent', { code: 'ESOCKET', originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      { permanent: true, reply: 'ESOCKET (ERR_TLS_CERT_ALTNAME_INVALID)' }],
    ['an OpenSSL protocol error (smtps:// to a plain port): permanent', { code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER' },
      { permanent: true, reply: 'ESOCKET (ERR_SSL_WRONG_VERSION_NUMBER)' }],
    ['a reset connection (ESOCKET, ECONNRESET): transient', { code: 'ESOCKET', originalCode: 'ECONNRESET' }, { permanent: false, reply: 'ESOCKET (ECONNRESET)' }],
    ['ESOCKET from a refused connection: transient', { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, { permanent: false, reply: 'ESOCKET (ECONNREFUSED)' }],
    ['a bare Node ECONNREFUSED: transient', { code: 'ECONNREFUSED' }, { permanent: false, reply: 'ECONNREFUSED' }],
    ['EABORT: transient', { code: 'EABORT' }, { permanent: false, reply: 'EABORT' }],
    ['an unexpected 3xx with EPROTOCOL: by the code, transient', { code: 'EPROTOCOL', responseCode: 354, response: '354 Go ahead' },
      { permanent: false, responseCode: 354, reply: '354 Go ahead' }],
    ['an unknown code: transient', { code: 'ESOMETHINGNEW' }, { permanent: false, reply: 'ESOMETHINGNEW' }],
    ['no code at all: transient, no reply', new Error('boom'), { permanent: false }],
    ['not an object: transient, no reply', 'boom', { permanent: false }],
    ['message text is never read', { message: '550 permanent failure, do not retry' }, { permanent: false }],
  ];
  for (const [what, error, facts] of cases) {
    it(what, () => assert.deepEqual(classifySmtpError(error), facts));
  }

  it('puts a multi-line reply on one line of at most 200 characters', () => {
    const response = `550-5.7.1 first line\r\n550 5.7.1 ${'x'.repeat(400)}`;
    const { reply } = classifySmtpError({ code: 'EMESSAGE', responseCode: 550, response });
    assert.ok(reply);
    assert.equal(reply.length, 200);
    assert.match(reply, /^550-5\.7\.1 first line 550 5\.7\.1 x+…$/);
  });
});

describe('SmtpTransport against smtp-server', TEST_TIMEOUT, () => {
  let certificate: TestCertificate;
  const peers: SmtpPeer[] = [];
  const transports: SmtpTransport[] = [];

  before(async () => {
    certificate = await makeTestCertificate();
  });
  after(async () => {
    await Promise.all(transports.map((transport) => transport.close()));
    await Promise.all(peers.map((peer) => peer.close()));
    await certificate.dispose();
  });

  async function peer(options: Omit<SmtpPeerOptions, 'certificate'>): Promise<SmtpPeer> {
    const started = await startSmtpPeer({ ...options, certificate });
    peers.push(started);
    return started;
  }
  function transport(url: string, options: Omit<SmtpTransportOptions, 'relay'> = {}): SmtpTransport {
    const created = new SmtpTransport({ relay: parseSmtpUrl(url), ...options });
    transports.push(created);
    return created;
  }
  const signal = () => AbortSignal.timeout(10_000);

  /** Runs a hand-off that must fail; returns its facts and nodemailer's code, and how long it took. */
  async function failedHandOff(sending: Promise<unknown>): Promise<{ facts: HandOffFacts; nodemailerCode: unknown; ms: number }> {
    const started = performance.now();
    const error = await sending.then(
      () => assert.fail('the hand-off succeeded'),
      (caught: unknown) => caught,
    );
    const ms = performance.now() - started;
    assert.ok(error instanceof MailHandOffFailed, `a MailHandOffFailed, got ${String(error)}`);
    assert.equal(error.code, 'ERR_MAIL_HANDOFF');
    const nodemailerCode = (error.cause as { code?: unknown } | undefined)?.code;
    return { facts: error.facts, nodemailerCode, ms };
  }

  describe('STARTTLS and AUTH', () => {
    let relay: SmtpPeer;
    before(async () => {
      relay = await peer({ tls: 'starttls', auth: { user: USER, pass: PASSWORD } });
    });

    it('delivers over STARTTLS with AUTH when the CA file trusts the relay, and answers with the 250 reply', async () => {
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile, localName: 'umpin.test' });
      const before = Date.now();
      const receipt = await smtp.handOff(message, signal());
      assert.match(receipt.messageId, /^<[^<>\s]+@example\.com>$/);
      assert.match(receipt.reply, /^250 .*Queued as test/);

      assert.equal(relay.received.length, 1);
      const [mail] = relay.received;
      assert.ok(mail);
      assert.equal(mail.secure, true);
      assert.equal(mail.user, USER);
      assert.deepEqual(mail.envelope, { from: 'vm@example.com', to: ['alice@example.com'] });
      assert.equal(mail.parsed.from?.text, '"Voice Mail" <vm@example.com>');
      assert.equal(mail.parsed.to && !Array.isArray(mail.parsed.to) ? mail.parsed.to.text : undefined, 'alice@example.com');
      assert.equal(mail.parsed.subject, 'Your voice mail PIN has been reset');
      assert.equal(mail.parsed.messageId, receipt.messageId);
      assert.equal(mail.parsed.headers.get('auto-submitted'), 'auto-generated');
      const date = mail.parsed.date;
      assert.ok(date instanceof Date);
      assert.ok(Math.abs(date.getTime() - before) < 60_000, 'Date is now');
      assert.equal(mail.parsed.text, message.text);
      assert.equal(typeof mail.parsed.html === 'string' && mail.parsed.html.includes('284619'), true, 'the HTML alternative went too');
    });

    it('sends an HTML part when the message carries one', async () => {
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile });
      const withHtml = { ...message, html: '<p>Your new PIN is <b>284619</b>.</p>' };
      const count = relay.received.length;
      await smtp.handOff(withHtml, signal());
      const mail = relay.received[count];
      assert.ok(mail);
      assert.equal(mail.parsed.html, '<p>Your new PIN is <b>284619</b>.</p>');
      assert.equal(mail.parsed.text, message.text);
    });

    it('without the CA file the self-signed certificate is refused: permanent, no AUTH tried, nothing delivered', async () => {
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`);
      const [received, data, authFailures] = [relay.received.length, relay.dataCount(), relay.authFailures()];
      const { facts, nodemailerCode } = await failedHandOff(smtp.handOff(message, signal()));
      assert.equal(nodemailerCode, 'ESOCKET');
      assert.deepEqual(facts, { permanent: true, reply: 'ESOCKET (DEPTH_ZERO_SELF_SIGNED_CERT)' });
      assert.equal(relay.received.length, received);
      assert.equal(relay.dataCount(), data);
      assert.equal(relay.authFailures(), authFailures);
    });

    it('a wrong password is EAUTH with the 535 reply: permanent, nothing delivered', async () => {
      const smtp = transport(`smtp://${encodeURIComponent(USER)}:wrong@127.0.0.1:${relay.port}`, { caFile: certificate.certFile });
      const [data, authFailures] = [relay.dataCount(), relay.authFailures()];
      const { facts, nodemailerCode } = await failedHandOff(smtp.handOff(message, signal()));
      assert.equal(nodemailerCode, 'EAUTH');
      assert.deepEqual(facts, { permanent: true, responseCode: 535, reply: '535 Invalid username or password' });
      assert.ok(relay.authFailures() > authFailures);
      assert.equal(relay.dataCount(), data);
    });

    it('reuses one pooled connection for two messages', async () => {
      const pooled = await peer({ tls: 'starttls', auth: { user: USER, pass: PASSWORD } });
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${pooled.port}`, { caFile: certificate.certFile });
      await smtp.handOff(message, signal());
      await smtp.handOff({ ...message, to: 'bob@example.com' }, signal());
      assert.equal(pooled.connectionCount(), 1);
      assert.deepEqual(pooled.received.map((mail) => [mail.connection, mail.envelope.to]), [[1, ['alice@example.com']], [1, ['bob@example.com']]]);
    });
  });

  describe('the relay refuses the message', () => {
    const refusals: ReadonlyArray<readonly [number, string, boolean, string]> = [
      [550, '5.7.1 Message rejected as spam', true, 'EMESSAGE'],
      [451, '4.3.0 Local error in processing, try again', false, 'EMESSAGE'],
      [421, '4.4.2 Closing connection, try again', false, 'EMESSAGE'],
    ];
    for (const [code, text, permanent, expectedNodemailerCode] of refusals) {
      it(`${code} to DATA is ${permanent ? 'permanent' : 'transient'} with the reply code and line`, async () => {
        const relay = await peer({ tls: 'starttls', auth: { user: USER, pass: PASSWORD }, reply: { kind: 'reject', code, message: text } });
        const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile });
        const { facts, nodemailerCode } = await failedHandOff(smtp.handOff(message, signal()));
        assert.equal(nodemailerCode, expectedNodemailerCode);
        assert.deepEqual(facts, { permanent, responseCode: code, reply: `${code} ${text}` });
        assert.equal(relay.dataCount(), 1, 'the message reached the end of DATA once');
        assert.deepEqual(relay.received, []);
      });
    }
  });

  describe('the relay is down or stalls', () => {
    it('a port with nothing listening is transient (ESOCKET, ECONNREFUSED)', async () => {
      const port = await closedPort();
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${port}`, { caFile: certificate.certFile, timeoutMs: 2_000 });
      const { facts, nodemailerCode } = await failedHandOff(smtp.handOff(message, signal()));
      assert.equal(nodemailerCode, 'ESOCKET');
      assert.deepEqual(facts, { permanent: false, reply: 'ESOCKET (ECONNREFUSED)' });
    });

    it('a relay that never answers DATA fails at timeoutMs: transient (ETIMEDOUT), nothing delivered', async () => {
      const relay = await peer({ tls: 'starttls', auth: { user: USER, pass: PASSWORD }, reply: { kind: 'stall' } });
      // Each step may take up to timeoutMs: 1.5 s lets the TLS handshake and AUTH finish on a loaded
      // machine, so the timeout is the stalled DATA's and not the handshake's.
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile, timeoutMs: 1_500 });
      const { facts, nodemailerCode, ms } = await failedHandOff(smtp.handOff(message, signal()));
      assert.equal(nodemailerCode, 'ETIMEDOUT');
      assert.deepEqual(facts, { permanent: false, reply: 'ETIMEDOUT' });
      assert.ok(ms >= 1_400 && ms < 10_000, `failed after ${Math.round(ms)} ms`);
      assert.equal(relay.dataCount(), 1);
      assert.deepEqual(relay.received, []);
    });

    it('the AbortSignal ends a stalled hand-off promptly: transient (EABORT), and the pool still delivers afterwards', async () => {
      const relay = await peer({ tls: 'starttls', auth: { user: USER, pass: PASSWORD }, reply: { kind: 'stall' } });
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile, timeoutMs: 10_000 });
      const { facts, nodemailerCode, ms } = await failedHandOff(smtp.handOff(message, AbortSignal.timeout(300)));
      assert.equal(nodemailerCode, 'EABORT');
      assert.deepEqual(facts, { permanent: false, reply: 'EABORT' });
      assert.ok(ms < 1_500, `failed after ${Math.round(ms)} ms`);
      assert.deepEqual(relay.received, []);

      relay.setReply({ kind: 'accept' });
      await smtp.handOff(message, signal());
      assert.equal(relay.received.length, 1);
      assert.equal(relay.connectionCount(), 2, 'the aborted delivery took its connection with it');
    });

    it('an already aborted signal fails at once without connecting', async () => {
      const relay = await peer({ tls: 'starttls', auth: { user: USER, pass: PASSWORD } });
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile });
      const { facts } = await failedHandOff(smtp.handOff(message, AbortSignal.abort()));
      assert.deepEqual(facts, { permanent: false, reply: 'EABORT' });
      assert.equal(relay.connectionCount(), 0);
    });
  });

  describe('TLS modes', () => {
    it('STARTTLS required (the default) against a relay without STARTTLS: refused before MAIL, permanent, nothing sent in plain text', async () => {
      const relay = await peer({ tls: 'none', auth: { user: USER, pass: PASSWORD } });
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile });
      const { facts, nodemailerCode } = await failedHandOff(smtp.handOff(message, signal()));
      assert.equal(nodemailerCode, 'ETLS');
      assert.deepEqual(facts, { permanent: true, responseCode: 500, reply: '500 Error: command not recognized' });
      assert.equal(relay.connectionCount(), 1);
      assert.equal(relay.authFailures(), 0, 'no credentials were sent');
      assert.equal(relay.dataCount(), 0);
      assert.deepEqual(relay.received, []);
    });

    it('STARTTLS required against a relay that hides STARTTLS from EHLO: nodemailer sends it anyway, and the message goes under TLS', async () => {
      const relay = await peer({ tls: 'hidden-starttls', auth: { user: USER, pass: PASSWORD } });
      const smtp = transport(`smtp://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile });
      await smtp.handOff(message, signal());
      assert.deepEqual(relay.received.map((mail) => mail.secure), [true]);
    });

    it('tls=off delivers in plain text to a loopback relay that offers no TLS', async () => {
      const relay = await peer({ tls: 'none' });
      const smtp = transport(`smtp://127.0.0.1:${relay.port}?tls=off`);
      const receipt = await smtp.handOff(message, signal());
      assert.match(receipt.reply, /^250 /);
      assert.deepEqual(relay.received.map((mail) => [mail.secure, mail.user, mail.parsed.subject]), [[false, undefined, message.subject]]);
    });

    it('tls=off does not upgrade even when the relay offers STARTTLS', async () => {
      const relay = await peer({ tls: 'starttls' });
      const smtp = transport(`smtp://127.0.0.1:${relay.port}?tls=off`);
      await smtp.handOff(message, signal());
      assert.deepEqual(relay.received.map((mail) => mail.secure), [false]);
    });

    it('tls=opportunistic upgrades when STARTTLS is offered and goes plain when it is not', async () => {
      const withTls = await peer({ tls: 'starttls' });
      const withoutTls = await peer({ tls: 'none' });
      await transport(`smtp://127.0.0.1:${withTls.port}?tls=opportunistic`, { caFile: certificate.certFile }).handOff(message, signal());
      await transport(`smtp://127.0.0.1:${withoutTls.port}?tls=opportunistic`).handOff(message, signal());
      assert.deepEqual(withTls.received.map((mail) => mail.secure), [true]);
      assert.deepEqual(withoutTls.received.map((mail) => mail.secure), [false]);
    });

    it('tls=opportunistic still verifies the certificate when STARTTLS is offered: no plain-text fallback', async () => {
      const relay = await peer({ tls: 'starttls' });
      const { facts } = await failedHandOff(transport(`smtp://127.0.0.1:${relay.port}?tls=opportunistic`).handOff(message, signal()));
      assert.deepEqual(facts, { permanent: true, reply: 'ESOCKET (DEPTH_ZERO_SELF_SIGNED_CERT)' });
      assert.equal(relay.dataCount(), 0);
    });

    it('smtps:// delivers over implicit TLS with AUTH', async () => {
      const relay = await peer({ tls: 'implicit', auth: { user: USER, pass: PASSWORD } });
      const smtp = transport(`smtps://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`, { caFile: certificate.certFile });
      await smtp.handOff(message, signal());
      assert.deepEqual(relay.received.map((mail) => [mail.secure, mail.user]), [[true, USER]]);
    });

    it('smtps:// without the CA file is refused: permanent, nothing delivered', async () => {
      const relay = await peer({ tls: 'implicit', auth: { user: USER, pass: PASSWORD } });
      const { facts, nodemailerCode } = await failedHandOff(transport(`smtps://${URL_CREDENTIALS}@127.0.0.1:${relay.port}`).handOff(message, signal()));
      assert.equal(nodemailerCode, 'ESOCKET');
      assert.deepEqual(facts, { permanent: true, reply: 'ESOCKET (DEPTH_ZERO_SELF_SIGNED_CERT)' });
      assert.equal(relay.authFailures(), 0);
      assert.equal(relay.dataCount(), 0);
    });

    it('smtps:// to a plain-text port is a TLS protocol error: permanent, nothing sent', async () => {
      const relay = await peer({ tls: 'none' });
      const { facts, nodemailerCode } = await failedHandOff(transport(`smtps://127.0.0.1:${relay.port}`).handOff(message, signal()));
      assert.equal(nodemailerCode, 'ESOCKET');
      assert.deepEqual(facts, { permanent: true, reply: 'ESOCKET (ERR_SSL_WRONG_VERSION_NUMBER)' });
      assert.equal(relay.dataCount(), 0);
    });

    it('a trusted certificate for another name is refused: permanent, nothing delivered', async () => {
      const otherName = await makeTestCertificate('DNS:relay.example.com');
      try {
        const relay = await startSmtpPeer({ tls: 'starttls', certificate: otherName });
        peers.push(relay);
        const smtp = transport(`smtp://127.0.0.1:${relay.port}`, { caFile: otherName.certFile });
        const { facts, nodemailerCode } = await failedHandOff(smtp.handOff(message, signal()));
        assert.equal(nodemailerCode, 'ESOCKET');
        assert.deepEqual(facts, { permanent: true, reply: 'ESOCKET (ERR_TLS_CERT_ALTNAME_INVALID)' });
        assert.equal(relay.dataCount(), 0);
      } finally {
        await otherName.dispose();
      }
    });
  });

  describe('construction', () => {
    const relay = parseSmtpUrl('smtp://relay.example.com');

    it('refuses a CA file that is missing or holds no certificate, naming UMPIN_SMTP_CA_FILE', () => {
      assert.throws(() => new SmtpTransport({ relay, caFile: '/nonexistent/ca.pem' }), { name: 'TypeError', setting: 'UMPIN_SMTP_CA_FILE', message: "UMPIN_SMTP_CA_FILE: /nonexistent/ca.pem cannot be read (ENOENT); check the path and that the service's user may read it." });
      assert.throws(() => new SmtpTransport({ relay, caFile: certificate.certFile.replace(/cert\.pem$/, 'key.pem') }), {
        name: 'TypeError', setting: 'UMPIN_SMTP_CA_FILE', message: /^UMPIN_SMTP_CA_FILE: .*key\.pem holds no PEM certificate/,
      });
    });

    it('refuses a nonsensical pool size or timeout', () => {
      assert.throws(() => new SmtpTransport({ relay, maxConnections: 0 }), { name: 'TypeError', message: /maxConnections/ });
      assert.throws(() => new SmtpTransport({ relay, timeoutMs: 1.5 }), { name: 'TypeError', message: /timeoutMs/ });
    });
  });
});

/** A loopback port that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}
