/**
 * The phone-side PIN check as an operation (issue 12): the wrong-PIN
 * throttle under concurrent checks, its key, and the lockout against late
 * automatic resets. Real SQLite store, real KDF, a relay steered by the test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toUmpinError } from '../errors.ts';
import { describeFailure, openOperationsHarness, tally, type OperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { lockMailbox, resetPinByAdmin, unlockMailbox } from './admin/pins.ts';
import { newPolicy } from './admin/policies.ts';
import { deliverDueMail, listOutbox, retryOutboxMail } from './outbox.ts';
import { phoneChangePin, phoneLogon, type PhoneSource, type PhoneTarget } from './phone.ts';

const THROTTLED = 'busy: Too many wrong PINs for this mailbox from this phone system; try again later.';

function check(h: OperationsHarness, target: PhoneTarget, pin: string, source: PhoneSource): Promise<string> {
  return phoneLogon(h.services, target, pin, source).then(
    (answer) => answer.result,
    describeFailure,
  );
}


/** alice, enabled with the default policy (auto-reset every 5, locked at 15); returns her welcome PIN. */
async function withAlice(env: Record<string, string> = {}): Promise<{ h: OperationsHarness; pin: string }> {
  const h = await openOperationsHarness(env);
  await enableMailbox(h.services, 'alice', { email: 'alice@example.com', extension: '36697' });
  return { h, pin: h.transport.lastPin() };
}

const PBX = { address: '192.0.2.10', caller: '+15550100' };

describe('phoneLogon: the wrong-PIN throttle reserves before the KDF', () => {
  it('15 concurrent wrong PINs from one PBX and one caller: 5 counted (the budget), 10 refused before the KDF, no lockout', async () => {
    const { h } = await withAlice();
    try {
      const before = h.kdfCalls.pin;
      const outcomes = await Promise.all(Array.from({ length: 15 }, () => check(h, { mailbox: 'alice' }, '000009', PBX)));
      assert.deepEqual(tally(outcomes), { 'wrong-pin': 5, [THROTTLED]: 10 });
      const alice = await h.services.store.findMailbox('alice');
      assert.deepEqual({ failedLogons: alice?.failedLogons, lockedOut: alice?.lockedOut }, { failedLogons: 5, lockedOut: false });
      // 5 checks, plus the automatic reset at the fifth failure drawing its PIN (one call, one more per history collision).
      const resetDraws = h.kdfCalls.pin - before - 5;
      assert.ok(resetDraws >= 1 && resetDraws <= 3, `KDF calls beyond the 5 checks: ${resetDraws}`);
      const audit = await h.services.store.listAudit({ login: 'alice' });
      assert.equal(audit.filter((e) => e.outcome === 'throttled').length, 10);
    } finally {
      await h.close();
    }
  });

  it('a new calling number each, or the extension instead of the login, is the same budget', async () => {
    const { h } = await withAlice();
    try {
      const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => check(
        h, i % 2 === 0 ? { mailbox: 'alice' } : { extension: '36697' }, '000009', { address: '192.0.2.10', caller: `+1555010${i}` },
      )));
      assert.deepEqual(tally(outcomes), { 'wrong-pin': 5, [THROTTLED]: 7 });
      assert.equal((await h.services.store.findMailbox('alice'))?.failedLogons, 5);
      const callers = (await h.services.store.listAudit({ login: 'alice' })).filter((e) => e.event === 'pin.logon').map((e) => e.detail?.caller);
      assert.equal(new Set(callers).size, 12, 'each calling number is in the audit');
    } finally {
      await h.close();
    }
  });

  it('a right PIN gives its slot back; a PBX at another address has its own budget', async () => {
    const { h, pin } = await withAlice({ UMPIN_LIMIT_PHONE_FAILURES: '2' });
    try {
      const sequence = [];
      for (const tried of ['000009', pin, pin, pin, '000008', '000007', pin]) sequence.push(await check(h, { mailbox: 'alice' }, tried, PBX));
      assert.deepEqual(sequence, ['wrong-pin', 'ok', 'ok', 'ok', 'wrong-pin', THROTTLED, THROTTLED]);
      assert.equal(await check(h, { mailbox: 'alice' }, pin, { address: '192.0.2.20' }), 'ok', 'the real user through another PBX');
      assert.equal(await check(h, { mailbox: 'alice' }, pin, { address: '::ffff:192.0.2.10' }), THROTTLED, 'an IPv4-mapped address is its IPv4 address');
    } finally {
      await h.close();
    }
  });

  it('an unknown mailbox costs a KDF call and a slot, like a wrong PIN', async () => {
    const { h } = await withAlice({ UMPIN_LIMIT_PHONE_FAILURES: '3' });
    try {
      const before = h.kdfCalls.pin;
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => check(h, { mailbox: 'nobody' }, '000009', PBX)));
      assert.deepEqual(tally(outcomes), { 'wrong-pin': 3, [THROTTLED]: 3 });
      assert.equal(h.kdfCalls.pin - before, 3);
    } finally {
      await h.close();
    }
  });
});

