/**
 * Runs `work` with stack capture off. saxes builds an Error, with a stack,
 * for every malformed input it meets, and the parsers use only its message:
 * capturing the stacks (through tsx's source maps in development) was a
 * tenth of a rejected request's CPU in `npm run bench`.
 */
export function withoutStackTraces<T>(work: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return work();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
