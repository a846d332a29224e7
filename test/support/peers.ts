/**
 * The programs and servers outside Node that some tests talk to (the "peers":
 * OpenLDAP's slapd, PostgreSQL, Redis, the third-party SOAP clients, the
 * browser, Lua), found by looking, and one rule for when one is
 * missing (issue 18):
 *
 * - on a developer's machine the tests that need it are skipped, with a reason
 *   that names the peer and the one command that installs or starts it, and
 *   `npm test` closes with a summary of what was skipped (the reporter in
 *   scripts/peer-skips-reporter.mjs reads the `[peer:NAME]` tag of each reason);
 * - with UMPIN_REQUIRE_PEERS=1 (CI sets it) a missing peer fails the test file
 *   that needs it instead: nothing is silently left out there.
 *
 * UMPIN_TEST_PEERS=none hides every peer, as on a machine with only Node.js;
 * it is how the harness's own test checks the skips and the summary.
 *
 * A suite asks once, at load: `describe('…', { skip: await peerSkip('slapd') }, …)`.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import net from 'node:net';

export type PeerName = 'slapd' | 'postgres' | 'redis' | 'zeep' | 'soap-lite' | 'php-soap' | 'chromium' | 'lua';

/** The script that installs every Debian package the tests use and starts the servers (CI runs it too). */
export const PEERS_SCRIPT = 'bash scripts/test-peers.sh';

interface Peer {
  /** What a person would call it. */
  readonly title: string;
  /** The one command that installs or starts it. */
  readonly remedy: string;
  /** Undefined when usable, else why not (one short phrase). */
  probe(): Promise<string | undefined>;
}

const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/**
 * The first of `names` that is an executable file on PATH (or in the sbin
 * directories, which a non-root PATH often lacks); undefined when none is.
 */
export function findExecutable(...names: string[]): string | undefined {
  if (peersHidden()) return undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''), ...SBIN_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here; look further
      }
    }
  }
  return undefined;
}

/** Every executable file named `name` on PATH (then in the sbin directories), in that order. */
export function findExecutables(name: string): string[] {
  if (peersHidden()) return [];
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''), ...SBIN_DIRS];
  const found: string[] = [];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (!found.includes(path)) found.push(path);
    } catch {
      // not here; look further
    }
  }
  return found;
}

let zeepPython: Promise<string | undefined> | undefined;

/**
 * The python3 that can import zeep and requests. The first python3 on PATH is
 * often a pyenv or virtualenv one without Debian's python3-zeep (DESIGN §6), so
 * each one on PATH is asked in turn.
 */
export function findZeepPython(): Promise<string | undefined> {
  zeepPython ??= (async () => {
    for (const python of findExecutables('python3')) {
      if ((await probeCommand(python, ['-c', 'import zeep, requests'], 'zeep')) === undefined) return python;
    }
    return undefined;
  })();
  return zeepPython;
}

/** Runs a probe command; resolves to undefined when it exits 0, else to a short reason. */
function probeCommand(command: string, args: readonly string[], what: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 15_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolve(undefined);
      const first = String(stderr).trim().split('\n')[0]?.replace(/ \(@INC contains:.*$/, '').slice(0, 120);
      resolve(`${what} is not usable${first ? ` (${first})` : ''}`);
    });
  });
}

function executableProbe(names: readonly string[], what: string, then?: (path: string) => Promise<string | undefined>) {
  return (): Promise<string | undefined> => {
    const path = findExecutable(...names);
    if (path === undefined) return Promise.resolve(`${what} is not installed (no ${names.join(' or ')} on PATH or in /usr/sbin)`);
    return then ? then(path) : Promise.resolve(undefined);
  };
}

/** Whether something accepts a TCP connection at host:port within 2 s. */
function tcpProbe(host: string, port: number, what: string): () => Promise<string | undefined> {
  return () => new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (reason: string | undefined) => { socket.destroy(); resolve(reason); };
    socket.setTimeout(2_000, () => done(`${what} does not answer at ${host}:${port} (timed out)`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(`${what} does not answer at ${host}:${port} (${error.code ?? error.message})`));
  });
}

