import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Semaphore, SemaphoreQueueFull } from './semaphore.ts';

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once, queues up to `maxQueued`, and refuses the rest at once', async () => {
    const gate = new Semaphore(2, 1);
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const task = () => new Promise<void>((resolve) => {
      running += 1;
      peak = Math.max(peak, running);
      releases.push(() => {
        running -= 1;
        resolve();
      });
    });
    const first = gate.run(task);
    const second = gate.run(task);
    const third = gate.run(task);
    await assert.rejects(gate.run(task), SemaphoreQueueFull);
    assert.equal(gate.active, 2);
    assert.equal(gate.queued, 1);
    releases.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gate.queued, 0, 'the waiter took the freed slot');
    while (releases.length > 0) releases.shift()?.();
    await Promise.all([second, third]);
    assert.equal(peak, 2);
    assert.equal(gate.active, 0);
  });

  it('frees the slot when a task fails', async () => {
    const gate = new Semaphore(1, 0);
    await assert.rejects(gate.run(() => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await gate.run(async () => 'ok'), 'ok');
  });
});
