/**
 * What the self-service page asks of the core (self-service.ts): the signed-in
 * caller's PIN state and a PIN of their own choosing. Real SQLite store, the
 * real KDF with every call counted, a relay steered by the test, a fixed clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAmongVerifiers } from '../crypto/kdf.ts';
import { MailboxNotEnabled, PinPolicyViolated, ServerBusy, toUmpinError } from '../errors.ts';
import { FIXED_NOW, openOperationsHarness, type OperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { lockMailbox } from './admin/pins.ts';
import { newPolicy } from './admin/policies.ts';
import { addUser } from './admin/users.ts';
import { phoneLogon } from './phone.ts';
import { SELF_CHOSEN_EFFECTS, chooseOwnPin, describeOwnPin } from './self-service.ts';
import type { Actor } from './services.ts';

const DAY_MS = 86_400_000;
const WEB: Actor = { actor: 'carol', source: '198.51.100.7', via: 'web' };

async function isActivePin(h: OperationsHarness, login: string, pin: string): Promise<boolean> {
  const mailbox = await h.services.store.findMailbox(login);
  const active = await h.services.store.findActivePinVerifier(login);
  if (!mailbox || !active) return false;
  return isAmongVerifiers(await h.services.kdf.pinVerifier(pin, mailbox.pinSalt, active.keyId), [active.verifier]);
}

/** Everything a refused choice must leave as it was. */
async function snapshot(h: OperationsHarness, login: string): Promise<unknown> {
  return {
    mailbox: await h.services.store.findMailbox(login),
    verifiers: (await h.services.store.findRememberedPinVerifiers(login)).map((v) => v.toString('hex')),
    pending: await h.services.store.countPendingPinChanges(),
    mails: h.transport.taken.length,
    pinChanges: (await h.services.store.listAudit({ login })).filter((e) => e.event === 'pin.change' && e.outcome === 'success').length,
  };
}

async function withCarol(env: Record<string, string> = {}): Promise<{ h: OperationsHarness; pin: string }> {
  const h = await openOperationsHarness({ UMPIN_LIMIT_REQUESTS_PER_MINUTE: '100000', ...env });
  await enableMailbox(h.services, 'carol', { email: 'carol@example.com', extension: '36697' });
  return { h, pin: h.transport.lastPin() };
}

