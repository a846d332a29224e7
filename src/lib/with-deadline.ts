/**
 * The one way to bound a piece of work in time: `work` gets an AbortSignal
 * to stop its own I/O, and the caller is answered at the deadline whether or
 * not `work` heeds the signal. A driver that ignores it (a TLS handshake
 * ldapts does not time out, a database that never answers) cannot hold the
 * caller past the deadline.
 *
 * The deadline's timer keeps the process alive until the caller has its
 * answer (unlike `AbortSignal.timeout`, whose timer is unref'd): a CLI
 * command whose transport holds no handle must still end with the timeout's
 * error, not exit with its promise unsettled.
 */

/** What `withDeadline` rejects with when no `onTimeout` is given. */
function describeTimeout(ms: number): Error {
  return new Error(`no answer within ${ms} ms`);
}

/**
 * `work(signal)`'s result, or a rejection with `onTimeout()` once `ms` have
 * passed. The signal aborts at that moment, with `onTimeout()`'s error as
 * its reason; a late result or rejection of `work` is ignored.
 */
export function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, onTimeout: () => Error = () => describeTimeout(ms)): Promise<T> {
  // Aborted with the caller's error as reason, so a transport that rethrows `signal.reason` says the same thing.
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const timedOut = onTimeout();
      controller.abort(timedOut);
      reject(timedOut);
    }, ms);
    const settle = () => clearTimeout(timer);
    let running: Promise<T>;
    try {
      running = work(controller.signal);
    } catch (error) {
      settle();
      reject(error);
      return;
    }
    running.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
