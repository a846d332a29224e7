/**
 * The one path by which a PIN takes effect (change-pin.ts), with the relay
 * taking, refusing or stalling on demand, and concurrent changes of one
 * mailbox. Real SQLite store and KDF, fixed clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAmongVerifiers } from '../crypto/kdf.ts';
import { toUmpinError } from '../errors.ts';
import { openOperationsHarness, type OperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { lockMailbox } from './admin/pins.ts';
import { addUser } from './admin/users.ts';
import { resetPin } from './reset-pin.ts';

async function isActivePin(h: OperationsHarness, login: string, pin: string): Promise<boolean> {
  const mailbox = await h.services.store.findMailbox(login);
  const active = await h.services.store.findActivePinVerifier(login);
  if (!mailbox || !active) return false;
  return isAmongVerifiers(await h.services.kdf.pinVerifier(pin, mailbox.pinSalt, active.keyId), [active.verifier]);
}

async function withCarol(env: Record<string, string> = {}): Promise<{ h: OperationsHarness; pin: string }> {
  const h = await openOperationsHarness({ UMPIN_LIMIT_REQUESTS_PER_MINUTE: '100000', ...env });
  await addUser(h.services, 'carol', 'right password');
  await enableMailbox(h.services, 'carol', { email: 'carol@example.com', extension: '36697' });
  return { h, pin: h.transport.lastPin() };
}

const reset = (h: OperationsHarness) => resetPin(h.services, { login: 'carol', password: 'right password' }, '198.51.100.7')
  .then(() => 'ok', (e: unknown) => toUmpinError(e).code);

describe('changePin through ResetPIN', () => {
  it('a relay that never answers: the reset fails within the hand-off timeout and the old PIN stays, nothing pending', async () => {
    const { h, pin } = await withCarol({ UMPIN_MAIL_TIMEOUT_MS: '200' });
    try {
      h.transport.mode = 'stall';
      const started = performance.now();
      assert.equal(await reset(h), 'ERR_MAIL_HANDOFF');
      assert.ok(performance.now() - started < 5_000);
      assert.equal(await isActivePin(h, 'carol', pin), true);
      assert.equal(await h.services.store.countPendingPinChanges('carol'), 0);
    } finally {
      await h.close();
    }
  });

  it('a relay that refuses for good: the fault, the old PIN, the audit says why', async () => {
    const { h, pin } = await withCarol();
    try {
      h.transport.mode = 'refuse';
      assert.equal(await reset(h), 'ERR_MAIL_HANDOFF');
      assert.equal(await isActivePin(h, 'carol', pin), true);
      const last = (await h.services.store.listAudit({ login: 'carol' })).at(-1);
      assert.deepEqual({ event: last?.event, outcome: last?.outcome, responseCode: last?.detail?.responseCode }, { event: 'pin.reset', outcome: 'mail-failed', responseCode: 550 });
    } finally {
      await h.close();
    }
  });

  it('five concurrent resets of one mailbox: each one that answers ok mailed its PIN, and the active PIN is the last mail\'s', async () => {
    const { h } = await withCarol();
    try {
      const before = (await h.services.store.findMailbox('carol'))?.pinGeneration ?? 0;
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => reset(h)));
      const ok = outcomes.filter((o) => o === 'ok').length;
      assert.ok(ok >= 1, outcomes.join(' '));
      assert.ok(outcomes.every((o) => o === 'ok' || o === 'ERR_SERVER_BUSY'), outcomes.join(' '));
      assert.equal((await h.services.store.findMailbox('carol'))?.pinGeneration, before + ok, 'one generation per success, none for a refusal');
      assert.equal(h.transport.taken.length, 1 + ok, 'welcome + one mail per success');
      assert.equal(await isActivePin(h, 'carol', h.transport.lastPin()), true);
    } finally {
      await h.close();
    }
  });

  it('the user\'s own ResetPIN unlocks a locked mailbox (DESIGN §2 step 6): the password proves them', async () => {
    const { h } = await withCarol();
    try {
      await lockMailbox(h.services, 'carol');
      assert.equal(await reset(h), 'ok');
      const carol = await h.services.store.findMailbox('carol');
      assert.deepEqual({ lockedOut: carol?.lockedOut, failedLogons: carol?.failedLogons, pinExpired: carol?.pinExpired }, { lockedOut: false, failedLogons: 0, pinExpired: true });
    } finally {
      await h.close();
    }
  });
});