describe('describeOwnPin', () => {
  it('after the welcome mail: set now, expiring after the policy\'s lifetime, to be changed at the next logon, the mail handed off; no PIN or verifier in it', async () => {
    const { h, pin } = await withCarol();
    try {
      const state = await describeOwnPin(h.services, 'carol');
      const { policy, ...rest } = state;
      assert.equal(policy.name, 'default');
      assert.deepEqual(rest, {
        login: 'carol', extension: '36697', hasPin: true, pinSetAt: FIXED_NOW,
        expiresAt: new Date(FIXED_NOW.getTime() + 60 * DAY_MS), mustChange: true, lockedOut: false, mailTo: 'carol@example.com',
        lastMail: { status: 'handed-off', at: FIXED_NOW.toISOString(), reply: '250 2.0.0 queued' },
      });
      const shown = JSON.stringify(state);
      const verifier = (await h.services.store.findActivePinVerifier('carol'))?.verifier;
      assert.ok(verifier);
      for (const secret of [pin, verifier.toString('hex'), verifier.toString('base64')]) assert.ok(!shown.includes(secret), 'never a PIN or a verifier');
    } finally {
      await h.close();
    }
  });

  it('a welcome mail the relay refused: no PIN, no expiry, nothing to change, the failure named; a notify address is where mails go', async () => {
    const h = await openOperationsHarness();
    try {
      h.transport.mode = 'refuse';
      await enableMailbox(h.services, 'dave', { email: 'dave@example.com', notifyEmail: 'dave.private@example.org', extension: '36698' }).catch(() => undefined);
      const state = await describeOwnPin(h.services, 'dave');
      assert.deepEqual({ hasPin: state.hasPin, pinSetAt: state.pinSetAt, expiresAt: state.expiresAt, mustChange: state.mustChange, mailTo: state.mailTo, lastMail: state.lastMail }, {
        hasPin: false, pinSetAt: null, expiresAt: null, mustChange: false, mailTo: 'dave.private@example.org',
        lastMail: { status: 'failed', at: FIXED_NOW.toISOString(), reply: '550 5.1.1 no such user' },
      });
      h.transport.mode = 'defer';
      await enableMailbox(h.services, 'dave', {});
      assert.deepEqual((await describeOwnPin(h.services, 'dave')).lastMail, { status: 'retrying', at: FIXED_NOW.toISOString(), reply: '421 4.3.2 try again later' });
    } finally {
      await h.close();
    }
  });

  it('a policy without a PIN lifetime has no expiry; with one, the PIN must be changed once the lifetime has passed, not before', async () => {
    const { h } = await withCarol();
    try {
      await newPolicy(h.services, 'forever', { pinLifetimeDays: null });
      await enableMailbox(h.services, 'erin', { email: 'erin@example.com', extension: '36699', policy: 'forever' });
      assert.equal((await describeOwnPin(h.services, 'erin')).expiresAt, null);

      await chooseOwnPin(h.services, 'carol', '739104', WEB);
      assert.equal((await describeOwnPin(h.services, 'carol')).mustChange, false, 'a chosen PIN is not expired');
      h.advance(60 * DAY_MS - 1);
      assert.equal((await describeOwnPin(h.services, 'carol')).mustChange, false);
      h.advance(1);
      const state = await describeOwnPin(h.services, 'carol');
      assert.deepEqual({ mustChange: state.mustChange, expiresAt: state.expiresAt }, { mustChange: true, expiresAt: new Date(FIXED_NOW.getTime() + 60 * DAY_MS) });
    } finally {
      await h.close();
    }
  });

  it('a user without a mailbox, or a login nobody has: MailboxNotEnabled', async () => {
    const h = await openOperationsHarness();
    try {
      await addUser(h.services, 'nobox', 'nobox password');
      await assert.rejects(describeOwnPin(h.services, 'nobox'), MailboxNotEnabled);
      await assert.rejects(describeOwnPin(h.services, 'nobody'), MailboxNotEnabled);
    } finally {
      await h.close();
    }
  });
});

