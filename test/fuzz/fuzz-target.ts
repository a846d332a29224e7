/**
 * The fuzzing target and its oracle, shared by `envelopes.test.ts` and
 * `scripts/fuzz.ts`: a real service (SQLite store, pickup directory, the
 * real KDF) behind the real Fastify app from `buildHttpServer`, driven with
 * `app.inject()`, which runs the whole request pipeline (hooks, body limit,
 * content-type check, error handler) without a socket, so 100 000 requests
 * fit in a test run.
 *
 * The oracle, for every answer: 200 with exactly the ResetPINResponse
 * envelope (owner only), or a SOAP fault whose faultcode, ResponseCode and
 * HTTP status are a pair of the catalogue (src/errors.ts, README's fault
 * table) with the headers that go with it. ErrorInternalServerError, or any
 * other body, is a failure. State: periodic snapshots must not move unless a
 * 200 was answered since, and at the end the PIN changes, the mails and the
 * audit trail add up to exactly the 200s.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildHttpServer } from '../../src/http/server.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import { DEFAULT_LIMITS, Limits } from '../../src/operations/limits.ts';
import { isActivePin, listMailFiles, newPinMails, snapshotState, startTestService, type TestService } from '../support/service.ts';
import { renderFuzzBody, type FuzzRequest } from './envelope-arbitraries.ts';

const OWNER = 'fuzz.owner';
const OWNER_PASSWORD = 'owner password';
/** Has a mailbox; always sent with a wrong password, so after the failed-sign-in limit it costs no KDF. */
const STRANGER = 'fuzz.stranger';
const STRANGER_PASSWORD = 'stranger password';
/** A user who may sign in but has no voice mail mailbox. */
const NO_MAILBOX = 'fuzz.nomailbox';
const NO_MAILBOX_PASSWORD = 'no mailbox password';
const LOGINS = [OWNER, STRANGER, NO_MAILBOX];

const ENDPOINT_PATH = '/EWS/UM2007Legacy.asmx';
const CONTENT_TYPE = 'text/xml; charset=utf-8';
const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>';
const ENVELOPE_CLOSE = '</soap:Body></soap:Envelope>';
const SUCCESS_BODIES = new Set(
  ['http', 'https'].map((scheme) => `${ENVELOPE_OPEN}<ResetPINResponse xmlns="${scheme}://schemas.microsoft.com/exchange/services/2006/messages" />${ENVELOPE_CLOSE}`),
);
/** The other operations' answers (issue 14): the read-only ones, and the setters' empty ones, which change the owner's settings only. */
const NS = '(https?://schemas\\.microsoft\\.com/exchange/services/2006/messages)';
const OTHER_SUCCESSES: ReadonlyArray<readonly [kind: string, caller: FuzzRequest['caller'], body: RegExp]> = [
  ['IsUMEnabled', 'owner', new RegExp(`^${escapeRegExp(ENVELOPE_OPEN)}<IsUMEnabledResponse xmlns="${NS}"><IsUMEnabledResponse>true</IsUMEnabledResponse></IsUMEnabledResponse>${escapeRegExp(ENVELOPE_CLOSE)}$`)],
  ['IsUMEnabled', 'no-mailbox', new RegExp(`^${escapeRegExp(ENVELOPE_OPEN)}<IsUMEnabledResponse xmlns="${NS}"><IsUMEnabledResponse>false</IsUMEnabledResponse></IsUMEnabledResponse>${escapeRegExp(ENVELOPE_CLOSE)}$`)],
  ['GetUMProperties', 'owner', new RegExp(`^${escapeRegExp(ENVELOPE_OPEN)}<GetUMPropertiesResponse xmlns="${NS}"><GetUMPropertiesResponse><OofStatus>(true|false)</OofStatus>` +
    '<MissedCallNotificationEnabled>(true|false)</MissedCallNotificationEnabled><PlayOnPhoneDialString>[^<]*</PlayOnPhoneDialString>' +
    `<TelephoneAccessNumbers></TelephoneAccessNumbers><TelephoneAccessFolderEmail>[A-Za-z0-9+/=]*</TelephoneAccessFolderEmail></GetUMPropertiesResponse></GetUMPropertiesResponse>${escapeRegExp(ENVELOPE_CLOSE)}$`)],
  ...['SetOofStatus', 'SetMissedCallNotificationEnabled', 'SetPlayOnPhoneDialString', 'SetTelephoneAccessFolderEmail'].map((operation) =>
    [operation, 'owner', new RegExp(`^${escapeRegExp(ENVELOPE_OPEN)}<${operation}Response xmlns="${NS}" />${escapeRegExp(ENVELOPE_CLOSE)}$`)] as const),
];
const SETTERS = new Set(['SetOofStatus', 'SetMissedCallNotificationEnabled', 'SetPlayOnPhoneDialString', 'SetTelephoneAccessFolderEmail']);
const TYPES = 'http://schemas.microsoft.com/exchange/services/2006/types';
const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const FAULT_BODY = new RegExp(
  `^${escapeRegExp(ENVELOPE_OPEN)}<soap:Fault>(?:<faultcode>soap:(\\w+)</faultcode>|<faultcode xmlns:a="${escapeRegExp(TYPES)}">a:(\\w+)</faultcode>)<faultstring xml:lang="en">([^<]+)</faultstring>` +
    `(?:<detail>(?:<ExceptionType xmlns="${escapeRegExp(M)}">(\\w+)</ExceptionType>)?<e:ResponseCode xmlns:e="${escapeRegExp(ERRORS)}">(\\w+)</e:ResponseCode><e:Message xmlns:e="${escapeRegExp(ERRORS)}">([^<]+)</e:Message></detail>)?` +
    `</soap:Fault>${escapeRegExp(ENVELOPE_CLOSE)}$`,
);
const NO_TELEPHONY = 'Play on Phone is not available: no telephony back end is configured on this server';

