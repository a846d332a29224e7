/**
 * scripts/failed-files-reporter.mjs: a file that fails outside its tests is
 * summed up with its exit code, the runner's note and its stderr, and a
 * file whose failure is an ordinary failing test is not repeated.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO } from './service.ts';

const LATE_FAILURE = join(REPO, 'test/support/fixtures/fails-after-its-tests.fixture.ts');
const FAILING_TEST = join(REPO, 'test/support/fixtures/fails-a-test.fixture.ts');

function summarise(files: string[]): Promise<string> {
  const args = ['--import', 'tsx', '--test', '--test-reporter=./scripts/failed-files-reporter.mjs', '--test-reporter-destination=stdout', ...files];
  const childEnv = { ...process.env };
  delete childEnv.NODE_TEST_CONTEXT; // a top-level run, not a child of this one
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: REPO, env: childEnv, timeout: 120_000 }, (_error, stdout) => resolve(stdout));
  });
}

it('names a file that failed outside its tests, with its exit code, the runner\'s note and its stderr; nothing else', async () => {
  const summary = await summarise([LATE_FAILURE, FAILING_TEST]);
  const blocks = summary.trim().split('\n\n');
  assert.equal(blocks.length, 1, summary);
  const lines = (blocks[0] as string).split('\n');
  assert.equal(lines[0], `${LATE_FAILURE} failed as a whole (exit code 1)`);
  assert.match(lines[1] as string, /^ {2}runner: Error: .*asynchronous activity after the test ended.*a late failure after the tests/);
  assert.deepEqual(lines.slice(2), ['  last stderr: ', 'the context a reader needs']);
});
