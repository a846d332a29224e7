/**
 * The administrator's operations on PIN policies (policies.ts) on a real SQLite store with the real KDF, a fixed clock and a relay the
 * test steers: what each accepts, that a refusal is a typed error and changes
 * nothing, what it audits, and what two at once leave behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_POLICY, DEFAULT_POLICY_NAME } from '../../pin/index.ts';
import { outcome, snapshot, withAlice } from '../../../test/support/admin-harness.ts';
import { openOperationsHarness } from '../../../test/support/operations.ts';
import { setMailbox } from './mailboxes.ts';
import { newPolicy, removePolicy, setPolicy, showPolicies } from './policies.ts';

describe('policies', () => {
  it('newPolicy: Exchange\'s defaults with the changes given (an explicit undefined erases nothing); a bad setting or a taken name is refused, nothing created', async () => {
    const h = await openOperationsHarness();
    try {
      const created = await newPolicy(h.services, 'short', { minPinLength: 4, maxLogonAttempts: null, pinLifetimeDays: undefined });
      assert.deepEqual(created, { ...DEFAULT_POLICY, name: 'short', minPinLength: 4, maxLogonAttempts: null });
      assert.deepEqual(await showPolicies(h.services, 'short'), [created]);

      const before = await snapshot(h, []);
      assert.equal(await outcome(newPolicy(h.services, 'bad', { minPinLength: 3 })), 'InvalidArgument: MinPINLength must be a whole number from 4 to 24.');
      assert.equal(await outcome(newPolicy(h.services, 'bad', { logonFailuresBeforePinReset: 9, maxLogonAttempts: 9 })),
        'InvalidArgument: LogonFailuresBeforePINReset must be less than MaxLogonAttempts (or Unlimited).');
      assert.match(await outcome(newPolicy(h.services, ' bad name', {})), /^InvalidArgument: Name must be 1–64 letters/);
      assert.equal(await outcome(newPolicy(h.services, 'short', {})), 'InvalidArgument: A policy named "short" exists already.');
      assert.deepEqual(await snapshot(h, []), before);
      assert.deepEqual((await h.services.store.listAudit({})).map((e) => [e.event, e.actor, e.source, e.detail?.policy]), [['policy.new', 'admin', 'cli', 'short']]);
    } finally {
      await h.close();
    }
  });

  it('setPolicy changes only what is given and audits those names; an unknown or invalid one is refused, unchanged', async () => {
    const h = await openOperationsHarness();
    try {
      await newPolicy(h.services, 'p', { minPinLength: 8 });
      const changed = await setPolicy(h.services, 'p', { pinHistoryCount: 3, strictRules: undefined });
      assert.deepEqual(changed, { ...DEFAULT_POLICY, name: 'p', minPinLength: 8, pinHistoryCount: 3 });
      assert.deepEqual(await showPolicies(h.services, 'p'), [changed]);
      const last = (await h.services.store.listAudit({})).at(-1);
      assert.deepEqual([last?.event, last?.detail], ['policy.set', { policy: 'p', changed: 'pinHistoryCount' }]);

      const before = await snapshot(h, []);
      assert.equal(await outcome(setPolicy(h.services, 'nope', { minPinLength: 6 })), 'InvalidArgument: There is no policy "nope"; list them with: umpin policy show');
      assert.equal(await outcome(setPolicy(h.services, 'p', { pinHistoryCount: 0 })), 'InvalidArgument: PINHistoryCount must be a whole number from 1 to 20.');
      assert.deepEqual(await snapshot(h, []), before);
    } finally {
      await h.close();
    }
  });

  it('removePolicy: never the default, never one in use, not one that is missing; otherwise it is gone', async () => {
    const { h } = await withAlice();
    try {
      await newPolicy(h.services, 'used', {});
      await newPolicy(h.services, 'unused', {});
      await setMailbox(h.services, 'alice', { policy: 'used' });
      const before = await snapshot(h, ['alice']);
      assert.equal(await outcome(removePolicy(h.services, DEFAULT_POLICY_NAME)), `InvalidArgument: The "${DEFAULT_POLICY_NAME}" policy cannot be removed; new mailboxes use it.`);
      assert.equal(await outcome(removePolicy(h.services, 'used')), 'InvalidArgument: The policy "used" is in use; move its mailboxes with: umpin mailbox set <login> --policy <other>');
      assert.equal(await outcome(removePolicy(h.services, 'nope')), 'InvalidArgument: There is no policy "nope"; list them with: umpin policy show');
      assert.deepEqual(await snapshot(h, ['alice']), before);
      await removePolicy(h.services, 'unused');
      assert.deepEqual((await showPolicies(h.services)).map((p) => p.name).sort(), [DEFAULT_POLICY_NAME, 'used']);
      assert.equal(await outcome(showPolicies(h.services, 'unused')), 'InvalidArgument: There is no policy "unused"; list them with: umpin policy show');
    } finally {
      await h.close();
    }
  });
});