describe('phoneLogon: the lock is monotonic', () => {
  it('an automatic reset queued while the relay is down and delivered after the lockout leaves the mailbox locked', async () => {
    const { h } = await withAlice({ UMPIN_LIMIT_PHONE_FAILURES: '100' });
    try {
      for (let i = 0; i < 9; i += 1) await check(h, { mailbox: 'alice' }, '000009', PBX);
      h.transport.mode = 'defer';
      assert.equal(await check(h, { mailbox: 'alice' }, '000009', PBX), 'wrong-pin'); // the tenth: an automatic reset, queued
      const [queued] = await listOutbox(h.services);
      assert.equal(queued?.reason, 'auto-reset');
      const answers = [];
      for (let i = 0; i < 5; i += 1) answers.push(await check(h, { mailbox: 'alice' }, '000009', PBX));
      assert.deepEqual(answers, ['wrong-pin', 'wrong-pin', 'wrong-pin', 'wrong-pin', 'locked-out']);

      h.transport.mode = 'take';
      await retryOutboxMail(h.services, queued.id);
      const run = await deliverDueMail(h.services);
      assert.deepEqual(run.results.map((r) => r.status), ['Sent']);
      const mailed = h.transport.lastPin();
      const alice = await h.services.store.findMailbox('alice');
      assert.deepEqual({ lockedOut: alice?.lockedOut, failedLogons: alice?.failedLogons }, { lockedOut: true, failedLogons: 15 });
      assert.equal(await check(h, { mailbox: 'alice' }, mailed, PBX), 'locked-out', 'even the PIN the late mail carried');

      await unlockMailbox(h.services, 'alice');
      assert.equal(await check(h, { mailbox: 'alice' }, mailed, PBX), 'ok', 'the administrator unlocks; the mailed PIN is the active one');
    } finally {
      await h.close();
    }
  });

  it('15 concurrent wrong PINs with the throttle out of the way end locked, automatic resets and all', async () => {
    const { h } = await withAlice({ UMPIN_LIMIT_PHONE_FAILURES: '100' });
    try {
      const outcomes = await Promise.all(Array.from({ length: 15 }, () => check(h, { mailbox: 'alice' }, '000009', PBX)));
      assert.deepEqual(tally(outcomes), { 'wrong-pin': 14, 'locked-out': 1 });
      const alice = await h.services.store.findMailbox('alice');
      assert.deepEqual({ lockedOut: alice?.lockedOut, failedLogons: alice?.failedLogons }, { lockedOut: true, failedLogons: 15 });
    } finally {
      await h.close();
    }
  });

  it('a phone PIN change racing an administrator lock ends locked, whichever lands first', async () => {
    const { h, pin } = await withAlice();
    try {
      for (let round = 0; round < 4; round += 1) {
        const current = round === 0 ? pin : `28461${round}`;
        const [changed] = await Promise.all([
          phoneChangePin(h.services, { mailbox: 'alice' }, current, `28461${round + 1}`, PBX).catch((e: unknown) => toUmpinError(e).code),
          lockMailbox(h.services, 'alice'),
        ]);
        const alice = await h.services.store.findMailbox('alice');
        assert.equal(alice?.lockedOut, true, `round ${round}: ${JSON.stringify(changed)}`);
        await unlockMailbox(h.services, 'alice');
        // Whichever won, continue from the PIN that is active now.
        if (typeof changed === 'object' && changed.result === 'ok') continue;
        await resetPinByAdmin(h.services, 'alice', { pin: `28461${round + 1}`, sendEmail: false });
      }
    } finally {
      await h.close();
    }
  });

  it('an administrator reset with --locked-out locks, and one without unlocks', async () => {
    const { h } = await withAlice();
    try {
      await resetPinByAdmin(h.services, 'alice', { lockedOut: true });
      assert.equal((await h.services.store.findMailbox('alice'))?.lockedOut, true);
      await resetPinByAdmin(h.services, 'alice', {});
      assert.equal((await h.services.store.findMailbox('alice'))?.lockedOut, false);
    } finally {
      await h.close();
    }
  });
});

describe('policy edge', () => {
  it('a policy without MaxLogonAttempts never locks, however many fail at once', async () => {
    const { h } = await withAlice({ UMPIN_LIMIT_PHONE_FAILURES: '100', UMPIN_LIMIT_AUTO_RESETS_PER_HOUR: '1' });
    try {
      await newPolicy(h.services, 'no-lock', { maxLogonAttempts: null, logonFailuresBeforePinReset: null });
      await enableMailbox(h.services, 'bob', { email: 'bob@example.com', extension: '36698', policy: 'no-lock' });
      await Promise.all(Array.from({ length: 20 }, () => check(h, { mailbox: 'bob' }, '000009', PBX)));
      const bob = await h.services.store.findMailbox('bob');
      assert.deepEqual({ lockedOut: bob?.lockedOut, failedLogons: bob?.failedLogons }, { lockedOut: false, failedLogons: 20 });
    } finally {
      await h.close();
    }
  });
});