const PEERS: Readonly<Record<PeerName, Peer>> = {
  slapd: {
    title: "OpenLDAP's slapd",
    remedy: 'apt-get install -y slapd ldap-utils',
    probe: executableProbe(['slapd'], 'slapd', async () =>
      findExecutable('slapadd') === undefined ? 'slapadd is not installed' : undefined),
  },
  postgres: {
    title: 'PostgreSQL at 127.0.0.1:5432',
    remedy: "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    probe: tcpProbe('127.0.0.1', 5432, 'PostgreSQL'),
  },
  redis: {
    title: 'Redis at 127.0.0.1:6379',
    remedy: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    // Some tests also start a redis-server of their own on another port.
    probe: async () => await tcpProbe('127.0.0.1', 6379, 'Redis')() ?? (findExecutable('redis-server') === undefined ? 'redis-server is not installed' : undefined),
  },
  zeep: {
    title: 'python3-zeep (SOAP client)',
    remedy: 'apt-get install -y python3-zeep',
    probe: executableProbe(['python3'], 'python3', async () =>
      (await findZeepPython()) === undefined ? `no python3 on PATH can import zeep and requests (tried ${findExecutables('python3').join(', ')})` : undefined),
  },
  'soap-lite': {
    title: 'Perl SOAP::Lite (SOAP client)',
    remedy: 'apt-get install -y libsoap-lite-perl',
    probe: executableProbe(['perl'], 'perl', (perl) => probeCommand(perl, ['-MSOAP::Lite', '-MJSON::PP', '-e', '1'], 'SOAP::Lite')),
  },
  'php-soap': {
    title: 'PHP SoapClient (SOAP client)',
    remedy: 'apt-get install -y php-cli php-soap',
    probe: executableProbe(['php'], 'php', (php) => probeCommand(php, ['-r', 'exit(class_exists("SoapClient") ? 0 : 3);'], 'PHP SoapClient')),
  },
  chromium: {
    title: "Debian's Chromium (page tests)",
    remedy: 'apt-get install -y chromium',
    probe: executableProbe(['chromium', 'chromium-browser'], 'chromium'),
  },
  lua: {
    title: 'Lua 5.4 (FreeSWITCH script tests)',
    remedy: 'apt-get install -y lua5.4',
    probe: executableProbe(['lua5.4'], 'lua5.4'),
  },
};

/** UMPIN_TEST_PEERS=none: behave as on a machine that has none of them. */
function peersHidden(): boolean {
  const setting = process.env.UMPIN_TEST_PEERS?.trim();
  if (setting === undefined || setting === '' || setting === 'all') return false;
  if (setting === 'none') return true;
  throw new TypeError(`UMPIN_TEST_PEERS=${setting}: use all (the default) or none`);
}

/** CI: a missing peer is a failure, not a skip. UMPIN_REQUIRE_THIRD_PARTY is the older name. */
export const PEERS_REQUIRED = process.env.UMPIN_REQUIRE_PEERS === '1' || process.env.UMPIN_REQUIRE_THIRD_PARTY === '1';

const probes = new Map<PeerName, Promise<string | undefined>>();

/** Why `name` cannot be used here (asked once per process), or undefined when it can. */
export function peerMissing(name: PeerName): Promise<string | undefined> {
  let probe = probes.get(name);
  if (probe === undefined) {
    probe = peersHidden() ? Promise.resolve('hidden by UMPIN_TEST_PEERS=none') : PEERS[name].probe();
    probes.set(name, probe);
  }
  return probe;
}

/** The skip reason a missing peer gives its tests: the tag the summary groups by, what is wrong, and what to run. */
export function peerSkipReason(name: PeerName, why: string): string {
  const peer = PEERS[name];
  return `[peer:${name}] ${peer.title}: ${why}; ${peer.remedy} (or ${PEERS_SCRIPT})`;
}

/**
 * For a suite's or a test's `skip` option: false when every named peer is
 * there; else the reason, or (UMPIN_REQUIRE_PEERS=1) an error that fails the file.
 */
export async function peerSkip(...names: PeerName[]): Promise<string | false> {
  for (const name of names) {
    const why = await peerMissing(name);
    if (why === undefined) continue;
    const reason = peerSkipReason(name, why);
    if (PEERS_REQUIRED) throw new Error(`UMPIN_REQUIRE_PEERS=1, but ${reason}`);
    return reason;
  }
  return false;
}
