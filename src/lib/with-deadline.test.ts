import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { withDeadline } from './with-deadline.ts';

/** The deadline itself keeps the process alive, so work that holds no handle still gets its answer. */
const keptAlive = (work: () => Promise<void>): Promise<void> => work();

describe('withDeadline', () => {
  it('answers with the result of work that finishes in time, its signal never aborted', async () => {
    let seen: AbortSignal | undefined;
    const value = await withDeadline(1_000, async (signal) => {
      seen = signal;
      await sleep(5);
      return 'done';
    });
    assert.equal(value, 'done');
    assert.equal(seen?.aborted, false);
  });

  it('passes on the rejection of work that fails in time', async () => {
    await assert.rejects(withDeadline(1_000, async () => {
      throw new RangeError('refused');
    }), { name: 'RangeError', message: 'refused' });
    await assert.rejects(withDeadline(1_000, () => {
      throw new RangeError('thrown before any await');
    }), { name: 'RangeError', message: 'thrown before any await' });
  });

  it('rejects at the deadline with onTimeout()\'s error, even when work ignores its signal, and aborts the signal with it', () => keptAlive(async () => {
    let seen: AbortSignal | undefined;
    const started = performance.now();
    const never = new Promise<string>(() => undefined);
    await assert.rejects(withDeadline(50, (signal) => {
      seen = signal;
      return never;
    }, () => new TypeError('too slow')), { name: 'TypeError', message: 'too slow' });
    const waited = performance.now() - started;
    assert.ok(waited >= 45 && waited < 1_000, `waited ${waited} ms`);
    assert.equal(seen?.aborted, true);
    assert.deepEqual(seen?.reason, new TypeError('too slow'));
  }));

  it('says how long it waited when no onTimeout is given, and ignores a late rejection', () => keptAlive(async () => {
    await assert.rejects(withDeadline(20, (signal) => new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => setTimeout(() => reject(new Error('late')), 5));
    })), { message: 'no answer within 20 ms' });
  }));
});
