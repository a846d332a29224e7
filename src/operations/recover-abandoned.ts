/**
 * DESIGN §2: an inline PIN change whose process died (or whose lease ran
 * out) is discarded, so the old PIN stays; an outbox mail whose worker died
 * is queued again. Per-item results, never throws
 * for one item (STYLE 9).
 */
import type { Services } from './services.ts';

export interface RecoveryResult {
  readonly results: Array<{ id: string; login: string; status: 'Discarded' | 'Requeued' | 'AlreadyGone' | 'Failed'; error?: unknown }>;
}

export async function discardAbandonedPinChanges(services: Services, isProcessAlive: (pid: number) => boolean = processIsAlive): Promise<RecoveryResult> {
  const abandoned = await services.store.findAbandonedPinChanges(services.now(), services.owner.host, isProcessAlive);
  const results: RecoveryResult['results'] = [];
  for (const change of abandoned) {
    try {
      if (change.delivery === 'outbox') {
        // A queued mail outlives its worker: due again at once, for any worker.
        await services.store.scheduleMailRetry(change.id, services.now(), 'the worker delivering it stopped');
        results.push({ id: change.id, login: change.login, status: 'Requeued' });
        continue;
      }
      const discarded = await services.store.discardPinChange(change.id, {
        at: services.now(), event: `pin.${change.reason}`, outcome: 'abandoned', login: change.login, actor: 'system', source: 'recovery',
        detail: { ownerPid: change.ownerPid, note: 'the old PIN stays; a mail may have gone out with a PIN that never took effect' },
      });
      results.push({ id: change.id, login: change.login, status: discarded ? 'Discarded' : 'AlreadyGone' });
    } catch (error) {
      results.push({ id: change.id, login: change.login, status: 'Failed', error });
    }
  }
  return { results };
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
