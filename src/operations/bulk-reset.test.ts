/**
 * Set-UMMailboxPIN for the lines of a table (bulk-reset.ts) on a real SQLite
 * store with the real KDF and a relay the test steers: one result per line,
 * in order; a failed line says why (never with a PIN) and changes nothing;
 * the run never stops at a failed line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isActivePin } from '../../test/support/service.ts';
import { QUIET, openOperationsHarness, type OperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { bulkResetPins, type BulkResetLine } from './bulk-reset.ts';
import type { Logger } from './services.ts';

const data = (line: number, values: BulkResetLine['values'], problem?: string): BulkResetLine => ({ line, kind: 'data', values, ...(problem === undefined ? {} : { problem }) });

/** alice and bob, enabled (bob with a notify address); the errors logged, kept. */
async function withTwo(): Promise<{ h: OperationsHarness; errors: unknown[] }> {
  const errors: unknown[] = [];
  const log: Logger = { ...QUIET, error: (object) => { errors.push(object); } };
  const h = await openOperationsHarness({}, { log });
  await enableMailbox(h.services, 'alice', { email: 'alice@example.com', extension: '100' });
  await enableMailbox(h.services, 'bob', { email: 'bob@example.com', notifyEmail: 'bob@home.example', extension: '200' });
  return { h, errors };
}

/** The PIN of a mail, read from its own indented line as a user would. */
function pinOf(text: string | undefined): string {
  const pin = /^ {4}(\d+)$/m.exec(text ?? '')?.[1];
  if (pin === undefined) throw new Error('no PIN in that mail');
  return pin;
}

async function state(h: OperationsHarness, login: string) {
  const m = await h.services.store.findMailbox(login);
  return { generation: m?.pinGeneration, expired: m?.pinExpired, lockedOut: m?.lockedOut };
}

