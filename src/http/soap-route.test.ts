/**
 * The service paths through `app.inject()` over the real services (SQLite in
 * a temporary data directory, the real KDF, the pickup directory): a
 * ResetPIN that works, the faults a client meets, and the GET answers. Every
 * refusal is checked as a client sees it (status, headers, the whole body)
 * and by what it must not do: the stored state and the pickup directory stay
 * as they were.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { REQUEST_XML, isActivePin, listMailFiles, newPinMails, snapshotState } from '../../test/support/service.ts';
import {
  ENVELOPE_CLOSE, ENVELOPE_OPEN, SOAP_TYPE, basicAuthorization, expectedFault, openHttpHarness, provisionUser, type HttpHarness,
} from '../../test/support/http.ts';
import { buildHttpServer } from './server.ts';
import { SERVICE_PATHS } from './soap-route.ts';

const RESET_BODY = readFileSync(REQUEST_XML);
const RESET_ANSWER = `${ENVELOPE_OPEN}<ResetPINResponse xmlns="http://schemas.microsoft.com/exchange/services/2006/messages" />${ENVELOPE_CLOSE}`;
const ACCESS_DENIED = 'The user name or password is incorrect; sign in with your mailbox credentials.';
const BODY_LIMIT = 1024;

/** What a client sees, without the headers every answer has (date, connection, content-length). */
function seen(response: LightMyRequestResponse): { status: number; headers: Record<string, unknown>; body: string } {
  const headers: Record<string, unknown> = { ...response.headers };
  for (const everyAnswer of ['date', 'connection', 'content-length']) delete headers[everyAnswer];
  return { status: response.statusCode, headers, body: response.body };
}

