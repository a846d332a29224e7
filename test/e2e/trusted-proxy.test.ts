/**
 * Trusted proxies (issue 7): with UMPIN_TRUSTED_PROXIES the client named by
 * X-Forwarded-For is the one the per-address limit counts and the audit
 * records; without it, the header is ignored and the peer is the client.
 * The "proxy" is this test on 127.0.0.1 sending the headers, as a
 * TLS-terminating load balancer would.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { REQUEST_XML, isActivePin, listMailFiles, newPinMails, postSoap, provisionMailbox, snapshotState, startTestService, type TestService } from '../support/service.ts';

const BUSY = 'Too many requests from your address; try again later.';

async function lastAudit(service: TestService, login: string): Promise<{ outcome: string; source: string } | undefined> {
  const event = (await service.services.store.listAudit({ login })).at(-1);
  return event && { outcome: event.outcome, source: event.source };
}

/** A ResetPIN for `login` relayed for `forwardedFor`; returns the status and, on success, checks the mailed PIN is active. */
async function resetVia(service: TestService, login: string, forwardedFor: string, request: Buffer): Promise<{ status: number; body: string }> {
  const before = await listMailFiles(service.config.pickupDir);
  const response = await postSoap(service.endpoint, request, {
    login, password: `pw-${login}`,
    // A TLS-terminating proxy says so; without it a forwarded client's password would be refused (tls.test.ts).
    headers: { 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'https' },
  });
  if (response.status === 200) {
    const [mail] = await newPinMails(service.config.pickupDir, before);
    assert.ok(mail, 'a PIN mail was written');
    assert.equal(await isActivePin(service.services, login, mail.pin), true);
  }
  return response;
}

async function assertBusyAndUnchanged(service: TestService, login: string, forwardedFor: string, request: Buffer): Promise<void> {
  const state = await snapshotState(service, [login]);
  const audit = await service.services.store.listAudit({});
  const response = await resetVia(service, login, forwardedFor, request);
  assert.equal(response.status, 503, response.body);
  assert.ok(response.body.includes(`<faultstring xml:lang="en">${BUSY}</faultstring>`), response.body);
  assert.deepEqual(await snapshotState(service, [login]), state);
  assert.deepEqual(await service.services.store.listAudit({}), audit);
}

describe('behind a trusted proxy (UMPIN_TRUSTED_PROXIES=127.0.0.1)', () => {
  let service: TestService;
  let request: Buffer;
  before(async () => {
    service = await startTestService({ UMPIN_TRUSTED_PROXIES: '127.0.0.1', UMPIN_LIMIT_REQUESTS_PER_MINUTE: '1' });
    await provisionMailbox(service, 'erin', 'pw-erin');
    request = await readFile(REQUEST_XML);
  });
  after(() => service.close());

  it('the audit records the forwarded client', async () => {
    assert.equal((await resetVia(service, 'erin', '203.0.113.7', request)).status, 200);
    assert.deepEqual(await lastAudit(service, 'erin'), { outcome: 'success', source: '203.0.113.7' });
  });

  // The limit is one request a minute per client, and each test spends the budget of clients of its own, so it runs alone.
  it('the per-address limit counts the forwarded client: the same client again is refused', async () => {
    assert.equal((await resetVia(service, 'erin', '203.0.113.8', request)).status, 200);
    await assertBusyAndUnchanged(service, 'erin', '203.0.113.8', request);
  });

  it('an address the client itself prepends is not believed: only the proxy\'s own entry counts', async () => {
    assert.equal((await resetVia(service, 'erin', '203.0.113.9', request)).status, 200);
    // The proxy appends the address it saw; what the client sent before it is the client's word.
    await assertBusyAndUnchanged(service, 'erin', '198.51.100.99, 203.0.113.9', request);
  });

  it('another client behind the same proxy has its own budget', async () => {
    assert.equal((await resetVia(service, 'erin', '203.0.113.10', request)).status, 200);
    await assertBusyAndUnchanged(service, 'erin', '203.0.113.10', request);
    assert.equal((await resetVia(service, 'erin', '198.51.100.4', request)).status, 200);
    assert.deepEqual(await lastAudit(service, 'erin'), { outcome: 'success', source: '198.51.100.4' });
  });
});

describe('without trusted proxies', () => {
  // Every request comes from 127.0.0.1, one client with one budget: each test has a service of its own, so it runs alone.
  let service: TestService;
  let request: Buffer;
  beforeEach(async () => {
    service = await startTestService({ UMPIN_LIMIT_REQUESTS_PER_MINUTE: '1' });
    await provisionMailbox(service, 'frank', 'pw-frank');
    request = await readFile(REQUEST_XML);
  });
  afterEach(() => service.close());

  it('X-Forwarded-For is ignored: the audit records the peer', async () => {
    assert.equal((await resetVia(service, 'frank', '203.0.113.7', request)).status, 200);
    assert.deepEqual(await lastAudit(service, 'frank'), { outcome: 'success', source: '127.0.0.1' });
  });

  it('a client cannot win a fresh budget by naming another address', async () => {
    assert.equal((await resetVia(service, 'frank', '203.0.113.7', request)).status, 200);
    await assertBusyAndUnchanged(service, 'frank', '198.51.100.4', request);
  });
});
