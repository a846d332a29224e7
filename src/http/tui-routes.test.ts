/**
 * The phone API through `app.inject()` over the real services: refusals as
 * the JSON a PBX script reads (the catalogue's error, named by
 * phoneErrorName), each changing nothing, and a logon.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApiKey } from '../operations/api-keys.ts';
import { snapshotState } from '../../test/support/service.ts';
import { basicAuthorization, openHttpHarness, provisionUser, type HttpHarness } from '../../test/support/http.ts';

const JSON_TYPE = 'application/json; charset=utf-8';
const API_KEY_REQUIRED = {
  error: 'auth-api-key',
  message: 'A valid API key is required: send "Authorization: Bearer <key>" (or HTTP Basic with the key as the password); create one with: umpin apikey add <name>',
};
const BODY_LIMIT = 1024;

describe('the phone API', () => {
  let h: HttpHarness;
  let key: string;
  let pin: string;
  before(async () => {
    // The test is its own trusted proxy, so X-Forwarded-For can place a PBX on another host.
    h = await openHttpHarness({ env: { UMPIN_TRUSTED_PROXIES: '127.0.0.1', UMPIN_BODY_LIMIT: String(BODY_LIMIT) } });
    pin = await provisionUser(h, 'kate', 'pw-kate');
    key = await createApiKey(h.services, 'pbx');
  });
  after(() => h?.close());

  async function call(path: string, body: string, headers: Record<string, string>) {
    const response = await h.app.inject({ method: 'POST', url: `/tui/v1/${path}`, payload: body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: response.statusCode, type: response.headers['content-type'], body: JSON.parse(response.body) as unknown };
  }

  /** Runs `action` and checks that kate's mailbox, PIN and counters are as they were. */
  async function expectUnchanged(action: () => Promise<void>): Promise<void> {
    const before = await snapshotState(h, ['kate']);
    await action();
    assert.deepEqual(await snapshotState(h, ['kate']), before);
  }

  it('no key, a wrong key, a key in the wrong scheme: 401 auth-api-key, before the PIN is looked at', async () => {
    const logon = JSON.stringify({ mailbox: 'kate', pin: '000000' });
    await expectUnchanged(async () => {
      for (const authorization of [undefined, 'Bearer nonsense', `Bearer ${key}x`, `Token ${key}`, basicAuthorization('kate', 'pw-kate')]) {
        assert.deepEqual(await call('logon', logon, authorization ? { authorization } : {}), { status: 401, type: JSON_TYPE, body: API_KEY_REQUIRED }, String(authorization));
      }
    });
    assert.equal((await h.services.store.findMailbox('kate'))?.failedLogons, 0, 'no attempt was counted');
  });

  it('a key from another host over plain HTTP: 403 auth-plain-http, the key not even checked', async () => {
    await expectUnchanged(async () => {
      assert.deepEqual(await call('logon', JSON.stringify({ mailbox: 'kate', pin }), { authorization: `Bearer ${key}`, 'x-forwarded-for': '192.0.2.20' }), {
        status: 403, type: JSON_TYPE,
        body: {
          error: 'auth-plain-http',
          message: 'Credentials are not accepted over plain HTTP from another host; use https://, or set UMPIN_ALLOW_PLAIN_HTTP_AUTH behind a TLS proxy.',
        },
      });
    });
  });

  it('bad input, a wrong media type, a body over the limit and an unknown route: the 4xx and the error named in lower case', async () => {
    const bearer = { authorization: `Bearer ${key}` };
    await expectUnchanged(async () => {
      assert.deepEqual(await call('logon', '{"mailbox": "kate", ', bearer), { status: 400, type: JSON_TYPE, body: { error: 'request-invalid', message: 'The body is not valid JSON.' } });
      assert.deepEqual(await call('logon', 'mailbox=kate', { ...bearer, 'content-type': 'text/plain' }), {
        status: 415, type: JSON_TYPE,
        body: { error: 'request-media-type', message: 'Send the request as Content-Type: application/json or application/x-www-form-urlencoded.' },
      });
      assert.deepEqual(await call('logon', JSON.stringify({ mailbox: 'kate', pin: '1'.repeat(BODY_LIMIT) }), bearer), {
        status: 413, type: JSON_TYPE,
        body: { error: 'request-too-large', message: `The request body is larger than this service accepts (${BODY_LIMIT} bytes); a ResetPIN request is a few hundred bytes.` },
      });
      assert.deepEqual(await call('reset', '{}', bearer), {
        status: 404, type: JSON_TYPE,
        body: { error: 'route-not-found', message: 'No such phone API route; use POST /tui/v1/logon, /tui/v1/change-pin, /tui/v1/check-new-pin or /tui/v1/set-pin.' },
      });
    });
    assert.equal((await h.services.store.findMailbox('kate'))?.failedLogons, 0, 'bad input counts no attempt');
  });

  it('a logon with the right PIN, by login as JSON or by extension as a form; a wrong one answered in band', async () => {
    const { extension } = (await h.services.store.findMailbox('kate'))!;
    assert.deepEqual(await call('logon', JSON.stringify({ mailbox: 'kate', pin }), { authorization: `Bearer ${key}` }),
      { status: 200, type: JSON_TYPE, body: { result: 'ok', mustChange: true } });
    // mod_xml_curl's way: the key as the Basic password, the body a form.
    assert.deepEqual(await call('logon', `extension=${extension}&pin=${pin}`, { authorization: basicAuthorization('freeswitch', key), 'content-type': 'application/x-www-form-urlencoded' }),
      { status: 200, type: JSON_TYPE, body: { result: 'ok', mustChange: true } });
    assert.deepEqual(await call('logon', JSON.stringify({ mailbox: 'kate', pin: pin === '000001' ? '000002' : '000001' }), { authorization: `Bearer ${key}` }),
      { status: 200, type: JSON_TYPE, body: { result: 'wrong-pin', mustChange: false } });
    assert.equal((await h.services.store.findMailbox('kate'))?.failedLogons, 1);
  });

  it('check-new-pin: a PIN against the policy is 422 with every failed rule, and nothing is stored', async () => {
    await expectUnchanged(async () => {
      assert.deepEqual(await call('check-new-pin', JSON.stringify({ mailbox: 'kate', newPin: '1111' }), { authorization: `Bearer ${key}` }), {
        status: 422, type: JSON_TYPE,
        body: {
          error: 'pin-policy',
          message: 'The PIN does not meet the PIN policy: A PIN must have at least 6 digits. A PIN may not be one digit repeated, such as 111111.',
          rules: [
            { id: 'pin.too-short', message: 'A PIN must have at least 6 digits.' },
            { id: 'pin.repeated', message: 'A PIN may not be one digit repeated, such as 111111.' },
          ],
        },
      });
    });
  });
});
