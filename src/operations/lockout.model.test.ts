/**
 * A model test of the lockout machine (docs/lockout.md): random sequences of
 * right PINs, wrong PINs (the relay up or down), late deliveries of a queued
 * automatic reset, administrator unlocks, locks and resets, run against the
 * real operations on a real SQLite store, and checked after every step
 * against the transition table written as a small pure model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { openOperationsHarness, type OperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { lockMailbox, resetPinByAdmin, unlockMailbox } from './admin/pins.ts';
import { newPolicy } from './admin/policies.ts';
import { deliverDueMail, listOutbox, retryOutboxMail } from './outbox.ts';
import { phoneLogon } from './phone.ts';

/** Small numbers, so that short sequences reach every row: an automatic reset every 2 failures, locked at 5. */
const EVERY = 2;
const MAX = 5;

type Command =
  | { readonly kind: 'right-pin' }
  | { readonly kind: 'wrong-pin'; readonly relayUp: boolean }
  | { readonly kind: 'deliver-late' }
  | { readonly kind: 'admin-unlock' }
  | { readonly kind: 'admin-lock' }
  | { readonly kind: 'admin-reset' };

interface Model {
  failed: number;
  locked: boolean;
  /** An automatic reset waiting in the outbox (its PIN is not active). */
  queued: boolean;
}

/** The transition table, row by row (docs/lockout.md); returns the answer a phone check gives, if any. */
function step(model: Model, command: Command): string | undefined {
  switch (command.kind) {
    case 'right-pin':
      if (model.locked) return 'locked-out'; // L2
      model.failed = 0; // L1
      return 'ok';
    case 'wrong-pin':
      if (model.locked) return 'locked-out'; // L6
      model.failed += 1;
      if (model.failed >= MAX) {
        model.locked = true; // L5: the attempt that reaches the maximum answers locked-out; no reset
        return 'locked-out';
      }
      if (model.failed % EVERY === 0) model.queued = !command.relayUp; // L4: a newer reset supersedes a queued one
      return 'wrong-pin'; // L3
    case 'deliver-late':
      model.queued = false; // L7: the PIN changes, the lock and the counter stay
      return undefined;
    case 'admin-unlock':
      model.locked = false; // L8
      model.failed = 0;
      return undefined;
    case 'admin-lock':
      model.locked = true; // L9
      return undefined;
    case 'admin-reset':
      model.locked = false; // L10
      model.failed = 0;
      model.queued = false;
      return undefined;
  }
}

const commands = fc.array(fc.oneof(
  { weight: 2, arbitrary: fc.constant<Command>({ kind: 'right-pin' }) },
  { weight: 6, arbitrary: fc.boolean().map<Command>((relayUp) => ({ kind: 'wrong-pin', relayUp })) },
  { weight: 2, arbitrary: fc.constant<Command>({ kind: 'deliver-late' }) },
  { weight: 1, arbitrary: fc.constant<Command>({ kind: 'admin-unlock' }) },
  { weight: 1, arbitrary: fc.constant<Command>({ kind: 'admin-lock' }) },
  { weight: 1, arbitrary: fc.constant<Command>({ kind: 'admin-reset' }) },
), { minLength: 1, maxLength: 18 });

describe('the lockout machine against its transition table', () => {
  let h: OperationsHarness;
  let run = 0;

  before(async () => {
    h = await openOperationsHarness({ UMPIN_LIMIT_PHONE_FAILURES: '1000000', UMPIN_LIMIT_AUTO_RESETS_PER_HOUR: '1000' });
    await newPolicy(h.services, 'model', { logonFailuresBeforePinReset: EVERY, maxLogonAttempts: MAX });
  });
  after(async () => {
    await h.close();
  });

  it('every random sequence ends each step in the state and with the answer the table gives', { timeout: 240_000 }, async () => {
    await fc.assert(fc.asyncProperty(commands, async (sequence) => {
      run += 1;
      const login = `m${run}`;
      const services = h.services;
      h.transport.mode = 'take';
      await enableMailbox(services, login, { email: `${login}@example.com`, extension: String(40000 + run), policy: 'model' });
      let active = h.transport.lastPin();
      const model: Model = { failed: 0, locked: false, queued: false };
      const source = { address: '192.0.2.10' };
      for (const [index, command] of sequence.entries()) {
        const where = `step ${index} (${JSON.stringify(command)}) of ${JSON.stringify(sequence)}`;
        const mailsBefore = h.transport.taken.length;
        const expected = step(model, command);
        let answer: string | undefined;
        switch (command.kind) {
          case 'right-pin':
            answer = (await phoneLogon(services, { mailbox: login }, active, source)).result;
            break;
          case 'wrong-pin':
            h.transport.mode = command.relayUp ? 'take' : 'defer';
            // Never a PIN the generator makes for this policy (all equal digits are a common pattern).
            answer = (await phoneLogon(services, { mailbox: login }, '000000', source)).result;
            h.transport.mode = 'take';
            break;
          case 'deliver-late': {
            const queued = (await listOutbox(services)).filter((m) => m.login === login);
            for (const mail of queued) await retryOutboxMail(services, mail.id);
            if (queued.length > 0) assert.deepEqual((await deliverDueMail(services)).results.map((r) => r.status), ['Sent'], where);
            break;
          }
          case 'admin-unlock':
            await unlockMailbox(services, login);
            break;
          case 'admin-lock':
            await lockMailbox(services, login);
            break;
          case 'admin-reset':
            await resetPinByAdmin(services, login, {});
            break;
        }
        if (h.transport.taken.length > mailsBefore) active = h.transport.lastPin();
        assert.equal(answer, expected, where);
        const mailbox = await services.store.findMailbox(login);
        assert.deepEqual({ failed: mailbox?.failedLogons, locked: mailbox?.lockedOut }, { failed: model.failed, locked: model.locked }, where);
        const queued = (await listOutbox(services)).filter((m) => m.login === login).length;
        assert.equal(queued, model.queued ? 1 : 0, `queued automatic resets at ${where}`);
      }
    }), { numRuns: 12 });
  });
});
