/**
 * Fills a fresh umpin data directory in this process, through the same
 * operations the CLI uses (users, mailboxes with their welcome mail, an API
 * key), before the server process is started on it.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { openServices } from '../../src/open-services.ts';
import { loadConfig } from '../../src/config.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import { createApiKey } from '../../src/operations/api-keys.ts';
import type { Services } from '../../src/operations/services.ts';
import { readPinMail } from '../../test/support/service.ts';

export interface Account {
  readonly login: string;
  readonly password: string;
  /** The active PIN, read from the welcome mail. */
  readonly pin: string;
}

export interface Provisioned {
  readonly apiKey: string;
  /** Mailboxes that the ResetPIN loads reset over and over (their credentials get cached). */
  readonly resetAccounts: readonly Account[];
  /** Mailboxes that are reset once each, so their credentials are never in the credential cache. */
  readonly freshAccounts: readonly Account[];
  /** Mailboxes that the phone load logs on to (their PINs must stay as mailed). */
  readonly phoneAccounts: readonly Account[];
}

/** Runs `work` over `items` with at most `width` at once (the KDF queue in front of argon2 is bounded). */
async function pool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results;
}

const name = (prefix: string, index: number) => `${prefix}${String(index).padStart(4, '0')}`;

async function enable(services: Services, pickupDir: string, login: string, extension: number): Promise<string> {
  const outcome = await enableMailbox(services, login, { email: `${login}@example.com`, extension: String(extension) });
  if (!outcome.receipt) throw new Error(`the welcome mail of ${login} was not handed off`);
  return (await readPinMail(join(pickupDir, outcome.receipt.reply))).pin;
}

/**
 * Reset and phone accounts made as an administrator would (`user add`,
 * `mailbox enable`), and fresh accounts for the uncached load: those share
 * one password verifier (stored directly, to spare one KDF call each at
 * set-up; the credential cache keys on the login, so each still misses
 * once) but get their own mailbox and welcome mail.
 */
export async function provisionUmpin(env: Record<string, string>, counts: { reset: number; phone: number; fresh: number }): Promise<Provisioned> {
  const config = loadConfig(env);
  const opened = await openServices(config, pino({ level: 'silent' }));
  const { services } = opened;
  const width = Math.max(2, config.kdfConcurrency * 8);
  try {
    const indexes = (n: number) => Array.from({ length: n }, (_, i) => i);
    const full = (prefix: string, extensionBase: number) => async (i: number): Promise<Account> => {
      const login = name(prefix, i);
      const password = `bench password ${login}`;
      await addUser(services, login, password);
      return { login, password, pin: await enable(services, config.pickupDir, login, extensionBase + i) };
    };
    const resetAccounts = await pool(indexes(counts.reset), width, full('reset', 100_000));
    const phoneAccounts = await pool(indexes(counts.phone), width, full('phone', 200_000));
    const freshPassword = 'bench password fresh';
    const freshVerifier = await services.kdf.hashPassword(freshPassword);
    const freshAccounts = await pool(indexes(counts.fresh), width, async (i): Promise<Account> => {
      const login = name('fresh', i);
      if (!(await services.store.addUser(login, freshVerifier, services.now()))) throw new Error(`${login} exists`);
      return { login, password: freshPassword, pin: await enable(services, config.pickupDir, login, 300_000 + i) };
    });
    const apiKey = await createApiKey(services, 'bench');
    return { apiKey, resetAccounts, freshAccounts, phoneAccounts };
  } finally {
    await opened.close();
  }
}