describe('chooseOwnPin', () => {
  it('the chosen PIN is active at once, not expired, unlocks a locked mailbox, clears the counters, and sends no mail', async () => {
    const { h, pin } = await withCarol({ UMPIN_LIMIT_PHONE_FAILURES: '100' });
    try {
      for (let i = 0; i < 3; i += 1) await phoneLogon(h.services, { mailbox: 'carol' }, '000009', { address: '192.0.2.10' });
      await lockMailbox(h.services, 'carol');
      const before = await h.services.store.findMailbox('carol');
      assert.deepEqual({ lockedOut: before?.lockedOut, failedLogons: before?.failedLogons, firstTimeUser: before?.firstTimeUser }, { lockedOut: true, failedLogons: 3, firstTimeUser: true });
      const mails = h.transport.taken.length;

      await chooseOwnPin(h.services, 'carol', '739104', WEB);
      const after = await h.services.store.findMailbox('carol');
      assert.deepEqual(
        { lockedOut: after?.lockedOut, failedLogons: after?.failedLogons, firstTimeUser: after?.firstTimeUser, pinExpired: after?.pinExpired, generation: after?.pinGeneration },
        { lockedOut: false, failedLogons: 0, firstTimeUser: false, pinExpired: false, generation: (before?.pinGeneration ?? 0) + 1 },
      );
      assert.equal(await isActivePin(h, 'carol', '739104'), true);
      assert.equal(await isActivePin(h, 'carol', pin), false);
      assert.equal(h.transport.taken.length, mails, 'no mail: the user knows the PIN');
      assert.equal((await phoneLogon(h.services, { mailbox: 'carol' }, '739104', { address: '192.0.2.10' })).result, 'ok');
      const last = (await h.services.store.listAudit({ login: 'carol' })).filter((e) => e.event === 'pin.change').at(-1);
      assert.deepEqual({ outcome: last?.outcome, actor: last?.actor, source: last?.source, via: last?.detail?.via, mail: last?.detail?.mail },
        { outcome: 'success', actor: 'carol', source: '198.51.100.7', via: 'web', mail: 'none' });
      assert.deepEqual(SELF_CHOSEN_EFFECTS, { pinExpired: false, lockedOut: 'unlock', clearFailedLogons: true, clearFirstTimeUser: true });
    } finally {
      await h.close();
    }
  });

  it('a PIN the policy refuses: PinPolicyViolated naming every broken rule, the refusal audited by rule id, and nothing else changed', async () => {
    const { h, pin } = await withCarol();
    try {
      const before = await snapshot(h, 'carol');
      const cases: Array<[string, string]> = [
        ['1111', 'pin.too-short pin.repeated'],
        ['12ab56', 'pin.not-digits'],
        [pin, 'pin.history'],
      ];
      for (const [tried, rules] of cases) {
        await assert.rejects(chooseOwnPin(h.services, 'carol', tried, WEB), (e: unknown) =>
          e instanceof PinPolicyViolated && e.failures.map((f) => f.id).join(' ') === rules);
      }
      assert.deepEqual(await snapshot(h, 'carol'), before);
      assert.equal(await isActivePin(h, 'carol', pin), true);
      const refused = (await h.services.store.listAudit({ login: 'carol' })).filter((e) => e.outcome === 'policy-violated').map((e) => e.detail?.rules);
      assert.deepEqual(refused, cases.map(([, rules]) => rules));
      const trail = JSON.stringify(await h.services.store.listAudit({ login: 'carol' }));
      assert.ok(!trail.includes('1111') && !trail.includes('12ab56'), 'the tried PINs are not in the audit');
    } finally {
      await h.close();
    }
  });

  it('no mailbox: MailboxNotEnabled, with no PIN work and nothing stored', async () => {
    const { h } = await withCarol();
    try {
      await addUser(h.services, 'nobox', 'nobox password');
      const kdf = h.kdfTotal();
      const pending = await h.services.store.countPendingPinChanges();
      for (const login of ['nobox', 'nobody']) await assert.rejects(chooseOwnPin(h.services, login, '739104', { ...WEB, actor: login }), MailboxNotEnabled);
      assert.equal(h.kdfTotal(), kdf);
      assert.equal(await h.services.store.countPendingPinChanges(), pending);
      assert.equal(await h.services.store.findMailbox('nobox'), undefined);
    } finally {
      await h.close();
    }
  });

  it('8 tries at once from one IPv6 /64 against a limit of 3 requests: 3 reach the KDF and take effect, 5 are refused before it; another address still gets in', async () => {
    const { h } = await withCarol({ UMPIN_LIMIT_REQUESTS_PER_MINUTE: '3' });
    try {
      const pins = ['739104', '840215', '951326', '284613', '617392', '395028', '502749', '160384'];
      const before = await h.services.store.findMailbox('carol');
      const kdf = h.kdfCalls.pin;
      const outcomes = await Promise.all(pins.map((pin, i) => chooseOwnPin(h.services, 'carol', pin, { ...WEB, source: `2001:db8:7:1::${i + 1}` })
        .then(() => 'ok', (e: unknown) => (e instanceof ServerBusy ? `busy: ${e.message}` : toUmpinError(e).code))));
      const tally: Record<string, number> = {};
      for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1;
      assert.deepEqual(tally, { ok: 3, 'busy: Too many requests from your address; try again later.': 5 });
      assert.equal(h.kdfCalls.pin - kdf, 3, 'one KDF call per admitted try, none for a refused one');
      assert.equal((await h.services.store.findMailbox('carol'))?.pinGeneration, (before?.pinGeneration ?? 0) + 3);
      const active = await Promise.all(pins.map(async (pin, i) => (outcomes[i] === 'ok' && (await isActivePin(h, 'carol', pin)) ? 1 : 0)));
      assert.equal(active.reduce<number>((a, b) => a + b, 0), 1, 'one of the three is the active PIN');

      assert.equal(await chooseOwnPin(h.services, 'carol', '739104', { ...WEB, source: '2001:db8:7:1:ffff::1' }).then(() => 'ok', (e: unknown) => toUmpinError(e).code), 'ERR_SERVER_BUSY', 'the same /64');
      await chooseOwnPin(h.services, 'carol', '406197', { ...WEB, source: '2001:db8:7:2::1' });
      assert.equal(await isActivePin(h, 'carol', '406197'), true, 'the next /64 is another address');
    } finally {
      await h.close();
    }
  });
});
