/**
 * The long fuzz run (issue 7): the property of test/fuzz/envelopes.test.ts,
 * as many runs as asked, with progress and the seed to replay a failure.
 *
 *   node --import tsx scripts/fuzz.ts --runs 2000000 [--seed 12345] [--resets-per-login 3]
 *
 * Without --seed a random one is drawn and printed first, so any run can be
 * repeated. On a failure fast-check prints the shrunk counterexample with
 * its seed and path; the script exits 1.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { fuzzRequest } from '../test/fuzz/envelope-arbitraries.ts';
import { openFuzzTarget } from '../test/fuzz/fuzz-target.ts';

const USAGE = 'usage: node --import tsx scripts/fuzz.ts [--runs <count>] [--seed <integer>] [--resets-per-login <count>] [--progress-every <count>]';

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) {
    console.error(`--${name} must be an integer, not "${value}"\n${USAGE}`);
    process.exit(2);
  }
  return parsed;
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    seed: { type: 'string' },
    'resets-per-login': { type: 'string' },
    'progress-every': { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const runs = positiveInteger('runs', values.runs, 1_000_000);
const seed = positiveInteger('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
const progressEvery = positiveInteger('progress-every', values['progress-every'], 10_000);

console.log(`fuzzing ${runs} requests with seed ${seed} (replay: --runs ${runs} --seed ${seed})`);
const target = await openFuzzTarget({
  resetsPerLogin: positiveInteger('resets-per-login', values['resets-per-login'], 3),
  checkpointEvery: 1000,
});
const started = performance.now();
let sent = 0;
let exitCode = 0;
try {
  await fc.assert(
    fc.asyncProperty(fuzzRequest, async (request) => {
      await target.send(request);
      sent += 1;
      if (sent % progressEvery === 0) {
        const seconds = (performance.now() - started) / 1000;
        console.log(`${sent} requests, ${seconds.toFixed(0)} s, ${Math.round(sent / seconds)}/s`);
      }
    }),
    { numRuns: runs, seed },
  );
  const summary = await target.finish();
  const seconds = (performance.now() - started) / 1000;
  console.log(`passed: ${summary.requests} requests in ${seconds.toFixed(1)} s, seed ${seed}, ${summary.checkpoints} state checks`);
  for (const [outcome, count] of [...summary.outcomes].sort((a, b) => b[1] - a[1])) console.log(`${String(count).padStart(9)}  ${outcome}`);
} catch (error) {
  exitCode = 1;
  console.error(error instanceof Error ? error.message : error);
  console.error(`\nFAILED with seed ${seed}; replay: node --import tsx scripts/fuzz.ts --runs ${runs} --seed ${seed}`);
} finally {
  await target.close();
}
process.exit(exitCode);
