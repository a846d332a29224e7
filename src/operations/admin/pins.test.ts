/**
 * The administrator's operations on PINs (pins.ts) on a real SQLite store with the real KDF, a fixed clock and a relay the
 * test steers: what each accepts, that a refusal is a typed error and changes
 * nothing, what it audits, and what two at once leave behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MailboxNotFound, PinPolicyViolated } from '../../errors.ts';
import { isActivePin } from '../../../test/support/service.ts';
import { events, outcome, snapshot, withAlice } from '../../../test/support/admin-harness.ts';
import { FIXED_NOW } from '../../../test/support/operations.ts';
import { ADMIN } from '../services.ts';
import { showMailbox } from './mailboxes.ts';
import { findLastMail, lockMailbox, resetPinByAdmin, unlockMailbox } from './pins.ts';

describe('lockMailbox and unlockMailbox', () => {
  it('lockMailbox and unlockMailbox: unlocking clears the failed-logon count, the PIN stays; an unknown mailbox is MailboxNotFound', async () => {
    const { h, pin } = await withAlice();
    try {
      await h.services.store.recordFailedLogon('alice', 15);
      await h.services.store.recordFailedLogon('alice', 15);
      await lockMailbox(h.services, 'alice');
      assert.deepEqual([(await showMailbox(h.services, 'alice')).lockedOut, (await showMailbox(h.services, 'alice')).failedLogons], [true, 2]);
      await unlockMailbox(h.services, 'alice');
      const alice = await showMailbox(h.services, 'alice');
      assert.deepEqual([alice.lockedOut, alice.failedLogons], [false, 0]);
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
      assert.deepEqual((await events(h, 'alice')).slice(-2), ['pin.lock success', 'pin.unlock success']);
      for (const operation of [lockMailbox, unlockMailbox]) {
        const missing = await operation(h.services, 'nobody').catch((e: unknown) => e);
        assert.ok(missing instanceof MailboxNotFound);
      }
    } finally {
      await h.close();
    }
  });
});

describe('resetPinByAdmin', () => {
  it('refuses an unknown mailbox, --no-email without a chosen PIN, a bad notify address, a PIN against the policy: typed errors, nothing changed', async () => {
    const { h, pin } = await withAlice();
    try {
      const before = await snapshot(h, ['alice']);
      const missing = await resetPinByAdmin(h.services, 'nobody', {}).catch((e: unknown) => e);
      assert.ok(missing instanceof MailboxNotFound);
      assert.match(await outcome(resetPinByAdmin(h.services, 'alice', { sendEmail: false })), /^InvalidArgument: --no-email needs a chosen PIN/);
      assert.equal(await outcome(resetPinByAdmin(h.services, 'alice', { notifyEmail: 'nobody' })), 'InvalidArgument: --notify-email "nobody" is not an e-mail address such as user@example.com.');
      const weak = await resetPinByAdmin(h.services, 'alice', { pin: '1111', sendEmail: false }).catch((e: unknown) => e);
      assert.ok(weak instanceof PinPolicyViolated);
      assert.deepEqual(weak.failures.map((f) => f.id), ['pin.too-short', 'pin.repeated']);
      const reused = await resetPinByAdmin(h.services, 'alice', { pin, sendEmail: false }).catch((e: unknown) => e);
      assert.ok(reused instanceof PinPolicyViolated, 'the PIN in effect is in the history');
      const after = await snapshot(h, ['alice']) as { audit: number };
      assert.deepEqual({ ...after, audit: (before as { audit: number }).audit }, before, 'only audit events were added');
      assert.deepEqual((await events(h, 'alice')).slice(2), ['pin.admin-reset policy-violated', 'pin.admin-reset policy-violated']);
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
    } finally {
      await h.close();
    }
  });

  it('defaults: a generated PIN mailed to the mailbox, expired, unlocked with the count cleared; --locked-out keeps the lock and the count', async () => {
    const { h } = await withAlice();
    try {
      await h.services.store.recordFailedLogon('alice', 15);
      await lockMailbox(h.services, 'alice');
      await resetPinByAdmin(h.services, 'alice', {});
      let alice = await showMailbox(h.services, 'alice');
      assert.deepEqual([alice.pinExpired, alice.lockedOut, alice.failedLogons], [true, false, 0]);
      assert.equal(h.transport.taken.at(-1)?.to, 'alice@example.com');
      assert.equal(await isActivePin(h.services, 'alice', h.transport.lastPin()), true);
      const last = (await h.services.store.listAudit({ login: 'alice' })).at(-1);
      assert.deepEqual([last?.event, last?.outcome, last?.actor, last?.source], ['pin.admin-reset', 'success', ADMIN.actor, ADMIN.source]);

      await h.services.store.recordFailedLogon('alice', 15);
      await resetPinByAdmin(h.services, 'alice', { pin: '739104', expired: false, lockedOut: true, sendEmail: false });
      alice = await showMailbox(h.services, 'alice');
      assert.deepEqual([alice.pinExpired, alice.lockedOut, alice.failedLogons], [false, true, 1]);
      assert.equal(h.transport.taken.length, 2, 'no mail for --no-email');
      assert.equal(await isActivePin(h.services, 'alice', '739104'), true);

      await resetPinByAdmin(h.services, 'alice', { notifyEmail: 'helpdesk@example.com' });
      assert.equal(h.transport.taken.at(-1)?.to, 'helpdesk@example.com');
      assert.equal(await isActivePin(h.services, 'alice', h.transport.lastPin()), true);
    } finally {
      await h.close();
    }
  });

  it('two concurrent resets of one mailbox both land, one after the other: two mails, the PIN in effect is the last mail\'s', async () => {
    const { h } = await withAlice();
    try {
      const before = (await showMailbox(h.services, 'alice')).pinGeneration;
      const outcomes = await Promise.all([outcome(resetPinByAdmin(h.services, 'alice', {})), outcome(resetPinByAdmin(h.services, 'alice', {}))]);
      assert.deepEqual(outcomes, ['ok', 'ok']);
      assert.equal(h.transport.taken.length, 3, 'welcome + two resets');
      assert.notEqual(h.transport.taken[1]?.text, h.transport.taken[2]?.text);
      assert.equal(await isActivePin(h.services, 'alice', h.transport.lastPin()), true);
      assert.equal((await showMailbox(h.services, 'alice')).pinGeneration, before + 2);
      assert.equal(await h.services.store.countPendingPinChanges('alice'), 0);
    } finally {
      await h.close();
    }
  });

  it('a relay that defers: the reset waits in the outbox, the old PIN stays in effect, and findLastMail says it is retrying', async () => {
    const { h, pin } = await withAlice();
    try {
      h.transport.mode = 'defer';
      const queued = await resetPinByAdmin(h.services, 'alice', {});
      assert.equal(queued.queued?.reply, '421 4.3.2 try again later');
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
      assert.deepEqual(await findLastMail(h.services, 'alice'), { status: 'retrying', at: FIXED_NOW.toISOString(), reply: '421 4.3.2 try again later' });
      assert.equal(await findLastMail(h.services, 'nobody'), undefined);
    } finally {
      await h.close();
    }
  });
});
