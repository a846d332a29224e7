/**
 * Test harness: a real service on 127.0.0.1:0 over a fresh data directory,
 * the real CLI as a subprocess, and readers for what a user would see (the
 * mail files) and what must not change (the stored state).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import { isAmongVerifiers } from '../../src/crypto/kdf.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { openServices } from '../../src/open-services.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import type { Services } from '../../src/operations/services.ts';
import { countPendingPinChanges, findRememberedPinVerifiers } from './store-readers.ts';

export const REPO = new URL('../../', import.meta.url).pathname;
/** The CLI run from the TypeScript sources (through tsx), so tests need no build. */
export const UMPIN_BIN = join(REPO, 'scripts/umpin-from-source.mjs');
/** The installed command: the JavaScript `npm ci` built into dist/ (test/e2e/built.test.ts). */
export const BUILT_UMPIN_BIN = join(REPO, 'bin/umpin.js');
export const REQUEST_XML = join(REPO, 'test/fixtures/resetpin-request.xml');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `umpin …` as a user would, with the given environment and standard input. */
export function runUmpin(args: readonly string[], env: Record<string, string>, input?: string, nodeArgs: readonly string[] = [UMPIN_BIN]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...nodeArgs, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

export interface TestService {
  readonly url: string;
  readonly endpoint: string;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  readonly config: Config;
  readonly services: Services;
  umpin(args: readonly string[], input?: string): Promise<CliResult>;
  close(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'umpin-test-'));
}

