/**
 * Recovery of abandoned PIN changes (recover-abandoned.ts, DESIGN §2) on a
 * real SQLite store: which pending changes it discards (an inline change of a
 * dead process on this host, or one whose lease ran out), which it leaves (a
 * live owner's, another host's before its lease ends, a queued mail nobody
 * holds), and which outbox mails it queues again (held by a dead worker).
 * Pending rows are left the way a stopped process leaves them; a dead pid is
 * the pid of a child process that has exited.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAmongVerifiers } from '../crypto/kdf.ts';
import { openOperationsHarness, FIXED_NOW, type OperationsHarness } from '../../test/support/operations.ts';
import type { PendingPinChange, PinStore } from '../store/index.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { resetPinByAdmin } from './admin/pins.ts';
import { RESET_EFFECTS } from './change-pin.ts';
import { deliverDueMail, listOutbox } from './outbox.ts';
import { discardAbandonedPinChanges, processIsAlive } from './recover-abandoned.ts';

const MINUTE = 60_000;

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  assert.equal(child.status, 0);
  return child.pid as number;
}

async function isActivePin(h: OperationsHarness, login: string, pin: string): Promise<boolean> {
  const mailbox = await h.services.store.findMailbox(login);
  const active = await h.services.store.findActivePinVerifier(login);
  if (!mailbox || !active) return false;
  return isAmongVerifiers(await h.services.kdf.pinVerifier(pin, mailbox.pinSalt, active.keyId), [active.verifier]);
}

let extension = 40000;
async function enabled(h: OperationsHarness, login: string): Promise<string> {
  extension += 1;
  await enableMailbox(h.services, login, { email: `${login}@example.com`, extension: String(extension) });
  return h.transport.lastPin();
}

/** An inline change as a process leaves it when it stops between storing the change and its hand-off. */
async function leaveInlineChange(h: OperationsHarness, login: string, owner: { host: string; pid: number; leaseUntil: Date }, verifier: Buffer = randomBytes(32)): Promise<string> {
  const mailbox = await h.services.store.findMailbox(login);
  assert.ok(mailbox);
  const id = randomUUID();
  const change: PendingPinChange = {
    id, login, reason: 'reset', newPinVerifier: verifier, newPinLength: 6, effects: RESET_EFFECTS, delivery: 'inline',
    recipient: mailbox.email, baseGeneration: mailbox.pinGeneration, ownerHost: owner.host, ownerPid: owner.pid, leaseUntil: owner.leaseUntil,
    actor: login, source: '198.51.100.7',
  };
  assert.equal(await h.services.store.beginPinChange(change, h.services.now()), true);
  return id;
}

/** What the audit says recovery did. */
async function recoveryAudit(store: PinStore): Promise<unknown[]> {
  return (await store.listAudit({})).filter((e) => e.source === 'recovery')
    .map((e) => ({ event: e.event, outcome: e.outcome, login: e.login, actor: e.actor, ownerPid: e.detail?.ownerPid }));
}

const byLogin = <T extends { login: string }>(rows: readonly T[]) => [...rows].sort((a, b) => a.login.localeCompare(b.login));

