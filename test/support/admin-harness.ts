/**
 * What the unit tests of src/operations/admin/ share: an operation's outcome
 * as the CLI would print it, the state a refused command must leave as it
 * was, and a harness with one enabled mailbox.
 */
import { toUmpinError } from '../../src/errors.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { openOperationsHarness, type OperationsHarness } from './operations.ts';

/** "ok", or the error's class name and message, as the CLI would print it. */
export function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => 'ok', (error: unknown) => `${toUmpinError(error).name}: ${toUmpinError(error).message}`);
}

/** Everything a refused command must leave as it was. */
export async function snapshot(h: OperationsHarness, logins: readonly string[]): Promise<unknown> {
  const { store } = h.services;
  return {
    mailboxes: await Promise.all(logins.map(async (login) => ({
      mailbox: await store.findMailbox(login),
      verifiers: (await store.findRememberedPinVerifiers(login)).map((v) => v.toString('hex')),
      password: (await store.findPassword(login))?.verifier,
    }))),
    policies: await store.listPolicies(),
    pending: await store.countPendingPinChanges(),
    audit: (await store.listAudit({})).length,
    relayAttempts: h.transport.attempts,
  };
}

export async function signsIn(h: OperationsHarness, login: string, password: string): Promise<boolean> {
  return h.services.authenticator.authenticate({ login, password }).then(() => true, () => false);
}

export async function events(h: OperationsHarness, login?: string) {
  return (await h.services.store.listAudit(login === undefined ? {} : { login })).map((e) => `${e.event} ${e.outcome}`);
}

export async function withAlice(): Promise<{ h: OperationsHarness; pin: string }> {
  const h = await openOperationsHarness();
  await enableMailbox(h.services, 'alice', { email: 'alice@example.com', extension: '36697' });
  return { h, pin: h.transport.lastPin() };
}
