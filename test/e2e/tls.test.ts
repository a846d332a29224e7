/**
 * Built-in TLS and the refusal of credentials over plain HTTP (issue 7),
 * over real sockets: a throwaway self-signed certificate made at test time, a client that trusts it, and a client on a non-loopback
 * address of this host.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildHttpServer } from '../../src/http/server.ts';
import type { Services } from '../../src/operations/services.ts';
import {
  REQUEST_XML, assertRun, isActivePin, listMailFiles, makeDataDir, newPinMails, postSoap, provisionMailbox, provisionMailboxInProcess, runUmpin, snapshotState,
  startServeProcess, startTestService, type TestService,
} from '../support/service.ts';
import { makeTestCertificate } from '../support/smtp-peer.ts';

const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';
const REFUSAL = 'Credentials are not accepted over plain HTTP from another host; use https://, or set UMPIN_ALLOW_PLAIN_HTTP_AUTH behind a TLS proxy.';

interface Pem {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  /** A key that belongs to no certificate here. */
  readonly otherKey: string;
}

/** A self-signed P-256 certificate for 127.0.0.1, valid for a day, in a fresh directory. */
async function makeCertificate(): Promise<Pem> {
  const made = await makeTestCertificate('IP:127.0.0.1', 'ec');
  const dir = dirname(made.certFile);
  const otherKey = join(dir, 'other-key.pem');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(otherKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { dir, cert: made.certFile, key: made.keyFile, otherKey };
}

interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request over HTTPS that trusts exactly `ca` (fetch cannot be given a CA). */
function httpsCall(url: string, ca: string, options: { method?: string; body?: Buffer; login?: string; password?: string } = {}): Promise<HttpsAnswer> {
  const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' };
  if (options.login !== undefined) headers.authorization = `Basic ${Buffer.from(`${options.login}:${options.password ?? ''}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: options.method ?? 'POST', ca, headers, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** An IPv4 address of this host that is not loopback, if it has one. */
function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
}

function assertRefused(response: { status: number; headers: Headers; body: string }): void {
  assert.equal(response.status, 403);
  assert.equal(response.headers.get('www-authenticate'), null, 'no invitation to send the password again');
  assert.equal(response.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
  assert.match(response.body, /<faultcode>soap:Client<\/faultcode>/);
  assert.ok(response.body.includes(`<faultstring xml:lang="en">${REFUSAL}</faultstring>`), response.body);
  assert.ok(response.body.includes(`<e:ResponseCode xmlns:e="${ERRORS}">ErrorAccessDenied</e:ResponseCode>`), response.body);
}

/** The authenticator, counting its calls: a refused request must never reach it. */
function countingAuthenticator(services: Services): { services: Services; calls: () => number } {
  let calls = 0;
  const authenticator = { authenticate: (credentials: Parameters<Services['authenticator']['authenticate']>[0]) => (calls++, services.authenticator.authenticate(credentials)) };
  return { services: { ...services, authenticator }, calls: () => calls };
}

describe('HTTPS on the listener itself', () => {
  let pem: Pem;
  let ca: string;
  let service: TestService;
  let request: Buffer;

  before(async () => {
    pem = await makeCertificate();
    ca = await readFile(pem.cert, 'utf8');
    request = await readFile(REQUEST_XML);
    service = await startTestService({ UMPIN_TLS_CERT: pem.cert, UMPIN_TLS_KEY: pem.key });
    await provisionMailbox(service, 'alice', 'pw-alice');
  });
  after(async () => {
    await service?.close();
    await rm(pem.dir, { recursive: true, force: true });
  });

  it('listens on https://', () => {
    assert.match(service.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('ResetPIN over HTTPS with the certificate trusted: 200, HSTS, the new PIN mailed and active', async () => {
    const before = await listMailFiles(service.config.pickupDir);
    const response = await httpsCall(service.endpoint, ca, { body: request, login: 'alice', password: 'pw-alice' });
    assert.equal(response.status, 200, response.body);
    assert.match(response.body, /<ResetPINResponse xmlns="http:\/\/schemas\.microsoft\.com\/exchange\/services\/2006\/messages" ?\/>/);
    assert.equal(response.headers['strict-transport-security'], 'max-age=31536000');
    const [mail, extra] = await newPinMails(service.config.pickupDir, before);
    assert.equal(extra, undefined);
    assert.ok(mail);
    assert.equal(await isActivePin(service.services, 'alice', mail.pin), true);
  });

  it('faults and the WSDL carry HSTS too, and the WSDL names the https:// address', async () => {
    const denied = await httpsCall(service.endpoint, ca, { body: request, login: 'alice', password: 'wrong' });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['strict-transport-security'], 'max-age=31536000');
    const wsdl = await httpsCall(`${service.endpoint}?wsdl`, ca, { method: 'GET' });
    assert.equal(wsdl.status, 200);
    assert.equal(wsdl.headers['strict-transport-security'], 'max-age=31536000');
    assert.ok(wsdl.body.includes(`location="${service.endpoint}"`), 'soap:address is the https URL');
  });

  it('a client that does not trust the certificate gets no answer', async () => {
    await assert.rejects(httpsCall(service.endpoint, '', { body: request, login: 'alice', password: 'pw-alice' }), /self-signed|certificate/i);
  });

  it('`umpin serve` with TLS logs its https:// address and answers there, HSTS off with UMPIN_HSTS_MAX_AGE=0', async () => {
    const dataDir = await makeDataDir();
    const serve = await startServeProcess({ UMPIN_DATA_DIR: dataDir, UMPIN_TLS_CERT: pem.cert, UMPIN_TLS_KEY: pem.key, UMPIN_HSTS_MAX_AGE: '0' });
    try {
      assert.match(serve.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(serve.output(), /"certificateValidTo":"\d{4}-/);
      const wsdl = await httpsCall(`${serve.endpoint}?wsdl`, ca, { method: 'GET' });
      assert.equal(wsdl.status, 200);
      assert.equal(wsdl.headers['strict-transport-security'], undefined);
    } finally {
      await serve.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('`umpin serve` refuses TLS files it cannot use, naming the setting', () => {
  let pem: Pem;
  let dataDir: string;
  before(async () => {
    pem = await makeCertificate();
    dataDir = await makeDataDir();
  });
  after(async () => {
    await rm(pem.dir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  const serve = (env: Record<string, string>) => runUmpin(['serve'], { UMPIN_DATA_DIR: dataDir, UMPIN_LISTEN: '127.0.0.1:0', ...env });

  it('a missing certificate file', async () => {
    const missing = join(pem.dir, 'missing.pem');
    assertRun(await serve({ UMPIN_TLS_CERT: missing, UMPIN_TLS_KEY: pem.key }), 2,
      { stderr: `umpin: configuration: UMPIN_TLS_CERT: ${missing} cannot be read (ENOENT); check the path and that the service's user may read it.` });
  });

  it('a key that is not the certificate\'s', async () => {
    assertRun(await serve({ UMPIN_TLS_CERT: pem.cert, UMPIN_TLS_KEY: pem.otherKey }), 2,
      { stderr: `umpin: configuration: UMPIN_TLS_KEY: ${pem.otherKey} is not the private key of the certificate in UMPIN_TLS_CERT (${pem.cert}); give the key the certificate was issued for.` });
  });

  it('files swapped: the key where the certificate belongs', async () => {
    assertRun(await serve({ UMPIN_TLS_CERT: pem.key, UMPIN_TLS_KEY: pem.cert }), 2, { stderr: /UMPIN_TLS_CERT: .* holds no PEM certificate/ });
  });

  it('a key file that holds no key', async () => {
    const junk = join(pem.dir, 'junk.pem');
    await writeFile(junk, 'not a key\n');
    assertRun(await serve({ UMPIN_TLS_CERT: pem.cert, UMPIN_TLS_KEY: junk }), 2, { stderr: /UMPIN_TLS_KEY: .*junk\.pem holds no PEM private key/ });
  });

  it('nothing was created: the start stopped before the database was opened', async () => {
    // Its own refused starts (one each of the kinds above), so it means the same run alone.
    const junk = join(pem.dir, 'junk-too.pem');
    await writeFile(junk, 'not a key\n');
    for (const env of [
      { UMPIN_TLS_CERT: join(pem.dir, 'missing.pem'), UMPIN_TLS_KEY: pem.key },
      { UMPIN_TLS_CERT: pem.cert, UMPIN_TLS_KEY: pem.otherKey },
      { UMPIN_TLS_CERT: pem.key, UMPIN_TLS_KEY: pem.cert },
      { UMPIN_TLS_CERT: pem.cert, UMPIN_TLS_KEY: junk },
    ]) assertRun(await serve(env), 2);
    assert.deepEqual(await listMailFiles(dataDir), []);
    await assert.rejects(readFile(join(dataDir, 'umpin.sqlite')), { code: 'ENOENT' });
  });
});

describe('credentials over plain HTTP', () => {
  let service: TestService;
  let request: Buffer;
  const apps: FastifyInstance[] = [];

  before(async () => {
    service = await startTestService();
    request = await readFile(REQUEST_XML);
  });
  after(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await service.close();
  });

  /** A second server on the same state, with other settings, listening on `host`. */
  async function serveOn(host: string, settings: Partial<TestService['config']>): Promise<{ url: string; calls: () => number }> {
    const counting = countingAuthenticator(service.services);
    const app = buildHttpServer(counting.services, { ...service.config, ...settings }, pino({ level: 'silent' }));
    apps.push(app);
    await app.listen({ host, port: 0 });
    return { url: app.listeningOrigin, calls: counting.calls };
  }

  // Every test that signs in does so as a mailbox of its own, so each can run
  // alone (--test-name-pattern) and none checks a PIN another test reset.
  /** A new mailbox `login` (password pw-<login>); answers its welcome PIN. */
  const provision = (login: string) => provisionMailboxInProcess(service, login, `pw-${login}`);

  async function expectUnchanged(login: string, welcomePin: string, action: () => Promise<void>): Promise<void> {
    const before = { state: await snapshotState(service, [login]), audit: await service.services.store.listAudit({}) };
    await action();
    assert.deepEqual({ state: await snapshotState(service, [login]), audit: await service.services.store.listAudit({}) }, before);
    assert.equal(await isActivePin(service.services, login, welcomePin), true, 'the old PIN still works');
  }

  // This host's own non-loopback address: a real connection whose peer is not loopback, without leaving the machine.
  const address = nonLoopbackAddress();
  const remote = address === undefined ? it.skip : it;

  remote(`from a non-loopback address (${address ?? 'none on this host'}): 403, the password never checked, nothing changed`, async () => {
    const welcomePin = await provision('bob');
    const server = await serveOn(address!, {});
    await expectUnchanged('bob', welcomePin, async () => {
      assertRefused(await postSoap(`${server.url}/EWS/UM2007Legacy.asmx`, request, { login: 'bob', password: 'pw-bob' }));
      assertRefused(await postSoap(`${server.url}/UnifiedMessaging/Service.asmx`, request, { login: 'bob', password: 'wrong' }));
    });
    assert.equal(server.calls(), 0, 'the authenticator (and so the KDF) was never called');
  });

  remote('the phone API refuses its Bearer key over plain HTTP from another host too, as JSON', async () => {
    const server = await serveOn(address!, {});
    const response = await fetch(`${server.url}/tui/v1/logon`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-real-key' }, body: '{"mailbox":"bob","pin":"000000"}',
    });
    assert.equal(response.status, 403);
    assert.deepEqual(await response.json(), { error: 'auth-plain-http', message: REFUSAL });
  });

  remote('without credentials the request goes on as before (the WSDL, and the usual 401 asking for them)', async () => {
    const server = await serveOn(address!, {});
    const wsdl = await fetch(`${server.url}/EWS/UM2007Legacy.asmx?wsdl`);
    assert.equal(wsdl.status, 200);
    const anonymous = await postSoap(`${server.url}/EWS/UM2007Legacy.asmx`, request);
    assert.equal(anonymous.status, 401);
  });

  remote('UMPIN_ALLOW_PLAIN_HTTP_AUTH=true: the same request from the same address resets the PIN', async () => {
    await provision('allowed');
    const server = await serveOn(address!, { allowPlainHttpAuth: true });
    const before = await listMailFiles(service.config.pickupDir);
    const response = await postSoap(`${server.url}/EWS/UM2007Legacy.asmx`, request, { login: 'allowed', password: 'pw-allowed' });
    assert.equal(response.status, 200, response.body);
    const [mail] = await newPinMails(service.config.pickupDir, before);
    assert.ok(mail);
    assert.equal(await isActivePin(service.services, 'allowed', mail.pin), true);
  });

  it('on loopback plain HTTP is accepted (the default listener)', async () => {
    await provision('on-loopback');
    const before = await listMailFiles(service.config.pickupDir);
    const response = await postSoap(service.endpoint, request, { login: 'on-loopback', password: 'pw-on-loopback' });
    assert.equal(response.status, 200, response.body);
    assert.equal(response.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
    const [mail] = await newPinMails(service.config.pickupDir, before);
    assert.ok(mail);
  });

  it('behind a trusted proxy on loopback: a remote client over http is refused, over https it is served with HSTS', async () => {
    const welcomePin = await provision('proxied');
    const server = await serveOn('127.0.0.1', { trustedProxies: ['127.0.0.1'] });
    const endpoint = `${server.url}/EWS/UM2007Legacy.asmx`;
    await expectUnchanged('proxied', welcomePin, async () => {
      for (const proto of [{}, { 'x-forwarded-proto': 'http' }] as Record<string, string>[]) {
        const headers = { 'x-forwarded-for': '203.0.113.7', ...proto };
        assertRefused(await postSoap(endpoint, request, { login: 'proxied', password: 'pw-proxied', headers }));
      }
    });
    assert.equal(server.calls(), 0);
    const before = await listMailFiles(service.config.pickupDir);
    const served = await postSoap(endpoint, request, { login: 'proxied', password: 'pw-proxied', headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' } });
    assert.equal(served.status, 200, served.body);
    assert.equal(served.headers.get('strict-transport-security'), 'max-age=31536000');
    const [mail] = await newPinMails(service.config.pickupDir, before);
    assert.ok(mail);
  });

  it('X-Forwarded-Proto from a peer that is not a trusted proxy is ignored', async () => {
    const server = await serveOn('127.0.0.1', {});
    const wsdl = await fetch(`${server.url}/EWS/UM2007Legacy.asmx?wsdl`, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(wsdl.status, 200);
    assert.equal(wsdl.headers.get('strict-transport-security'), null);
    assert.ok((await wsdl.text()).includes(`location="${server.url}/EWS/UM2007Legacy.asmx"`), 'the WSDL keeps http://');
  });
});
