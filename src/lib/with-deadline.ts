/**
 * The one way to bound a piece of work in time: `work` gets an AbortSignal
 * (`AbortSignal.timeout`) to stop its own I/O, and the caller is answered at
 * the deadline whether or not `work` heeds the signal. A driver that ignores
 * it (a TLS handshake ldapts does not time out, a database that never
 * answers) cannot hold the caller past the deadline.
 *
 * Like `AbortSignal.timeout` itself, the deadline does not keep the process
 * alive: work that holds no socket or timer could never finish anyway.
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
  const timeout = AbortSignal.timeout(ms);
  // Aborted with the caller's error as reason, so a transport that rethrows `signal.reason` says the same thing.
  const controller = new AbortController();
  let timedOut: Error | undefined;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      timedOut = onTimeout();
      controller.abort(timedOut);
      reject(timedOut);
    };
    timeout.addEventListener('abort', onAbort, { once: true });
    const settle = () => timeout.removeEventListener('abort', onAbort);
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