/**
 * faultcode/ResponseCode → the HTTP statuses the catalogue gives it. Not
 * listed, so a failure here: ErrorInternalServerError (a bug by definition)
 * and ErrorUnifiedMessagingRequestFailed (the pickup directory cannot fail
 * and the default policy always has a PIN; seeing it means something broke).
 */
const CATALOGUE: Readonly<Record<string, readonly number[]>> = {
  'Client/ErrorSchemaValidation': [500],
  'Client/ErrorInvalidRequest': [500, 413, 415],
  'Client/ErrorAccessDenied': [401],
  'Client/ErrorUserNotUnifiedMessagingEnabled': [500],
  'Server/ErrorServerBusy': [503],
  'VersionMismatch/-': [500, 415],
  'MustUnderstand/-': [500],
  // [MS-OXWUMS] 2.2.3.1's exceptions (issue 14): faultcode a:<ExceptionType>, the EWS code in detail.
  'InvalidCallIdException/ErrorInvalidPhoneCallId': [500],
  'DialingRulesException/ErrorInvalidPhoneNumber': [500],
  'InvalidObjectIdException/ErrorInvalidRequest': [500],
  // Only with the no-telephony sentence (judge checks): PlayOnPhone without a dialer.
  'Server/ErrorUnifiedMessagingRequestFailed': [500],
};

const RESET_LIMITED = 'Too many PIN resets for your mailbox; try again later.';

export interface FuzzTargetOptions {
  /** Successful resets of the owner per hour; beyond it a valid envelope is a cheap 503 (no KDF, no mail). */
  readonly resetsPerLogin: number;
  /** Snapshot the state after this many requests. */
  readonly checkpointEvery: number;
}

export interface FuzzSummary {
  readonly requests: number;
  readonly successes: number;
  /** Answer kind → count, e.g. `500 Client/ErrorSchemaValidation`. */
  readonly outcomes: ReadonlyMap<string, number>;
  readonly checkpoints: number;
}

export interface FuzzTarget {
  /** Sends one request and judges the answer; throws an AssertionError on anything outside the contract. */
  send(request: FuzzRequest): Promise<void>;
  /** Final accounting: throws unless the state changes add up to exactly the 200s answered. */
  finish(): Promise<FuzzSummary>;
  close(): Promise<void>;
}

