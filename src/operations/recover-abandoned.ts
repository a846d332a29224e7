/**
 * DESIGN §2: an inline PIN change whose process died (or whose lease ran
 * out) is discarded, so the old PIN stays; an outbox mail whose worker died
 * is queued again. Per-item results, never throws
 * for one item (STYLE 9).
 */
import type { RecoveryCandidate } from '../store/index.ts';
import type { Services } from './services.ts';

export interface RecoveryResult {
  readonly results: Array<{ id: string; login: string; status: 'Discarded' | 'Requeued' | 'AlreadyGone' | 'Failed'; error?: unknown }>;
}

export async function discardAbandonedPinChanges(services: Services, isProcessAlive: (pid: number) => boolean = processIsAlive): Promise<RecoveryResult> {
  const now = services.now();
  const { host } = services.owner;
  const candidates = await services.store.findRecoveryCandidates(now, host);
  const abandoned = candidates.filter((change) => isAbandoned(change, now, host, isProcessAlive));
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

/**
 * An inline change is abandoned once its lease ran out or its owner, a process on this host, is dead; an
 * outbox row only while a dead process here still holds its lease (a released one is due for any worker).
 * A process on another host is never judged from here: its own host's sweeper does that.
 */
export function isAbandoned(change: RecoveryCandidate, now: Date, host: string, isProcessAlive: (pid: number) => boolean): boolean {
  const deadOwner = change.ownerHost === host && !isProcessAlive(change.ownerPid);
  const leaseRanOut = change.leaseUntil.getTime() < now.getTime();
  return change.delivery === 'inline' ? leaseRanOut || deadOwner : !leaseRanOut && deadOwner;
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