describe('discardAbandonedPinChanges: which pending changes are abandoned', () => {
  it('discards a dead owner\'s inline change and any whose lease ran out; keeps a live owner\'s and another host\'s within its lease; requeues a mail a dead worker held', async () => {
    const h = await openOperationsHarness();
    try {
      const { host, pid } = h.services.owner;
      const dead = deadPid();
      assert.equal(processIsAlive(dead), false, 'the child has exited');
      const now = h.services.now();
      const later = new Date(now.getTime() + 5 * MINUTE);
      const past = new Date(now.getTime() - 1);

      const deadOwnerPin = await enabled(h, 'dead-owner');
      const deadOwnerNewPin = '739104';
      const deadOwnerMailbox = await h.services.store.findMailbox('dead-owner');
      const deadOwnerVerifier = await h.services.kdf.pinVerifier(deadOwnerNewPin, deadOwnerMailbox?.pinSalt as Buffer);
      await leaveInlineChange(h, 'dead-owner', { host, pid: dead, leaseUntil: later }, deadOwnerVerifier);
      await enabled(h, 'live-owner');
      await leaveInlineChange(h, 'live-owner', { host, pid, leaseUntil: later });
      await enabled(h, 'live-owner-lease-over');
      await leaveInlineChange(h, 'live-owner-lease-over', { host, pid, leaseUntil: past });
      await enabled(h, 'other-host');
      await leaveInlineChange(h, 'other-host', { host: `${host}-elsewhere`, pid: dead, leaseUntil: later });
      await enabled(h, 'other-host-lease-over');
      await leaveInlineChange(h, 'other-host-lease-over', { host: `${host}-elsewhere`, pid: dead, leaseUntil: past });

      // Outbox mails: one a worker took and died holding, one a live worker holds, one waiting for its retry.
      for (const login of ['worker-died', 'worker-alive', 'waiting']) await enabled(h, login);
      h.transport.mode = 'defer';
      const queued = new Map<string, string>();
      for (const login of ['worker-died', 'worker-alive', 'waiting']) {
        const outcome = await resetPinByAdmin(h.services, login, {});
        assert.ok(outcome.queued);
        queued.set(login, outcome.queued.id);
      }
      h.transport.mode = 'take';
      const claim = async (login: string, workerPid: number) => {
        await h.services.store.retryMailNow(queued.get(login) as string, now);
        const claimed = await h.services.store.claimDueMail(now, { host, pid: workerPid }, later, 1);
        assert.deepEqual(claimed.map((c) => c.login), [login]);
      };
      await claim('worker-died', dead);
      await claim('worker-alive', pid);
      const pendingBefore = await h.services.store.countPendingPinChanges();
      assert.equal(pendingBefore, 8);

      const { results } = await discardAbandonedPinChanges(h.services);
      assert.deepEqual(byLogin(results).map((r) => [r.login, r.status]), [
        ['dead-owner', 'Discarded'],
        ['live-owner-lease-over', 'Discarded'],
        ['other-host-lease-over', 'Discarded'],
        ['worker-died', 'Requeued'],
      ]);
      assert.equal(await h.services.store.countPendingPinChanges(), pendingBefore - 3);
      for (const login of ['live-owner', 'other-host', 'worker-alive', 'waiting']) {
        assert.equal(await h.services.store.countPendingPinChanges(login), 1, `${login} is kept`);
      }

      assert.deepEqual(await recoveryAudit(h.services.store), [
        { event: 'pin.reset', outcome: 'abandoned', login: 'dead-owner', actor: 'system', ownerPid: dead },
        { event: 'pin.reset', outcome: 'abandoned', login: 'live-owner-lease-over', actor: 'system', ownerPid: pid },
        { event: 'pin.reset', outcome: 'abandoned', login: 'other-host-lease-over', actor: 'system', ownerPid: dead },
      ]);
      const mailbox = await h.services.store.findMailbox('dead-owner');
      assert.equal(mailbox?.pinGeneration, deadOwnerMailbox?.pinGeneration, 'no PIN took effect');
      assert.equal(await isActivePin(h, 'dead-owner', deadOwnerPin), true, 'the old PIN stays');
      assert.equal(await isActivePin(h, 'dead-owner', deadOwnerNewPin), false, 'the abandoned PIN never works');

      const requeued = (await listOutbox(h.services)).find((m) => m.login === 'worker-died');
      assert.deepEqual({ inFlight: requeued?.inFlight, next: requeued?.nextAttemptAt.toISOString(), reply: requeued?.lastReply },
        { inFlight: false, next: now.toISOString(), reply: 'the worker delivering it stopped' }, 'due again at once, for any worker');
      const held = (await listOutbox(h.services)).find((m) => m.login === 'worker-alive');
      assert.equal(held?.inFlight, true, 'a live worker keeps its mail');

      const run = await deliverDueMail(h.services);
      assert.deepEqual(run.results.map((r) => [r.login, r.status]), [['worker-died', 'Sent']], 'the waiting mail is not due yet, the live worker keeps its own');
      assert.deepEqual((await discardAbandonedPinChanges(h.services)).results, [], 'a second sweep finds nothing more');
    } finally {
      await h.close();
    }
  });

  it('the requeued mail, once delivered, activates the PIN it carries', async () => {
    const h = await openOperationsHarness();
    try {
      const { host } = h.services.owner;
      const oldPin = await enabled(h, 'erin');
      h.transport.mode = 'defer';
      const outcome = await resetPinByAdmin(h.services, 'erin', {});
      assert.ok(outcome.queued);
      h.transport.mode = 'take';
      const now = h.services.now();
      await h.services.store.retryMailNow(outcome.queued.id, now);
      await h.services.store.claimDueMail(now, { host, pid: deadPid() }, new Date(now.getTime() + 5 * MINUTE), 1);
      assert.deepEqual(await deliverDueMail(h.services), { results: [] }, 'held by the dead worker: nobody else takes it');

      assert.deepEqual((await discardAbandonedPinChanges(h.services)).results.map((r) => r.status), ['Requeued']);
      assert.deepEqual((await deliverDueMail(h.services)).results.map((r) => r.status), ['Sent']);
      const mailed = h.transport.lastPin();
      assert.equal(await isActivePin(h, 'erin', mailed), true);
      assert.equal(await isActivePin(h, 'erin', oldPin), false);
    } finally {
      await h.close();
    }
  });

  it('an inline change is discarded as soon as its lease ends, not before, whoever owns it', async () => {
    const h = await openOperationsHarness();
    try {
      await enabled(h, 'frank');
      const lease = new Date(FIXED_NOW.getTime() + 2 * MINUTE);
      await leaveInlineChange(h, 'frank', { host: 'another-host', pid: 4_000_000, leaseUntil: lease });
      assert.deepEqual((await discardAbandonedPinChanges(h.services, () => false)).results, [], 'another host\'s pid is not ours to ask about');
      h.advance(2 * MINUTE);
      assert.deepEqual((await discardAbandonedPinChanges(h.services)).results, [], 'at the lease\'s end exactly, still kept');
      h.advance(1);
      assert.deepEqual((await discardAbandonedPinChanges(h.services)).results.map((r) => [r.login, r.status]), [['frank', 'Discarded']]);
    } finally {
      await h.close();
    }
  });

  it('two sweeps at once (two instances on one host): the change is discarded once, audited once', async () => {
    const h = await openOperationsHarness();
    try {
      await enabled(h, 'gina');
      await leaveInlineChange(h, 'gina', { host: h.services.owner.host, pid: deadPid(), leaseUntil: new Date(FIXED_NOW.getTime() + MINUTE) });
      const sweeps = await Promise.all([discardAbandonedPinChanges(h.services), discardAbandonedPinChanges(h.services), discardAbandonedPinChanges(h.services)]);
      const statuses = sweeps.flatMap((s) => s.results.map((r) => r.status));
      assert.equal(statuses.filter((s) => s === 'Discarded').length, 1, statuses.join(' '));
      assert.ok(statuses.every((s) => s === 'Discarded' || s === 'AlreadyGone'), statuses.join(' '));
      assert.equal((await recoveryAudit(h.services.store)).length, 1);
      assert.equal(await h.services.store.countPendingPinChanges('gina'), 0);
    } finally {
      await h.close();
    }
  });

  it('one change the database will not discard is reported Failed; the others are still recovered', async () => {
    const h = await openOperationsHarness();
    try {
      const { host } = h.services.owner;
      const dead = deadPid();
      const lease = new Date(FIXED_NOW.getTime() + MINUTE);
      await enabled(h, 'hal');
      const stuck = await leaveInlineChange(h, 'hal', { host, pid: dead, leaseUntil: lease });
      await enabled(h, 'ida');
      await leaveInlineChange(h, 'ida', { host, pid: dead, leaseUntil: lease });
      const refusal = new Error('SQLITE_BUSY: database is locked');
      // The real store, refusing the one discard.
      const store = new Proxy(h.services.store, {
        get(target, property, receiver) {
          if (property === 'discardPinChange') {
            return (id: string, ...rest: unknown[]) => (id === stuck ? Promise.reject(refusal) : (target.discardPinChange as (...a: unknown[]) => unknown).call(target, id, ...rest));
          }
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const { results } = await discardAbandonedPinChanges({ ...h.services, store });
      assert.deepEqual(byLogin(results).map((r) => [r.login, r.status, r.error]), [['hal', 'Failed', refusal], ['ida', 'Discarded', undefined]]);
      assert.equal(await h.services.store.countPendingPinChanges('hal'), 1, 'left for the next sweep');
      assert.deepEqual((await discardAbandonedPinChanges(h.services)).results.map((r) => [r.login, r.status]), [['hal', 'Discarded']]);
    } finally {
      await h.close();
    }
  });
});

describe('processIsAlive', () => {
  it('this process and init are alive; a process that has exited is not', () => {
    assert.equal(processIsAlive(process.pid), true);
    assert.equal(processIsAlive(1), true, 'alive, whether or not we may signal it (EPERM)');
    assert.equal(processIsAlive(deadPid()), false);
  });
});
