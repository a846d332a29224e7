/**
 * What the bench sends: the requests of each load (ResetPIN with rotating
 * credentials, the phone logon, the malformed envelope and the WSDL GET),
 * built for autocannon.
 */
import type { Request } from 'autocannon';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CREDENTIAL_TTL_MS } from '../src/auth/credential-cache.ts';
import { REPO } from './lib/proc.ts';
import { Measurement } from './lib/measurement.ts';
import type { RunningServer } from './lib/proc.ts';
import type { Account, Provisioned } from './lib/provision.ts';

export const SERVICE_PATH = '/EWS/UM2007Legacy.asmx';
const RESET_BODY = readFileSync(join(REPO, 'test/fixtures/resetpin-request.xml'), 'utf8');
const SOAP_ACTION = '"http://schemas.microsoft.com/exchange/services/2006/messages/ResetPIN"';
/** KDF-bound loads: 4× the KDF concurrency keeps the KDF busy with modest queueing. */
export const KDF_CONNECTIONS = 8;
/** Protocol-floor loads. */
export const FLOOR_CONNECTIONS = 16;

function basic(account: Pick<Account, 'login' | 'password'>): string {
  return `Basic ${Buffer.from(`${account.login}:${account.password}`).toString('base64')}`;
}

/** Connection `index` of `connections` takes every connections-th account, so no two connections share a mailbox. */
function share<T>(items: readonly T[], index: number, connections: number): T[] {
  const mine = items.filter((_, i) => i % connections === index);
  return mine.length > 0 ? mine : [items[index % items.length] as T];
}

function resetRequest(account: Account): Request {
  return {
    method: 'POST',
    path: SERVICE_PATH,
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: SOAP_ACTION, authorization: basic(account) },
    body: RESET_BODY,
  };
}

export function resetRequests(accounts: readonly Account[]) {
  return (index: number, connections: number): Request[] => share(accounts, index, connections).map(resetRequest);
}

/**
 * ResetPIN requests that take their credentials in turn from `accounts`,
 * across connections and slices (8 in flight never share an account).
 * `once`: each account is used once, so its login is never in umpin's
 * credential cache; `reused` counts requests beyond the supply. Otherwise
 * the accounts rotate, and umpin's cache (an entry lives the TTL from the
 * miss that made it; hits do not extend it) is replayed here to count the
 * recorded requests that must have missed it.
 */
export class CredentialRotation {
  #next = 0;
  #recording = false;
  readonly #cachedAt = new Map<string, number>();
  reused = 0;
  sent = 0;
  misses = 0;

  constructor(readonly accounts: readonly Account[], readonly once: boolean) {}

  /** Called before each slice: whether its requests are measured. */
  begin(recording: boolean): void {
    this.#recording = recording;
  }

  get missRatio(): number {
    return this.once ? 1 : this.misses / Math.max(1, this.sent);
  }

  requestsFor = (): Request[] => [{
    ...resetRequest(this.accounts[0] as Account),
    setupRequest: (request: Request) => {
      const account = this.accounts[this.#next++ % this.accounts.length] as Account;
      if (this.once && this.#next > this.accounts.length) this.reused += 1;
      const now = Date.now();
      const cachedAt = this.#cachedAt.get(account.login);
      const miss = cachedAt === undefined || now >= cachedAt + DEFAULT_CREDENTIAL_TTL_MS;
      if (miss) this.#cachedAt.set(account.login, now);
      if (this.#recording) {
        this.sent += 1;
        if (miss) this.misses += 1;
      }
      return { ...request, headers: { ...request.headers, authorization: basic(account) } };
    },
  }];
}

export function logonRequests(provisioned: Provisioned) {
  return (index: number, connections: number): Request[] => share(provisioned.phoneAccounts, index, connections).map((account) => ({
    method: 'POST',
    path: '/tui/v1/logon',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${provisioned.apiKey}` },
    body: JSON.stringify({ mailbox: account.login, pin: account.pin }),
  }));
}

/** Credentials must be present (any password: they are verified only after the envelope parses). */
export const MALFORMED: Request = {
  method: 'POST',
  path: SERVICE_PATH,
  headers: { 'content-type': 'text/xml; charset=utf-8', authorization: basic({ login: 'nobody', password: 'anything' }) },
  body: '<x',
};
export const WSDL_GET: Request = { method: 'GET', path: `${SERVICE_PATH}?wsdl` };

/** What the malformed envelope gets; it must be a fault answered before any password work. */
export async function probeMalformed(origin: string): Promise<number> {
  const response = await fetch(`${origin}${SERVICE_PATH}`, { method: 'POST', headers: MALFORMED.headers as Record<string, string>, body: MALFORMED.body as string });
  const body = await response.text();
  if (response.status < 400 || response.status === 401 || !body.includes('Fault')) {
    throw new Error(`the malformed envelope got ${response.status}, not a SOAP fault before authentication:\n${body}`);
  }
  return response.status;
}

/** One umpin server under test: the working tree's on SQLite (always), on PostgreSQL, or another checkout's (--compare). */
export interface Instance {
  readonly label: string;
  readonly bin: string;
  readonly env: Record<string, string>;
  readonly port: number;
  readonly provisioned: Provisioned;
  /** Whether the phone and floor loads run on it too (PostgreSQL adds nothing to them). */
  readonly full: boolean;
}

/** The measurements of one instance, made once its server runs. */
export function instanceMeasurements(instance: Instance, server: RunningServer, malformedStatus: number) {
  const { provisioned, label } = instance;
  const fresh = new CredentialRotation(provisioned.freshAccounts, true);
  const cached = new CredentialRotation(provisioned.resetAccounts, false);
  return {
    fresh,
    cached,
    reset: new Measurement(`${label} ResetPIN uncached`, server, KDF_CONNECTIONS, 200, fresh.requestsFor, { spreadSources: true, rotation: fresh }),
    resetCached: new Measurement(`${label} ResetPIN cached`, server, KDF_CONNECTIONS, 200, cached.requestsFor, { spreadSources: true, rotation: cached }),
    logon: instance.full ? new Measurement(`${label} phone logon`, server, KDF_CONNECTIONS, 200, logonRequests(provisioned)) : undefined,
    malformed: instance.full ? new Measurement(`${label} malformed envelope`, server, FLOOR_CONNECTIONS, malformedStatus, () => [MALFORMED]) : undefined,
    wsdl: instance.full ? new Measurement(`${label} WSDL GET`, server, FLOOR_CONNECTIONS, 200, () => [WSDL_GET]) : undefined,
  };
}

export type InstanceMeasurements = ReturnType<typeof instanceMeasurements>;