describe('the SOAP route', () => {
  let h: HttpHarness;
  let user = 0;
  before(async () => {
    h = await openHttpHarness({ env: { UMPIN_BODY_LIMIT: String(BODY_LIMIT) } });
  });
  after(() => h?.close());

  /** A user of this test alone, so that no test depends on another's resets. */
  async function newUser(): Promise<{ login: string; password: string; pin: string }> {
    const login = `soap.user${++user}`;
    const password = `pw ${login}`;
    return { login, password, pin: await provisionUser(h, login, password) };
  }

  function post(body: string | Buffer, headers: Record<string, string>, path: string = SERVICE_PATHS[0]) {
    return h.app.inject({ method: 'POST', url: path, headers, payload: body });
  }

  /** Runs `action` and checks that the mailbox, its PIN and the pickup directory are as they were. */
  async function expectUnchanged(account: { login: string; pin: string }, action: () => Promise<void>): Promise<void> {
    const before = await snapshotState(h, [account.login]);
    await action();
    assert.deepEqual(await snapshotState(h, [account.login]), before);
    assert.equal(await isActivePin(h.services, account.login, account.pin), true, 'the old PIN still works');
  }

  it('ResetPIN on either path: 200 with the reference answer, one mail, and the PIN in it is the active one', async () => {
    for (const path of [...SERVICE_PATHS, SERVICE_PATHS[0].toLowerCase()]) {
      const alice = await newUser();
      const mails = await listMailFiles(h.config.pickupDir);
      const response = await post(RESET_BODY, { 'content-type': SOAP_TYPE, authorization: basicAuthorization(alice.login, alice.password) }, path);
      assert.deepEqual(seen(response), { status: 200, headers: { 'content-type': SOAP_TYPE }, body: RESET_ANSWER }, path);
      const sent = await newPinMails(h.config.pickupDir, mails);
      assert.deepEqual(sent.map((mail) => mail.to), [`${alice.login}@example.com`]);
      assert.equal(await isActivePin(h.services, alice.login, sent[0]!.pin), true, 'the mailed PIN is active');
      assert.equal(await isActivePin(h.services, alice.login, alice.pin), false, 'the old PIN is not');
    }
  });

  it('accepts text/xml with or without a UTF-8 charset, in any spelling', async () => {
    for (const type of ['text/xml', 'TEXT/XML; Charset="UTF-8"', 'text/xml ; charset=utf-8']) {
      const bob = await newUser();
      const response = await post(RESET_BODY, { 'content-type': type, authorization: basicAuthorization(bob.login, bob.password) });
      assert.deepEqual(seen(response), { status: 200, headers: { 'content-type': SOAP_TYPE }, body: RESET_ANSWER }, type);
    }
  });

  it('a wrong password, an unknown user or no credentials: 401 with WWW-Authenticate, ErrorAccessDenied, nothing changed', async () => {
    const carol = await newUser();
    await expectUnchanged(carol, async () => {
      for (const authorization of [basicAuthorization(carol.login, 'wrong'), basicAuthorization('nobody', carol.password), undefined, 'Bearer abc']) {
        const response = await post(RESET_BODY, { 'content-type': SOAP_TYPE, ...(authorization ? { authorization } : {}) });
        assert.deepEqual(seen(response), {
          status: 401,
          headers: { 'content-type': SOAP_TYPE, 'www-authenticate': 'Basic realm="umpin", charset="UTF-8"' },
          body: expectedFault('Client', 'ErrorAccessDenied', ACCESS_DENIED),
        }, String(authorization));
      }
    });
  });

  it('an envelope that breaks the schema: 500 soap:Client ErrorSchemaValidation; not SOAP 1.1 at all: soap:VersionMismatch; nothing changed', async () => {
    const dave = await newUser();
    const auth = { 'content-type': SOAP_TYPE, authorization: basicAuthorization(dave.login, dave.password) };
    const twoChildren = RESET_BODY.toString('utf8').replace('<ResetPIN', '<ResetPIN xmlns="http://schemas.microsoft.com/exchange/services/2006/messages" /><ResetPIN');
    await expectUnchanged(dave, async () => {
      assert.deepEqual(seen(await post(twoChildren, auth)), {
        status: 500, headers: { 'content-type': SOAP_TYPE }, body: expectedFault('Client', 'ErrorSchemaValidation', 'The Body must hold exactly one element; it holds more.'),
      });
      assert.deepEqual(seen(await post('<not-soap/>', auth)), {
        status: 500,
        headers: { 'content-type': SOAP_TYPE },
        body: `${ENVELOPE_OPEN}<soap:Fault><faultcode>soap:VersionMismatch</faultcode>` +
          `<faultstring xml:lang="en">The root element is not a SOAP 1.1 Envelope (namespace http://schemas.xmlsoap.org/soap/envelope/).</faultstring></soap:Fault>${ENVELOPE_CLOSE}`,
      });
    });
  });

  it('a fault of the operation itself (no PIN satisfies the policy): 500 soap:Server ErrorUnifiedMessagingRequestFailed, nothing changed', async () => {
    const erin = await newUser();
    // The same store as the other tests, with only the digit source replaced: every candidate is 777777, a repeated digit.
    const app = buildHttpServer({ ...h.services, digits: () => 7 }, h.config, pino({ level: 'silent' }));
    try {
      await expectUnchanged(erin, async () => {
        const response = await app.inject({
          method: 'POST', url: SERVICE_PATHS[0], payload: RESET_BODY,
          headers: { 'content-type': SOAP_TYPE, authorization: basicAuthorization(erin.login, erin.password) },
        });
        assert.deepEqual(seen(response), {
          status: 500,
          headers: { 'content-type': SOAP_TYPE },
          body: expectedFault('Server', 'ErrorUnifiedMessagingRequestFailed',
            'No new PIN could be found that satisfies your PIN policy; your old PIN still works. Ask your administrator to review the policy.'),
        });
      });
    } finally {
      await app.close();
    }
  });

  it('a body over UMPIN_BODY_LIMIT: 413, Connection: close, before the password is looked at', async () => {
    const frank = await newUser();
    await expectUnchanged(frank, async () => {
      const response = await post(Buffer.alloc(BODY_LIMIT + 1, ' '), { 'content-type': SOAP_TYPE, authorization: basicAuthorization(frank.login, 'wrong') });
      assert.deepEqual(seen(response), {
        status: 413,
        headers: { 'content-type': SOAP_TYPE },
        body: expectedFault('Client', 'ErrorInvalidRequest', `The request body is larger than this service accepts (${BODY_LIMIT} bytes); a ResetPIN request is a few hundred bytes.`),
      });
      assert.equal(response.headers.connection, 'close');
    });
  });

  it('a Content-Type that is not SOAP 1.1 in UTF-8: 415 with the reason, before the body or the password is looked at', async () => {
    const gina = await newUser();
    const cases: Array<[string | undefined, string]> = [
      ['application/json', 'The Content-Type "application/json" is not accepted; send the SOAP 1.1 envelope as text/xml; charset=utf-8.'],
      [undefined, 'The request has no Content-Type; send the SOAP 1.1 envelope as text/xml; charset=utf-8.'],
      ['text/xml; charset=iso-8859-1', 'The charset "iso-8859-1" is not accepted; this service reads UTF-8 only.'],
    ];
    await expectUnchanged(gina, async () => {
      for (const [type, message] of cases) {
        const response = await post(RESET_BODY, { ...(type ? { 'content-type': type } : {}), authorization: basicAuthorization(gina.login, gina.password) });
        assert.deepEqual(seen(response), { status: 415, headers: { 'content-type': SOAP_TYPE }, body: expectedFault('Client', 'ErrorInvalidRequest', message) }, type);
      }
      const soap12 = await post(RESET_BODY, { 'content-type': 'application/soap+xml; charset=utf-8', authorization: basicAuthorization(gina.login, gina.password) });
      assert.equal(soap12.statusCode, 415);
      assert.match(soap12.body, /<faultcode>soap:VersionMismatch<\/faultcode><faultstring xml:lang="en">This service speaks SOAP 1\.1 only; send the envelope as text\/xml, not application\/soap\+xml \(SOAP 1\.2\)\.<\/faultstring>/);
    });
  });

  it('GET ?wsdl: the description, its address the origin the client used, or UMPIN_PUBLIC_URL', async () => {
    for (const [path, query] of [[SERVICE_PATHS[0], 'wsdl'], [SERVICE_PATHS[1], 'WSDL'], [SERVICE_PATHS[0], 'x=1&wsdl']] as const) {
      const response = await h.app.inject({ method: 'GET', url: `${path}?${query}`, headers: { host: 'um.example.com:8443' } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], SOAP_TYPE);
      assert.match(response.body, /^<\?xml version="1\.0" encoding="utf-8"\?>\n/);
      assert.deepEqual([...response.body.matchAll(/<soap:address location="([^"]*)"\/>/g)].map((m) => m[1]), [`http://um.example.com:8443${path}`]);
    }
    const published = await openHttpHarness({ env: { UMPIN_PUBLIC_URL: 'https://voicemail.example.org' } });
    try {
      const response = await published.app.inject({ method: 'GET', url: `${SERVICE_PATHS[0]}?wsdl`, headers: { host: 'internal:3000' } });
      assert.deepEqual([...response.body.matchAll(/<soap:address location="([^"]*)"\/>/g)].map((m) => m[1]), [`https://voicemail.example.org${SERVICE_PATHS[0]}`]);
    } finally {
      await published.close();
    }
  });

  it('GET without ?wsdl: the service page for the path asked; HEAD the same headers', async () => {
    const response = await h.app.inject({ method: 'GET', url: `${SERVICE_PATHS[1]}?other` });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.ok(response.body.includes(`<a href="${SERVICE_PATHS[1]}?wsdl">${SERVICE_PATHS[1]}?wsdl</a>`), response.body);
    // inject() hands back HEAD's payload; over a socket Node drops it, so only the status and headers are compared.
    const head = await h.app.inject({ method: 'HEAD', url: SERVICE_PATHS[0] });
    assert.deepEqual({ status: head.statusCode, type: head.headers['content-type'] }, { status: 200, type: 'text/html; charset=utf-8' });
  });

  it('other methods: 405 with Allow, even with a body and credentials', async () => {
    const hank = await newUser();
    await expectUnchanged(hank, async () => {
      for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
        const response = await h.app.inject({ method, url: SERVICE_PATHS[0], payload: RESET_BODY, headers: { 'content-type': SOAP_TYPE, authorization: basicAuthorization(hank.login, hank.password) } });
        assert.deepEqual(seen(response), {
          status: 405,
          headers: { allow: 'GET, POST', 'content-type': 'text/plain; charset=utf-8' },
          body: `${method} is not allowed here; POST a SOAP request or GET ?wsdl.\n`,
        }, method);
      }
    });
  });
});