export async function openFuzzTarget(options: FuzzTargetOptions): Promise<FuzzTarget> {
  // Memory-backed when the machine has /dev/shm: the store is the real SQLite, but its synchronous=FULL
  // fsync per audit row (every refused valid envelope writes one) would otherwise set the pace.
  const dataDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'umpin-fuzz-'));
  const service = await startTestService({}, dataDir).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  try {
    // In-process rather than through the CLI: three CLI processes cost more start-up than the rest of the set-up.
    const { services } = service;
    for (const [login, password] of [[OWNER, OWNER_PASSWORD], [STRANGER, STRANGER_PASSWORD], [NO_MAILBOX, NO_MAILBOX_PASSWORD]] as const) {
      await addUser(services, login, password);
    }
    await enableMailbox(services, OWNER, { email: `${OWNER}@example.com`, extension: '41001' });
    await enableMailbox(services, STRANGER, { email: `${STRANGER}@example.com`, extension: '41002' });
    return await FuzzTargetImpl.open(service, options);
  } catch (error) {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** What the end of the run is compared with. */
interface InitialState {
  readonly snapshot: unknown;
  readonly mails: string[];
  readonly generation: number;
  readonly audit: number;
}

class FuzzTargetImpl implements FuzzTarget {
  readonly #service: TestService;
  readonly #app: FastifyInstance;
  readonly #options: FuzzTargetOptions;
  readonly #errorLines: string[];
  readonly #initial: InitialState;
  readonly #outcomes = new Map<string, number>();
  #requests = 0;
  #successes = 0;
  /** 200s of a setter: they change the owner's voice mail settings, and nothing else. */
  #settingChanges = 0;
  #settingChangesAtLastSnapshot = 0;
  #resetLimited = 0;
  #checkpoints = 0;
  #lastSnapshot: unknown;
  #successesAtLastSnapshot = 0;

  private constructor(service: TestService, app: FastifyInstance, options: FuzzTargetOptions, errorLines: string[], initial: InitialState) {
    this.#service = service;
    this.#app = app;
    this.#options = options;
    this.#errorLines = errorLines;
    this.#initial = initial;
    this.#lastSnapshot = initial.snapshot;
  }

  static async open(service: TestService, options: FuzzTargetOptions): Promise<FuzzTargetImpl> {
    // Every line at warn or above is kept: an `error` line means an unexpected failure inside the service.
    const errorLines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void errorLines.push(line) });
    // One client address sends everything, so the per-address limit is lifted; the reset limit is lowered
    // so that most valid envelopes cost a cached sign-in and a 503 instead of two KDF calls and a mail.
    const limits = new Limits({
      ...DEFAULT_LIMITS,
      requestsPerAddress: { limit: Number.MAX_SAFE_INTEGER, windowMs: 60_000 },
      resetsPerLogin: { limit: options.resetsPerLogin, windowMs: 3_600_000 },
    });
    const app = buildHttpServer({ ...service.services, limits }, service.config, logger);
    await app.ready();
    const owner = await service.services.store.findMailbox(OWNER);
    assert.ok(owner);
    const initial = {
      snapshot: await snapshotState(service, LOGINS),
      mails: await listMailFiles(service.config.pickupDir),
      generation: owner.pinGeneration,
      audit: (await service.services.store.listAudit({})).length,
    };
    return new FuzzTargetImpl(service, app, options, errorLines, initial);
  }

  async send(request: FuzzRequest): Promise<void> {
    const headers: Record<string, string> = {};
    if (request.contentType !== undefined) headers['content-type'] = request.contentType;
    if (request.soapAction !== undefined) headers.soapaction = request.soapAction;
    const authorization = authorizationFor(request);
    if (authorization !== undefined) headers.authorization = authorization;
    const response = await this.#app.inject({ method: 'POST', url: ENDPOINT_PATH, headers, payload: renderFuzzBody(request.body) });
    this.#requests += 1;
    const outcome = judge(request, { status: response.statusCode, body: response.body, header: (name) => headerText(response.headers[name]) });
    this.#outcomes.set(outcome, (this.#outcomes.get(outcome) ?? 0) + 1);
    if (outcome === '200 ResetPINResponse') this.#successes += 1;
    if (SETTERS.has(outcome.slice('200 '.length))) this.#settingChanges += 1;
    if (response.statusCode === 503 && response.body.includes(RESET_LIMITED)) this.#resetLimited += 1;
    if (this.#requests % this.#options.checkpointEvery === 0) await this.#checkpoint();
  }

  /** Rejected requests change nothing: without a 200 since the last snapshot, the state is the same; with some, exactly that many mails are new. */
  async #checkpoint(): Promise<void> {
    this.#checkpoints += 1;
    const snapshot = await snapshotState(this.#service, LOGINS);
    const newSuccesses = this.#successes - this.#successesAtLastSnapshot;
    // A setter's 200 changes the owner's settings; without one since the last check, they too must be as they were.
    const settingsMayMove = this.#settingChanges > this.#settingChangesAtLastSnapshot;
    const compared = (s: unknown) => (settingsMayMove ? withoutVoiceMailSettings(s) : s);
    if (newSuccesses === 0) {
      assert.deepEqual(compared(snapshot), compared(this.#lastSnapshot), `the state changed after ${this.#requests} requests with no 200 answered since the last check`);
    } else {
      const mails = (s: unknown) => (s as { mails: string[] }).mails.length;
      assert.equal(mails(snapshot) - mails(this.#lastSnapshot), newSuccesses, 'one new mail per 200 answered since the last check');
    }
    assert.equal((snapshot as { pending: number }).pending, 0, 'no pending change between requests');
    assert.deepEqual(this.#errorLines.filter(isErrorLine), [], 'the service logged an error');
    this.#lastSnapshot = snapshot;
    this.#successesAtLastSnapshot = this.#successes;
    this.#settingChangesAtLastSnapshot = this.#settingChanges;
  }

  async finish(): Promise<FuzzSummary> {
    await this.#checkpoint();
    const { store } = this.#service.services;
    const mails = await newPinMails(this.#service.config.pickupDir, this.#initial.mails);
    assert.equal(mails.length, this.#successes, 'exactly one mail per 200 answered');
    assert.ok(mails.every((m) => m.to === `${OWNER}@example.com`), 'only the owner was mailed');
    const owner = await store.findMailbox(OWNER);
    assert.equal((owner?.pinGeneration ?? 0) - this.#initial.generation, this.#successes, 'one PIN change per 200 answered');
    const events = (await store.listAudit({})).slice(this.#initial.audit);
    const count = (outcome: string) => events.filter((e) => e.event === 'pin.reset' && e.outcome === outcome).length;
    assert.equal(count('success'), this.#successes, 'one audited reset per 200 answered');
    assert.equal(count('rate-limited'), this.#resetLimited, 'one audited refusal per reset-limit 503');
    const settingEvents = events.filter((e) => e.event === 'um.setting' && e.outcome === 'success');
    assert.equal(settingEvents.length, this.#settingChanges, 'one audited setting change per setter 200');
    assert.ok(settingEvents.every((e) => e.login === OWNER), "only the owner's settings changed");
    if (this.#successes > 0) {
      // The file names do not say which mail came last, so every mailed PIN is tried: exactly one works.
      const active = await Promise.all(mails.map((m) => isActivePin(this.#service.services, OWNER, m.pin)));
      assert.equal(active.filter(Boolean).length, 1, "exactly one mailed PIN is the owner's active PIN");
    }
    // The other two users were never changed: their part of the snapshot is as it was at the start.
    const parts = (s: unknown) => (s as { mailboxes: unknown[] }).mailboxes.slice(1);
    assert.deepEqual(parts(await snapshotState(this.#service, LOGINS)), parts(this.#initial.snapshot));
    // The app still answers: nothing above left it broken.
    const after = await this.#app.inject({ method: 'GET', url: `${ENDPOINT_PATH}?wsdl` });
    assert.equal(after.statusCode, 200);
    return { requests: this.#requests, successes: this.#successes, outcomes: new Map(this.#outcomes), checkpoints: this.#checkpoints };
  }

  async close(): Promise<void> {
    await this.#app.close();
    await this.#service.close();
    await rm(this.#service.dataDir, { recursive: true, force: true });
  }
}

function authorizationFor(request: FuzzRequest): string | undefined {
  const basic = (login: string, password: string) => `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
  switch (request.caller) {
    case 'owner':
      return basic(OWNER, OWNER_PASSWORD);
    case 'stranger':
      return basic(STRANGER, 'not the password');
    case 'no-mailbox':
      return basic(NO_MAILBOX, NO_MAILBOX_PASSWORD);
    case 'none':
      return undefined;
    case 'garbage':
      return request.authorization;
  }
}

interface Answer {
  readonly status: number;
  readonly body: string;
  header(name: string): string | undefined;
}

/** The oracle: returns the kind of answer, or throws an AssertionError that shows the whole answer. */
export function judge(request: FuzzRequest, answer: Answer): string {
  const context = `caller ${request.caller}; answer HTTP ${answer.status}: ${answer.body.slice(0, 2000)}`;
  assert.equal(answer.header('content-type'), CONTENT_TYPE, `content-type; ${context}`);
  if (answer.status === 200) {
    if (SUCCESS_BODIES.has(answer.body)) {
      assert.equal(request.caller, 'owner', `only the owner's credentials can succeed; ${context}`);
      return '200 ResetPINResponse';
    }
    const other = OTHER_SUCCESSES.find(([, , body]) => body.test(answer.body));
    assert.ok(other, `a 200 must be exactly the ResetPINResponse envelope or another operation's answer; ${context}`);
    assert.equal(request.caller, other[1], `only the ${other[1]}'s credentials can get this answer; ${context}`);
    return `200 ${other[0]}`;
  }
  const fault = FAULT_BODY.exec(answer.body);
  assert.ok(fault, `neither a ResetPINResponse nor a SOAP fault of the catalogue's form; ${context}`);
  const [, soapCode, exceptionCode, faultstring, exceptionType, responseCode, message] = fault;
  const faultcode = soapCode ?? exceptionCode;
  if (exceptionCode !== undefined) assert.equal(exceptionType, exceptionCode, `detail's ExceptionType repeats the faultcode; ${context}`);
  const key = `${faultcode}/${responseCode ?? '-'}`;
  assert.ok(CATALOGUE[key]?.includes(answer.status), `${key} with HTTP ${answer.status} is not in the catalogue; ${context}`);
  if (key === 'Server/ErrorUnifiedMessagingRequestFailed') assert.ok(faultstring?.startsWith(NO_TELEPHONY), `a mail failure cannot happen here; ${context}`);
  if (exceptionCode !== undefined || key === 'Server/ErrorUnifiedMessagingRequestFailed') assert.equal(request.caller, 'owner', `only a mailbox gets this far; ${context}`);
  if (responseCode !== undefined) assert.equal(message, faultstring, `detail's Message repeats the faultstring; ${context}`);
  switch (answer.status) {
    case 401:
      assert.equal(answer.header('www-authenticate'), 'Basic realm="umpin", charset="UTF-8"', `www-authenticate; ${context}`);
      break;
    case 503:
      assert.match(answer.header('retry-after') ?? '', /^[1-9]\d*$/, `retry-after; ${context}`);
      break;
    case 413:
      assert.equal(answer.header('connection'), 'close', `connection; ${context}`);
      break;
  }
  if (request.caller === 'none') {
    // Credentials are checked before the envelope is read: nothing past them can answer.
    assert.ok([401, 413, 415].includes(answer.status), `a request without credentials is refused before its envelope; ${context}`);
  }
  if (responseCode === 'ErrorUserNotUnifiedMessagingEnabled') assert.equal(request.caller, 'no-mailbox', context);
  return `${answer.status} ${key}`;
}

/** The snapshot without the mailboxes' voice mail settings, which a setter's 200 may change. */
function withoutVoiceMailSettings(snapshot: unknown): unknown {
  const { mailboxes, ...rest } = snapshot as { mailboxes: Array<{ mailbox?: Record<string, unknown> }> };
  return { ...rest, mailboxes: mailboxes.map((m) => ({ ...m, mailbox: m.mailbox && { ...m.mailbox, voiceMail: undefined } })) };
}

function headerText(value: string | number | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function isErrorLine(line: string): boolean {
  return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
