/**
 * What server.ts adds around the routes, through `app.inject()` over the real
 * services: the mapping of Fastify's own errors into the catalogue, the
 * generic fault for an error nobody expected, the 404 for other paths, and
 * the one log line per request (at the fault's level, and only when that
 * level is enabled) with the count the metrics get.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  InternalError, InvalidRequest, NoPinSatisfiesPolicy, RequestTooLarge, SoapSchemaViolation, UnsupportedMediaType,
} from '../errors.ts';
import { NO_METRICS } from '../observability/metrics.ts';
import { REQUEST_XML, snapshotState } from '../../test/support/service.ts';
import { SOAP_TYPE, basicAuthorization, expectedFault, openHttpHarness, provisionUser } from '../../test/support/http.ts';
import { fromFastifyError } from './server.ts';

const RESET_BODY = readFileSync(REQUEST_XML);
const ENDPOINT = '/EWS/UM2007Legacy.asmx';
const GENERIC = 'The service failed to process the request; try again later, and tell your administrator if it keeps failing.';

/** A log line without what changes from run to run. */
function stable(line: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...line };
  for (const varying of ['time', 'pid', 'hostname', 'reqId', 'ms', 'err']) delete rest[varying];
  assert.equal(typeof line.ms, 'number', 'ms is a number');
  return { ...rest, ...(line.err === undefined ? {} : { err: (line.err as { message: string }).message }) };
}

