/**
 * Debian's Chromium driven by playwright-core (which downloads no browser),
 * and a self-service stack to point it at: a real `umpin serve` process over
 * a fresh data directory, plus the same data directory opened in this
 * process to provision users and to read what the pages must (or must not)
 * have changed.
 */
import { rm } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { openServices } from '../../src/open-services.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import { createApiKey } from '../../src/operations/api-keys.ts';
import type { Services } from '../../src/operations/services.ts';
import { findExecutable } from './peers.ts';
import { listMailFiles, makeDataDir, newPinMails, startServeProcess, type ServeProcess } from './service.ts';

/**
 * What a sandboxed root in a container needs (no sandbox, no GPU), and no
 * traffic of the browser's own (updates, sync, QUIC probes). Playwright
 * gives every launch a fresh temporary profile (--user-data-dir) itself and
 * refuses one passed here.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  const executablePath = findExecutable('chromium');
  if (executablePath === undefined) throw new Error('chromium is not installed (apt-get install -y chromium)');
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export interface SelfServiceStack {
  readonly url: string;
  readonly env: Record<string, string>;
  readonly config: Config;
  /** The same database and secret as the serve process, opened here. */
  readonly services: Services;
  readonly serve: ServeProcess;
  /** A user with a password and a voice mail-enabled mailbox; returns the welcome mail's PIN. */
  provision(login: string, password: string, extension: string, options?: { policy?: string; language?: string }): Promise<string>;
  /** A phone logon through the PBX API, as a voice mail system would make it. */
  phoneLogon(login: string, pin: string): Promise<{ status: number; body: { result?: string; mustChange?: boolean } }>;
  mailFiles(): Promise<string[]>;
  newPins(before: readonly string[]): Promise<Array<{ to: string; pin: string }>>;
  /** Another `umpin serve` over the same data directory (another instance). */
  startInstance(extraEnv: Record<string, string>): Promise<ServeProcess>;
  close(): Promise<void>;
}

export async function startSelfServiceStack(extraEnv: Record<string, string> = {}): Promise<SelfServiceStack> {
  const dataDir = await makeDataDir();
  const env = { UMPIN_DATA_DIR: dataDir, ...extraEnv };
  const serve = await startServeProcess(env);
  const config = loadConfig({ ...env, UMPIN_LISTEN: '127.0.0.1:0' });
  const opened = await openServices(config, pino({ level: 'silent' }));
  const { services } = opened;
  const apiKey = await createApiKey(services, 'browser-tests');
  const others: ServeProcess[] = [];
  return {
    url: serve.url,
    env,
    config,
    services,
    serve,
    async provision(login, password, extension, options = {}) {
      await addUser(services, login, password);
      const before = await listMailFiles(config.pickupDir);
      await enableMailbox(services, login, { email: `${login}@example.com`, extension, ...(options.policy ? { policy: options.policy } : {}), ...(options.language ? { language: options.language } : {}) });
      const [mail] = await newPinMails(config.pickupDir, before);
      if (!mail) throw new Error(`no welcome mail for ${login}`);
      return mail.pin;
    },
    async phoneLogon(login, pin) {
      const response = await fetch(`${serve.url}/tui/v1/logon`, {
        method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ mailbox: login, pin }),
      });
      return { status: response.status, body: await response.json() as { result?: string; mustChange?: boolean } };
    },
    mailFiles: () => listMailFiles(config.pickupDir),
    newPins: async (before) => (await newPinMails(config.pickupDir, before)).map(({ to, pin }) => ({ to, pin })),
    async startInstance(extra) {
      const instance = await startServeProcess({ ...env, ...extra });
      others.push(instance);
      return instance;
    },
    async close() {
      for (const instance of others) await instance.stop();
      await serve.stop();
      await opened.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Fills and sends the sign-in form, as a person would; resolves with the answer's status once the next page has loaded. */
export async function signInThroughForm(page: Page, url: string, login: string, password: string): Promise<number> {
  if (!page.url().startsWith(`${url}/my/`)) await page.goto(`${url}/my/`);
  await page.locator('#login').fill(login);
  await page.locator('#password').fill(password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${url}/my/sign-in` && r.request().method() === 'POST'),
    page.locator('form[action="/my/sign-in"] button[type="submit"]').click(),
  ]);
  await page.waitForLoadState();
  return response.status();
}