describe('bulkResetPins', () => {
  it('a mixed file: one result per line in order, skipped and failed lines say why, and only the good lines change a mailbox', async () => {
    const { h, errors } = await withTwo();
    try {
      const aliceBefore = await state(h, 'alice');
      const bobBefore = await state(h, 'bob');
      const lines: BulkResetLine[] = [
        data(2, { login: 'alice', pin: '739104', expired: 'false' }),
        { line: 3, kind: 'blank', values: {} },
        { line: 4, kind: 'comment', values: { login: '# alice' } },
        data(5, { login: 'bob', pin: '840215' }, 'The line has 6 fields; the header names 5.'),
        data(6, { login: '   ', pin: '840215' }),
        data(7, { login: 'bob', expired: '840215' }),
        data(8, { login: 'bob', pin: '2222' }),
        data(9, { login: 'nobody' }),
        data(10, { login: 'bob', notify_email: 'helpdesk@example.com', locked_out: 'TRUE' }),
        data(11, { login: ' alice ' }),
      ];
      const progress: string[] = [];
      const streamed: unknown[] = [];
      const results = await bulkResetPins(h.services, lines, {
        onProgress: (done, total, login) => progress.push(`${done}/${total} ${login}`),
        onResult: (result) => streamed.push(result),
      });
      const ok = { queued: false, reply: '250 2.0.0 queued' };
      assert.deepEqual(results, [
        { line: 2, login: 'alice', status: 'reset', mail: { to: 'alice@example.com', ...ok } },
        { line: 3, login: '', status: 'skipped', reason: 'blank line' },
        { line: 4, login: '# alice', status: 'skipped', reason: 'comment' },
        { line: 5, login: 'bob', status: 'failed', reason: 'The line has 6 fields; the header names 5.' },
        { line: 6, login: '', status: 'failed', reason: 'The login is empty.' },
        { line: 7, login: 'bob', status: 'failed', reason: 'The expired column must be true or false (or empty for the default).' },
        {
          line: 8, login: 'bob', status: 'failed', rules: ['pin.too-short', 'pin.repeated'],
          reason: `The PIN does not meet the PIN policy: ${results[6]?.reason?.slice('The PIN does not meet the PIN policy: '.length)}`,
        },
        { line: 9, login: 'nobody', status: 'failed', reason: 'There is no voice mail mailbox for "nobody"; enable one with: umpin mailbox enable nobody --email <address> --extension <digits>' },
        { line: 10, login: 'bob', status: 'reset', mail: { to: 'helpdesk@example.com', ...ok } },
        { line: 11, login: 'alice', status: 'reset', mail: { to: 'alice@example.com', ...ok } },
      ]);
      assert.match(results[6]?.reason ?? '', /^The PIN does not meet the PIN policy: \[pin\.too-short\] .+ \[pin\.repeated\] .+$/);
      assert.deepEqual(streamed, results, 'each result was handed on as it was known');
      assert.deepEqual(progress, ['0/10 alice', '1/10 ', '2/10 # alice', '3/10 bob', '4/10 ', '5/10 bob', '6/10 bob', '7/10 nobody', '8/10 bob', '9/10 alice']);
      for (const pin of ['739104', '840215', '2222']) assert.ok(!JSON.stringify(results).includes(pin), `no result holds the PIN ${pin}`);

      // alice: two resets, the last one generated and mailed; bob: only line 10.
      assert.equal((await state(h, 'alice')).generation, (aliceBefore.generation ?? 0) + 2);
      assert.equal(await isActivePin(h.services, 'alice', h.transport.lastPin()), true);
      assert.deepEqual(await state(h, 'bob'), { generation: (bobBefore.generation ?? 0) + 1, expired: true, lockedOut: true });
      assert.deepEqual(h.transport.taken.map((m) => m.to), ['alice@example.com', 'bob@home.example', 'alice@example.com', 'helpdesk@example.com', 'alice@example.com']);
      assert.deepEqual(errors, [], 'expected failures are not logged as errors');
    } finally {
      await h.close();
    }
  });

  it('the run\'s defaults fill empty columns and a column overrides them; with --no-email a line naming an address or lacking a PIN fails, unchanged', async () => {
    const { h } = await withTwo();
    try {
      const before = { alice: await state(h, 'alice'), bob: await state(h, 'bob') };
      const mails = h.transport.taken.length;
      const results = await bulkResetPins(h.services, [
        data(2, { login: 'alice', pin: '739104', locked_out: ' ' }),
        data(3, { login: 'bob', pin: '840215', expired: 'True', notify_email: 'helpdesk@example.com' }),
        data(4, { login: 'bob' }),
        data(5, { login: 'bob', pin: '951326', expired: 'true' }),
      ], { defaults: { expired: false, lockedOut: true, sendEmail: false } });
      assert.deepEqual(results.map((r) => [r.line, r.status, r.reason ?? '', r.mail]), [
        [2, 'reset', '', undefined],
        [3, 'failed', 'The notify_email column names an address, but no mail is to be sent (--no-email); leave one of them out.', undefined],
        [4, 'failed', '--no-email needs a chosen PIN (--pin-stdin, --pin-file, or the pin column of a CSV line): a generated PIN that is not mailed would be known to nobody.', undefined],
        [5, 'reset', '', undefined],
      ]);
      assert.equal(h.transport.taken.length, mails, 'no mail');
      assert.deepEqual(await state(h, 'alice'), { generation: (before.alice.generation ?? 0) + 1, expired: false, lockedOut: true });
      assert.deepEqual(await state(h, 'bob'), { generation: (before.bob.generation ?? 0) + 1, expired: true, lockedOut: true });
      assert.equal(await isActivePin(h.services, 'alice', '739104'), true);
      assert.equal(await isActivePin(h.services, 'bob', '951326'), true);
      assert.equal(await isActivePin(h.services, 'bob', '840215'), false);
    } finally {
      await h.close();
    }
  });

  it('a relay that defers queues the line\'s mail (reported as queued); one that refuses fails the line, and the old PIN stays', async () => {
    const { h, errors } = await withTwo();
    try {
      const alicePin = pinOf(h.transport.taken[0]?.text);
      const bobGeneration = (await state(h, 'bob')).generation;
      h.transport.mode = 'defer';
      const [queued] = await bulkResetPins(h.services, [data(2, { login: 'alice' })]);
      assert.deepEqual(queued, { line: 2, login: 'alice', status: 'reset', mail: { to: 'alice@example.com', queued: true, reply: '421 4.3.2 try again later' } });
      h.transport.mode = 'refuse';
      const [refused] = await bulkResetPins(h.services, [data(3, { login: 'bob' })]);
      assert.deepEqual(refused, {
        line: 3, login: 'bob', status: 'failed',
        reason: 'The e-mail with your new PIN was refused, so your PIN was not changed and your old PIN still works. Ask your administrator to check your e-mail address.',
      });
      assert.equal((await state(h, 'bob')).generation, bobGeneration);
      assert.equal(await h.services.store.countPendingPinChanges('alice'), 1, 'alice\'s reset waits in the outbox');
      assert.equal(await isActivePin(h.services, 'alice', alicePin), true, 'her welcome PIN stays in effect until the mail goes');
      assert.deepEqual(errors, []);
    } finally {
      await h.close();
    }
  });

  it('two runs at once over the same mailboxes: every line is reset, and each mailbox\'s PIN in effect is its last mail\'s', async () => {
    const { h } = await withTwo();
    try {
      const before = { alice: (await state(h, 'alice')).generation ?? 0, bob: (await state(h, 'bob')).generation ?? 0 };
      const file = [data(2, { login: 'alice' }), data(3, { login: 'bob' })];
      const runs = await Promise.all([bulkResetPins(h.services, file), bulkResetPins(h.services, file)]);
      assert.deepEqual(runs.flat().map((r) => r.status), ['reset', 'reset', 'reset', 'reset']);
      for (const [login, address] of [['alice', 'alice@example.com'], ['bob', 'bob@home.example']] as const) {
        assert.equal((await state(h, login)).generation, before[login] + 2);
        const last = h.transport.taken.filter((m) => m.to === address).at(-1);
        assert.equal(await isActivePin(h.services, login, pinOf(last?.text)), true, login);
      }
    } finally {
      await h.close();
    }
  });
});
