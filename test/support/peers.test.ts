/**
 * The test harness's own promise (issue 18): on a machine without the peers,
 * `npm test` skips what needs them, names each missing peer with the command
 * that installs it, and fails nothing; under UMPIN_REQUIRE_PEERS=1 (CI) a
 * missing peer fails instead. UMPIN_TEST_PEERS=none stands in for a machine
 * with only Node.js.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from './service.ts';
import { findExecutable } from './peers.ts';

const FIXTURE = join(REPO, 'test/support/fixtures/needs-peers.fixture.ts');
// The directory suite that failed on a fresh machine (spawn /usr/sbin/slapadd ENOENT).
const LDAP_SUITE = join(REPO, 'src/auth/ldap-authenticator.test.ts');

interface Run { code: number | null; stdout: string; stderr: string }

/** node's test runner as scripts/test.sh runs it: the summary on stdout, the spec reporter on stderr. */
function runTests(files: string[], env: Record<string, string>): Promise<Run> {
  const args = ['--import', 'tsx', '--test', '--test-reporter=./scripts/peer-skips-reporter.mjs', '--test-reporter-destination=stdout',
    '--test-reporter=spec', '--test-reporter-destination=stderr', ...files];
  const childEnv = { ...process.env, ...env };
  // This file itself runs under the test runner, which marks its children; the run here is a top-level one.
  delete childEnv.NODE_TEST_CONTEXT;
  delete childEnv.UMPIN_REQUIRE_THIRD_PARTY;
  if (env.UMPIN_REQUIRE_PEERS === undefined) delete childEnv.UMPIN_REQUIRE_PEERS;
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: REPO, env: childEnv, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

describe('test peers', () => {
  it('with none there, skips what needs them, fails nothing, and sums up each missing peer with what installs it', async () => {
    const run = await runTests([FIXTURE, LDAP_SUITE], { UMPIN_TEST_PEERS: 'none' });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines[0], '5 tests or suites were skipped because a peer is missing (UMPIN_REQUIRE_PEERS=1 turns these into failures):');
    assert.deepEqual(lines.slice(1, -1).map((line) => line.replace(/ skipped\. .*$/, '')), [
      '  chromium: 1', '  postgres: 1', '  redis: 1', '  slapd: 2',
    ]);
    assert.match(run.stdout, /slapd: 2 skipped\. OpenLDAP's slapd: hidden by UMPIN_TEST_PEERS=none; apt-get install -y slapd ldap-utils \(or bash scripts\/test-peers\.sh\)/);
    assert.match(run.stdout, /postgres: 1 skipped\. PostgreSQL at 127\.0\.0\.1:5432: hidden by UMPIN_TEST_PEERS=none; pg_ctlcluster /);
    assert.equal(lines.at(-1), 'Install and start them all with: bash scripts/test-peers.sh (as root)');
  });

  it('with UMPIN_REQUIRE_PEERS=1, a missing peer fails the file that needs it, saying which and why', async () => {
    const run = await runTests([FIXTURE], { UMPIN_TEST_PEERS: 'none', UMPIN_REQUIRE_PEERS: '1' });
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /UMPIN_REQUIRE_PEERS=1, but \[peer:slapd\] OpenLDAP's slapd: hidden by UMPIN_TEST_PEERS=none/);
  });

  it('finds a program by looking on PATH and in the sbin directories, and nothing for a program that is not there', () => {
    const shell = findExecutable('no-such-program-umpin', 'sh');
    assert.ok(shell !== undefined && /\/sh$/.test(shell), String(shell));
    assert.equal(findExecutable('no-such-program-umpin'), undefined);
  });
});
