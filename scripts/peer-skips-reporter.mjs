/**
 * A node:test reporter (issue 18) that writes one short summary of the tests
 * skipped because a peer is missing: each peer, how many tests or suites it
 * skipped, and the command that installs or starts it. It reads the
 * `[peer:NAME] …; <remedy>` reasons that test/support/peers.ts gives; other
 * skips (a SQLite file has no schemas, …) are counted apart.
 * scripts/test.sh prints what it wrote after the run.
 */
const TAG = /^\[peer:([a-z0-9-]+)\] (.*)$/s;

export default async function* peerSkipsReporter(source) {
  const byPeer = new Map();
  let otherSkips = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const skip = event.data.skip;
    if (skip === undefined || skip === false) continue;
    const match = typeof skip === 'string' ? TAG.exec(skip) : null;
    if (match === null) {
      otherSkips += 1;
      continue;
    }
    const [, peer, reason] = match;
    const entry = byPeer.get(peer) ?? { count: 0, reason };
    entry.count += 1;
    byPeer.set(peer, entry);
  }
  if (byPeer.size === 0) {
    yield `No test was skipped for a missing peer${otherSkips > 0 ? ` (${otherSkips} skipped for other reasons, each with its own)` : ''}.\n`;
    return;
  }
  const total = [...byPeer.values()].reduce((sum, entry) => sum + entry.count, 0);
  yield `${total} tests or suites were skipped because a peer is missing (UMPIN_REQUIRE_PEERS=1 turns these into failures):\n`;
  for (const [peer, { count, reason }] of [...byPeer].sort()) yield `  ${peer}: ${count} skipped. ${reason}\n`;
  yield 'Install and start them all with: bash scripts/test-peers.sh (as root)\n';
}