describe('fromFastifyError', () => {
  const fastify = (code: string, statusCode?: number) => Object.assign(new Error(code), { code, statusCode });

  it('turns the body limit, an unreadable body and an empty one into their catalogue errors', () => {
    const cases: Array<[unknown, new (...args: never[]) => unknown, string]> = [
      [fastify('FST_ERR_CTP_BODY_TOO_LARGE', 413), RequestTooLarge, 'The request body is larger than this service accepts (4096 bytes); a ResetPIN request is a few hundred bytes.'],
      [fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), UnsupportedMediaType, 'The request body could not be read; send the SOAP 1.1 envelope as text/xml; charset=utf-8.'],
      [fastify('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400), UnsupportedMediaType, 'The request body could not be read; send the SOAP 1.1 envelope as text/xml; charset=utf-8.'],
      [fastify('FST_ERR_CTP_EMPTY_JSON_BODY', 400), SoapSchemaViolation, 'The request body is empty; send a SOAP 1.1 envelope.'],
      [fastify('FST_ERR_BAD_URL', 400), InvalidRequest, 'The HTTP request is malformed; send a SOAP 1.1 POST.'],
    ];
    for (const [error, type, message] of cases) {
      const mapped = fromFastifyError(error, 4096);
      assert.ok(mapped instanceof type, (error as Error).message);
      assert.equal(mapped.message, message);
    }
  });

  it('passes the catalogue\'s own errors through, and makes anything else (a Fastify 5xx too) an InternalError that keeps its cause', () => {
    const noPin = new NoPinSatisfiesPolicy();
    assert.equal(fromFastifyError(noPin, 4096), noPin);
    for (const unexpected of [new Error('boom'), fastify('FST_ERR_SOMETHING', 500), fastify('NOT_FASTIFY', 400)]) {
      const mapped = fromFastifyError(unexpected, 4096);
      assert.ok(mapped instanceof InternalError, unexpected.message);
      assert.equal(mapped.cause, unexpected);
    }
  });
});

describe('buildHttpServer', () => {
  it('an unexpected error: 500 with the generic fault (no detail of the cause), logged at error with the cause; nothing changed', async () => {
    const h = await openHttpHarness({
      logLevel: 'info',
      overrides: { authenticator: { authenticate: async () => { throw new Error('directory exploded at ldap.internal:389'); } } },
    });
    try {
      await provisionUser(h, 'ivy', 'pw-ivy');
      const before = await snapshotState(h, ['ivy']);
      const response = await h.app.inject({ method: 'POST', url: ENDPOINT, payload: RESET_BODY, headers: { 'content-type': SOAP_TYPE, authorization: basicAuthorization('ivy', 'pw-ivy') } });
      assert.equal(response.statusCode, 500);
      assert.equal(response.headers['content-type'], SOAP_TYPE);
      assert.equal(response.body, expectedFault('Server', 'ErrorInternalServerError', GENERIC));
      assert.deepEqual(await snapshotState(h, ['ivy']), before);
      assert.deepEqual(h.logLines.map(stable), [{
        level: 50, method: 'POST', url: ENDPOINT, status: 500, client: '127.0.0.1', operation: 'ResetPIN', result: 'ERR_INTERNAL',
        err: 'directory exploded at ldap.internal:389', msg: GENERIC,
      }]);
    } finally {
      await h.close();
    }
  });

  it('a path it does not serve: 404 in plain text naming the service path', async () => {
    const h = await openHttpHarness();
    try {
      const response = await h.app.inject({ method: 'GET', url: '/EWS/Exchange.asmx' });
      assert.deepEqual({ status: response.statusCode, type: response.headers['content-type'], body: response.body },
        { status: 404, type: 'text/plain; charset=utf-8', body: `Not found. The voice mail service is at ${ENDPOINT}.\n` });
    } finally {
      await h.close();
    }
  });

  it('logs one line per answered request, without headers or credentials; the health routes log nothing at info', async () => {
    const counted: unknown[] = [];
    const h = await openHttpHarness({ logLevel: 'info', overrides: { metrics: { ...NO_METRICS, countRequest: (outcome) => { counted.push(outcome); } } } });
    try {
      await provisionUser(h, 'jack', 'pw-jack');
      const headers = { 'content-type': SOAP_TYPE, authorization: basicAuthorization('jack', 'pw-jack') };
      assert.equal((await h.app.inject({ method: 'POST', url: ENDPOINT, payload: RESET_BODY, headers })).statusCode, 200);
      assert.equal((await h.app.inject({ method: 'POST', url: ENDPOINT, payload: RESET_BODY, headers: { ...headers, authorization: basicAuthorization('jack', 'wrong') } })).statusCode, 401);
      assert.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await h.app.inject({ method: 'GET', url: `${ENDPOINT}?wsdl` })).statusCode, 200);
      assert.deepEqual(h.logLines.map(stable), [
        { level: 30, method: 'POST', url: ENDPOINT, status: 200, client: '127.0.0.1', operation: 'ResetPIN', result: 'success', login: 'jack', msg: 'answered' },
        {
          level: 30, method: 'POST', url: ENDPOINT, status: 401, client: '127.0.0.1', operation: 'ResetPIN', result: 'ERR_AUTH_FAILED',
          msg: 'The user name or password is incorrect; sign in with your mailbox credentials.',
        },
        { level: 30, method: 'GET', url: `${ENDPOINT}?wsdl`, status: 200, client: '127.0.0.1', operation: 'wsdl', result: 'success', msg: 'answered' },
      ]);
      assert.ok(!JSON.stringify(h.logLines).includes('pw-jack') && !JSON.stringify(h.logLines).includes('Basic '), 'no credentials in the log');
      assert.deepEqual(counted, [
        { operation: 'ResetPIN', result: 'success', login: 'jack' },
        { operation: 'ResetPIN', result: 'ERR_AUTH_FAILED' },
        undefined, // /healthz sets no outcome: the metrics do not count it as a service request
        { operation: 'wsdl', result: 'success' },
      ]);
    } finally {
      await h.close();
    }
  });

  it('at UMPIN_LOG_LEVEL=warn, a refusal logged at info writes no line while a warn-level one does', async () => {
    const h = await openHttpHarness({ logLevel: 'warn', env: { UMPIN_TRUSTED_PROXIES: '127.0.0.1' } });
    try {
      const headers = { 'content-type': SOAP_TYPE, authorization: basicAuthorization('nobody', 'wrong') };
      assert.equal((await h.app.inject({ method: 'POST', url: ENDPOINT, payload: RESET_BODY, headers })).statusCode, 401);
      assert.deepEqual(h.logLines, [], 'a wrong password is info');
      // Through a trusted proxy from another host over plain HTTP: refused before the credentials are read, at warn.
      const relayed = await h.app.inject({ method: 'POST', url: ENDPOINT, payload: RESET_BODY, headers: { ...headers, 'x-forwarded-for': '192.0.2.7' } });
      assert.equal(relayed.statusCode, 403);
      assert.deepEqual(h.logLines.map(stable), [{
        level: 40, method: 'POST', url: ENDPOINT, status: 403, client: '192.0.2.7', operation: 'ResetPIN', result: 'ERR_AUTH_PLAIN_HTTP',
        msg: 'Credentials are not accepted over plain HTTP from another host; use https://, or set UMPIN_ALLOW_PLAIN_HTTP_AUTH behind a TLS proxy.',
      }]);
    } finally {
      await h.close();
    }
  });
});
