/**
 * The server-side faults of DESIGN §1.4, each over a real socket and each
 * checked for status, faultcode, response code, text, and that nothing
 * changed: the old PIN still works, no pending change, no mail.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildHttpServer } from '../../src/http/server.ts';
import { MAX_HISTORY_REDRAWS, RESET_EFFECTS } from '../../src/operations/change-pin.ts';
import { DEFAULT_LIMITS, Limits } from '../../src/operations/limits.ts';
import type { Services } from '../../src/operations/services.ts';
import {
  REQUEST_XML, isActivePin, listMailFiles, newPinMails, postFrom, postSoap, provisionMailboxInProcess, snapshotState, startTestService, type TestService,
} from '../support/service.ts';
import { testEngines, type TestDatabase } from '../support/engines.ts';

const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';

function assertFault(body: string, faultCode: string, responseCode: string, message: string): void {
  assert.match(body, new RegExp(`<faultcode>soap:${faultCode}</faultcode>`));
  assert.ok(body.includes(`<faultstring xml:lang="en">${message}</faultstring>`), `faultstring is "${message}" in ${body}`);
  assert.ok(body.includes(`<e:ResponseCode xmlns:e="${ERRORS}">${responseCode}</e:ResponseCode>`), `response code ${responseCode}`);
  assert.ok(body.includes(`<e:Message xmlns:e="${ERRORS}">${message}</e:Message>`));
}

for (const engine of await testEngines()) describe(`server-side faults (${engine.name})`, { skip: engine.skip }, () => {
  let database: TestDatabase | undefined;
  let service: TestService;
  let request: Buffer;
  let app: FastifyInstance | undefined;

  before(async () => {
    database = await engine.database('e2e_server_faults');
    service = await startTestService(database.env);
    request = await readFile(REQUEST_XML);
  });
  const closeApp = async () => {
    await app?.close();
    app = undefined;
  };
  beforeEach(closeApp);
  after(async () => {
    await closeApp();
    await service?.close();
    await database?.dispose();
  });

  /** A second HTTP server on the same store, with some services replaced. */
  async function serveWith(overrides: Partial<Services>): Promise<string> {
    app = buildHttpServer({ ...service.services, ...overrides }, service.config, pino({ level: 'silent' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    return `${app.listeningOrigin}/EWS/UM2007Legacy.asmx`;
  }

  // Every test signs in as a mailbox of its own, made here, so each can run
  // alone (--test-name-pattern) and none sees the PIN, audit rows or limits
  // another left.
  /** A new mailbox `login` (password pw-<login>); answers its welcome PIN. */
  const provision = (login: string) => provisionMailboxInProcess(service, login, `pw-${login}`);
  const reset = (endpoint: string, login: string) => postSoap(endpoint, request, { login, password: `pw-${login}` });

  async function expectUnchanged(login: string, welcomePin: string, action: () => Promise<void>): Promise<void> {
    const before = await snapshotState(service, [login]);
    await action();
    assert.deepEqual(await snapshotState(service, [login]), before);
    assert.equal(await isActivePin(service.services, login, welcomePin), true, 'the old PIN still works');
  }
  const lastAudit = async (login: string) => (await service.services.store.listAudit({ login })).at(-1);

  it('no PIN satisfies the policy: 500 soap:Server ErrorUnifiedMessagingRequestFailed', async () => {
    const welcomePin = await provision('no-pin');
    const endpoint = await serveWith({ digits: () => 7 }); // every candidate is 777777: a repeated digit
    await expectUnchanged('no-pin', welcomePin, async () => {
      const response = await reset(endpoint, 'no-pin');
      assert.equal(response.status, 500);
      assertFault(response.body, 'Server', 'ErrorUnifiedMessagingRequestFailed',
        'No new PIN could be found that satisfies your PIN policy; your old PIN still works. Ask your administrator to review the policy.');
    });
    assert.equal((await lastAudit('no-pin'))?.outcome, 'no-pin');
  });

  it('history exhausts the draws: the same fault, after a bounded number of KDF calls', async () => {
    const welcomePin = await provision('exhausted');
    let drawn = 0;
    const endpoint = await serveWith({ digits: () => Number(welcomePin[drawn++ % welcomePin.length]) });
    await expectUnchanged('exhausted', welcomePin, async () => {
      const response = await reset(endpoint, 'exhausted');
      assert.equal(response.status, 500);
      assert.match(response.body, /ErrorUnifiedMessagingRequestFailed/);
    });
    assert.equal(drawn, MAX_HISTORY_REDRAWS * welcomePin.length, 'every draw was the current PIN, and the draws stopped');
  });

  it('the mail cannot be handed off: 500 soap:Server, the old PIN still works, the pending change is gone', async () => {
    const welcomePin = await provision('no-hand-off');
    const pickup = service.config.pickupDir;
    await rm(pickup, { recursive: true });
    await writeFile(pickup, 'not a directory'); // every write into it fails with ENOTDIR
    try {
      await expectUnchanged('no-hand-off', welcomePin, async () => {
        const response = await reset(service.endpoint, 'no-hand-off');
        assert.equal(response.status, 500);
        assertFault(response.body, 'Server', 'ErrorUnifiedMessagingRequestFailed',
          'The e-mail with your new PIN could not be sent now, so your PIN was not changed and your old PIN still works. Try again in a few minutes.');
      });
    } finally {
      await rm(pickup);
      await mkdir(pickup, { mode: 0o700 });
    }
    const audit = await lastAudit('no-hand-off');
    assert.equal(audit?.outcome, 'mail-failed');
    assert.equal(audit?.detail?.reply, 'ENOTDIR');
  });

  it('a hand-off that never answers times out into the same fault', async () => {
    const welcomePin = await provision('stalled');
    const stalled = { handOff: () => new Promise<never>(() => undefined), close: async () => undefined };
    const endpoint = await serveWith({ transport: stalled, mail: { ...service.services.mail, handOffTimeoutMs: 300 } });
    await expectUnchanged('stalled', welcomePin, async () => {
      const response = await reset(endpoint, 'stalled');
      assert.equal(response.status, 500);
      assert.match(response.body, /could not be sent now, so your PIN was not changed/);
    });
    assert.equal((await lastAudit('stalled'))?.detail?.reply, 'no answer within 300 ms');
  });

  it('another change of the same mailbox is in progress: 503 + Retry-After, ErrorServerBusy', async () => {
    const welcomePin = await provision('in-progress');
    const mailbox = await service.services.store.findMailbox('in-progress');
    assert.ok(mailbox);
    const id = randomUUID();
    await service.services.store.beginPinChange({
      id, login: 'in-progress', reason: 'reset', newPinVerifier: Buffer.alloc(32), newPinLength: 6, sealedMail: Buffer.alloc(40), effects: RESET_EFFECTS, delivery: 'inline',
      baseGeneration: mailbox.pinGeneration, ownerHost: 'another-host', ownerPid: 1,
      leaseUntil: new Date(Date.now() + 60_000), actor: 'admin', source: 'cli',
    }, new Date());
    try {
      await expectUnchanged('in-progress', welcomePin, async () => {
        const response = await reset(service.endpoint, 'in-progress');
        assert.equal(response.status, 503);
        assert.equal(response.headers.get('retry-after'), '5');
        assertFault(response.body, 'Server', 'ErrorServerBusy', 'A PIN change for this mailbox is already in progress; try again in a few seconds.');
      });
    } finally {
      await service.services.store.discardPinChange(id, { at: new Date(), event: 'test', outcome: 'cleanup', login: 'in-progress', actor: 'test', source: 'test' });
    }
  });

  describe('rate limits (503 + Retry-After, ErrorServerBusy)', () => {
    const limited = (changes: Partial<typeof DEFAULT_LIMITS>) => serveWith({ limits: new Limits({ ...DEFAULT_LIMITS, ...changes }) });
    /** A reset that must succeed and write its mail. */
    async function resetSucceeds(send: () => Promise<{ status: number }>): Promise<void> {
      const before = await listMailFiles(service.config.pickupDir);
      assert.equal((await send()).status, 200);
      const [mail] = await newPinMails(service.config.pickupDir, before);
      assert.ok(mail);
    }

    it('per client address, before any password work', async () => {
      await provision('per-address');
      const endpoint = await limited({ requestsPerAddress: { limit: 1, windowMs: 60_000 } });
      await resetSucceeds(() => reset(endpoint, 'per-address'));
      const before = await snapshotState(service, ['per-address']);
      const refused = await reset(endpoint, 'per-address');
      assert.equal(refused.status, 503);
      assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
      assertFault(refused.body, 'Server', 'ErrorServerBusy', 'Too many requests from your address; try again later.');
      assert.deepEqual(await snapshotState(service, ['per-address']), before);
    });

    it('failed sign-ins per login and address: the guesser is stopped, the user from another address is not', async () => {
      await provision('guessed');
      const endpoint = await limited({ failedSignInsPerLoginAndAddress: { limit: 2, windowMs: 60_000 } });
      for (let i = 0; i < 2; i += 1) assert.equal((await postSoap(endpoint, request, { login: 'guessed', password: 'guess' })).status, 401);
      const refused = await reset(endpoint, 'guessed');
      assert.equal(refused.status, 503);
      assertFault(refused.body, 'Server', 'ErrorServerBusy', 'Too many failed sign-ins for this user from your address; try again later.');
      await resetSucceeds(() => postFrom('127.0.0.2', endpoint, request, { login: 'guessed', password: 'pw-guessed' }));
    });

    it('resets per login, audited', async () => {
      await provision('reset-limited');
      const endpoint = await limited({ resetsPerLogin: { limit: 1, windowMs: 3_600_000 } });
      await resetSucceeds(() => reset(endpoint, 'reset-limited'));
      const refused = await reset(endpoint, 'reset-limited');
      assert.equal(refused.status, 503);
      assertFault(refused.body, 'Server', 'ErrorServerBusy', 'Too many PIN resets for your mailbox; try again later.');
      assert.equal((await lastAudit('reset-limited'))?.outcome, 'rate-limited');
    });
  });

  it('anything unexpected: 500 soap:Server ErrorInternalServerError with a generic sentence', async () => {
    const welcomePin = await provision('unexpected');
    const broken = { ...service.services.store, findMailbox: () => Promise.reject(new Error('SQLITE_IOERR: disk I/O error at /secret/path')) };
    const endpoint = await serveWith({ store: Object.assign(Object.create(Object.getPrototypeOf(service.services.store)), service.services.store, broken) });
    await expectUnchanged('unexpected', welcomePin, async () => {
      const response = await reset(endpoint, 'unexpected');
      assert.equal(response.status, 500);
      assertFault(response.body, 'Server', 'ErrorInternalServerError',
        'The service failed to process the request; try again later, and tell your administrator if it keeps failing.');
      assert.doesNotMatch(response.body, /SQLITE|secret\/path/);
    });
  });
});