/** Starts the service in this process; the CLI runs against the same data directory. */
export async function startTestService(extraEnv: Record<string, string> = {}, dataDir?: string): Promise<TestService> {
  const dir = dataDir ?? (await makeDataDir());
  const env = { UMPIN_DATA_DIR: dir, UMPIN_LISTEN: '127.0.0.1:0', UMPIN_LOG_LEVEL: 'silent', ...extraEnv };
  const config = loadConfig(env);
  const logger = pino({ level: 'silent' });
  const opened = await openServices(config, logger);
  const app = buildHttpServer(opened.services, config, logger);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = app.listeningOrigin;
  return {
    url,
    endpoint: `${url}/EWS/UM2007Legacy.asmx`,
    dataDir: dir,
    env,
    config,
    services: opened.services,
    umpin: (args, input) => runUmpin(args, env, input),
    async close() {
      await app.close();
      await opened.close();
      if (dataDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

let nextExtension = 36697;

/** Adds a user and enables their mailbox through the CLI; returns the welcome mail's PIN. Extensions are unique, so each gets its own. */
export async function provisionMailbox(service: TestService, login: string, password: string, extension = String(nextExtension++)): Promise<string> {
  const added = await service.umpin(['user', 'add', login, '--password-stdin'], `${password}\n`);
  if (added.code !== 0) throw new Error(`user add failed: ${added.stderr}`);
  const before = await listMailFiles(service.config.pickupDir);
  const enabled = await service.umpin(['mailbox', 'enable', login, '--email', `${login}@example.com`, '--extension', extension]);
  if (enabled.code !== 0) throw new Error(`mailbox enable failed: ${enabled.stderr}`);
  const [file] = (await listMailFiles(service.config.pickupDir)).filter((f) => !before.includes(f));
  if (!file) throw new Error('no welcome mail was written');
  return (await readPinMail(join(service.config.pickupDir, file))).pin;
}

/**
 * The same as provisionMailbox, through the operations in this process instead
 * of two CLI runs: cheap enough for a test to make a mailbox of its own.
 */
export async function provisionMailboxInProcess(service: TestService, login: string, password: string, extension = String(nextExtension++)): Promise<string> {
  await addUser(service.services, login, password);
  const before = await listMailFiles(service.config.pickupDir);
  await enableMailbox(service.services, login, { email: `${login}@example.com`, extension });
  const [mail] = await newPinMails(service.config.pickupDir, before);
  if (!mail) throw new Error('no welcome mail was written');
  return mail.pin;
}

export async function listMailFiles(pickupDir: string): Promise<string[]> {
  try {
    return (await readdir(pickupDir)).filter((f) => f.endsWith('.eml')).sort();
  } catch (error) {
    // No pickup directory (or a file in its place) holds no mail.
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return [];
    throw error;
  }
}

export interface PinMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly pin: string;
  readonly headers: Map<string, unknown>;
}

/** Parses a pickup file as a mail client would and finds the PIN on its own indented line. */
export async function readPinMail(file: string): Promise<PinMail> {
  const parsed = await simpleParser(await readFile(file));
  const text = parsed.text ?? '';
  const pin = /^ {4}(\d+)$/m.exec(text)?.[1];
  if (!pin) throw new Error(`no PIN line in ${file}`);
  const to = Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text;
  return { to: to ?? '', subject: parsed.subject ?? '', text, pin, headers: parsed.headers };
}

/** The mail files added since `before`, parsed. */
export async function newPinMails(pickupDir: string, before: readonly string[]): Promise<PinMail[]> {
  const files = (await listMailFiles(pickupDir)).filter((f) => !before.includes(f));
  return Promise.all(files.map((f) => readPinMail(join(pickupDir, f))));
}

/** True when `pin` is the mailbox's active PIN, checked against the stored verifier. */
export async function isActivePin(services: Services, login: string, pin: string): Promise<boolean> {
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox?.hasPin) return false;
  const [current] = await findRememberedPinVerifiers(services.store, login);
  return current !== undefined && isAmongVerifiers(await services.kdf.pinVerifier(pin, mailbox.pinSalt), [current]);
}

/** Everything a rejected request must leave as it was. */
export async function snapshotState(service: Pick<TestService, 'services' | 'config'>, logins: readonly string[]): Promise<unknown> {
  const { store } = service.services;
  const mailboxes = await Promise.all(logins.map(async (login) => ({
    mailbox: await store.findMailbox(login),
    verifiers: (await findRememberedPinVerifiers(store, login)).map((v) => v.toString('hex')),
  })));
  return {
    mailboxes,
    pending: await countPendingPinChanges(store),
    mails: await listMailFiles(service.config.pickupDir),
  };
}

export interface SoapCall {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** POSTs a SOAP request with Basic credentials (when given). */
export async function postSoap(
  endpoint: string,
  body: string | Uint8Array,
  options: { login?: string; password?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<SoapCall> {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'text/xml; charset=utf-8', ...options.headers };
  if (options.login !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.login}:${options.password ?? ''}`).toString('base64')}`;
  }
  const response = await fetch(endpoint, { method: 'POST', headers, body });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/**
 * POSTs a SOAP request from another loopback address (127.0.0.2, …), as a
 * client elsewhere would: the per-address limits see a new client. fetch
 * cannot choose its source address, so this uses node:http.
 */
export function postFrom(localAddress: string, endpoint: string, body: Uint8Array, auth: { login: string; password: string }): Promise<SoapCall> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(endpoint, {
      method: 'POST', localAddress,
      headers: { 'content-type': 'text/xml; charset=utf-8', authorization: `Basic ${Buffer.from(`${auth.login}:${auth.password}`).toString('base64')}` },
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
        resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

export interface ServeProcess {
  readonly url: string;
  readonly endpoint: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `umpin serve` as its own process on a free port and waits until it listens. */
export function startServeProcess(env: Record<string, string>, nodeArgs: readonly string[] = [UMPIN_BIN]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...nodeArgs, 'serve'], {
    env: { ...process.env, UMPIN_LISTEN: '127.0.0.1:0', UMPIN_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`umpin serve did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /umpin is serving ResetPIN at (https?:\/\/[^/"]+)\//.exec(output)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url,
        endpoint: `${url}/EWS/UM2007Legacy.asmx`,
        child,
        output: () => output,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => reject(new Error(`umpin serve exited early:\n${output}`)));
  });
}

/** Exit code, stdout and stderr at once, so a failure shows all three. */
export function assertRun(result: CliResult, code: number, expect: { stdout?: RegExp | string; stderr?: RegExp | string } = {}): void {
  const context = `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
  assert.equal(result.code, code, context);
  for (const stream of ['stdout', 'stderr'] as const) {
    const expected = expect[stream];
    if (expected === undefined) continue;
    if (typeof expected === 'string') assert.ok(result[stream].includes(expected), `${stream} should include ${JSON.stringify(expected)}\n${context}`);
    else assert.match(result[stream], expected, context);
  }
}
