/**
 * POST /autodiscover/autodiscover.xml through `app.inject()` over the real
 * services: the UMUrl answer for a signed-in caller, and the refusals in
 * POX's own Error shape, each changing nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { snapshotState } from '../../test/support/service.ts';
import { basicAuthorization, openHttpHarness, provisionUser, type HttpHarness } from '../../test/support/http.ts';
import { AUTODISCOVER_PATH } from './autodiscover-routes.ts';

const XML_TYPE = 'text/xml; charset=utf-8';
const OUTLOOK = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const BODY_LIMIT = 1024;

const request = (email: string, schema = OUTLOOK) =>
  `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">` +
  `<Request><EMailAddress>${email}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema></Request></Autodiscover>`;
const error = (code: number, message: string) => '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response>' +
  `<Error><ErrorCode>${code}</ErrorCode><Message>${message}</Message><DebugData /></Error></Response></Autodiscover>`;

describe('Autodiscover', () => {
  let h: HttpHarness;
  before(async () => {
    h = await openHttpHarness({ env: { UMPIN_BODY_LIMIT: String(BODY_LIMIT) } });
    await provisionUser(h, 'liam', 'pw-liam');
  });
  after(() => h?.close());

  async function post(body: string, headers: Record<string, string> = {}, path = '/Autodiscover/Autodiscover.xml') {
    const response = await h.app.inject({ method: 'POST', url: path, payload: body, headers: { 'content-type': 'text/xml', authorization: basicAuthorization('liam', 'pw-liam'), ...headers } });
    return { status: response.statusCode, type: response.headers['content-type'], authenticate: response.headers['www-authenticate'], body: response.body };
  }

  async function expectUnchanged(action: () => Promise<void>): Promise<void> {
    const before = await snapshotState(h, ['liam']);
    await action();
    assert.deepEqual(await snapshotState(h, ['liam']), before);
  }

  it('answers the service URL to the signed-in caller, with the mailbox\'s address, on the path in any case', async () => {
    const url = 'http://um.example.com/EWS/UM2007Legacy.asmx';
    for (const path of [AUTODISCOVER_PATH, '/Autodiscover/Autodiscover.xml']) {
      assert.deepEqual(await post(request('someone@example.org'), { host: 'um.example.com' }, path), {
        status: 200, type: XML_TYPE, authenticate: undefined,
        body: '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">' +
          `<Response xmlns="${OUTLOOK}"><User><DisplayName>liam</DisplayName><AutoDiscoverSMTPAddress>liam@example.com</AutoDiscoverSMTPAddress></User>` +
          `<Account><AccountType>email</AccountType><Action>settings</Action><Protocol><Type>EXCH</Type><UMUrl>${url}</UMUrl></Protocol>` +
          `<Protocol><Type>EXPR</Type><UMUrl>${url}</UMUrl></Protocol></Account></Response></Autodiscover>`,
      }, path);
    }
  });

  it('another response schema: ErrorCode 601, in band with 200', async () => {
    const mobile = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006';
    assert.deepEqual(await post(request('liam@example.com', mobile)), {
      status: 200, type: XML_TYPE, authenticate: undefined, body: error(601, `This server answers only the Outlook response schema ${OUTLOOK}.`),
    });
  });

  it('no credentials or a wrong password: 401 with WWW-Authenticate, in the POX Error shape', async () => {
    await expectUnchanged(async () => {
      for (const headers of [{ authorization: '' }, { authorization: basicAuthorization('liam', 'wrong') }]) {
        assert.deepEqual(await post(request('liam@example.com'), headers), {
          status: 401, type: XML_TYPE, authenticate: 'Basic realm="umpin", charset="UTF-8"',
          body: error(600, 'The user name or password is incorrect; sign in with your mailbox credentials.'),
        }, headers.authorization);
      }
    });
  });

  it('malformed XML, a wrong media type, a body over the limit: their status, ErrorCode 600, before the password is looked at', async () => {
    const wrongPassword = { authorization: basicAuthorization('liam', 'wrong') };
    await expectUnchanged(async () => {
      assert.deepEqual(await post('<Autodiscover', wrongPassword), {
        status: 400, type: XML_TYPE, authenticate: undefined, body: error(600, 'The request is not well-formed XML: document must contain a root element.'),
      });
      assert.deepEqual(await post('{}', { ...wrongPassword, 'content-type': 'application/json' }), {
        status: 415, type: XML_TYPE, authenticate: undefined,
        body: error(600, 'The Content-Type &quot;application/json&quot; is not accepted; send the Autodiscover request as text/xml; charset=utf-8.'),
      });
      assert.deepEqual(await post(request('x'.repeat(BODY_LIMIT)), wrongPassword), {
        status: 413, type: XML_TYPE, authenticate: undefined,
        body: error(600, `The request body is larger than this service accepts (${BODY_LIMIT} bytes); a ResetPIN request is a few hundred bytes.`),
      });
    });
  });

  it('other methods: 405 with Allow: POST', async () => {
    const response = await h.app.inject({ method: 'GET', url: AUTODISCOVER_PATH });
    assert.deepEqual({ status: response.statusCode, allow: response.headers.allow, type: response.headers['content-type'], body: response.body },
      { status: 405, allow: 'POST', type: 'text/plain; charset=utf-8', body: 'GET is not allowed here; POST an Autodiscover request.\n' });
  });

  it('UMPIN_AUTODISCOVER=false: the route is not there', async () => {
    const off = await openHttpHarness({ env: { UMPIN_AUTODISCOVER: 'false' } });
    try {
      const response = await off.app.inject({ method: 'POST', url: AUTODISCOVER_PATH, payload: request('a@b'), headers: { 'content-type': 'text/xml' } });
      assert.equal(response.statusCode, 404);
      assert.equal(response.body, 'Not found. The voice mail service is at /EWS/UM2007Legacy.asmx.\n');
    } finally {
      await off.close();
    }
  });
});
