/**
 * `npm run bench` (issue 8): umpin's throughput against its own ceiling and
 * floor, measured in one run on this machine and reported as ratios.
 *
 *   1. KDF bound: raw argon2id hashes/s at the service's parameters and KDF
 *      concurrency, in one Node process like the server (bench/kdf-bound.ts).
 *   2. ResetPIN (2 KDF calls each) against the KDF bound; goal ≥ 0.9.
 *   3. The phone-side check /tui/v1/logon (1 KDF call) against the KDF bound.
 *   4. The protocol floor: a malformed envelope (rejected before any KDF work)
 *      and the WSDL GET against a bare Fastify handler; goal ≥ 0.8.
 *   5. A peer: ResetPIN on node-soap with the same work (bench/peer/),
 *      without and with a credential cache, against umpin in the same mode.
 *   6. RSS at rest and at peak, start-up time to ready, and a CLI read
 *      command (`umpin pin show`), against their goals.
 *   7. A large database (100 000 mailboxes, 1 000 000 audit rows, built
 *      through `umpin export`/`umpin import`): ResetPIN and phone logon
 *      against the small one, and the CLI listings' time and peak RSS.
 *
 * The machine is shared and noisy, so the measurements that are compared are
 * interleaved: each is taken in several short slices, round by round (in
 * alternating order), and combined. Each HTTP measurement also records the
 * server's CPU time per request, split into its main thread and its other
 * threads (where argon2 runs), and how busy the whole machine was.
 *
 * Everything runs on 127.0.0.1 with a fresh data directory. A table goes to
 * stdout, the figures to bench/results/latest.json (and one line appended to
 * bench/results/history.jsonl), a Markdown table to bench/results/latest.md.
 *
 *   npm run bench                          the whole run (about 2 minutes)
 *   npm run bench -- --rounds 2 --slice 2  shorter
 *   npm run bench -- --cpu-prof resetpin   profile the server during one load (resetpin, resetpin-cached, logon, malformed, wsdl)
 *   npm run bench -- --umpin <bin/umpin.js of another checkout>    measure that server instead (same schema)
 *   npm run bench -- --compare <bin/umpin.js of another checkout>  measure it too, interleaved: B ÷ umpin per load
 *   npm run bench -- --skip-postgres       no PostgreSQL loads (else: if umpin supports it and BENCH_POSTGRES_URL,
 *                                          default postgres://postgres@127.0.0.1:5432/postgres, answers)
 *   npm run bench -- --skip-large          no large-database scenario (--large-mailboxes, --large-audit: its size)
 *   npm run bench -- --skip-build          measure dist/ as it is (else it is built first: bin/umpin.js runs dist/)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { DEFAULT_CREDENTIAL_TTL_MS } from '../src/auth/credential-cache.ts';
import { DEFAULT_KDF_COST } from '../src/crypto/kdf.ts';
import { redactUrl } from '../src/lib/redact-url.ts';
import {
  CredentialRotation, FLOOR_CONNECTIONS, KDF_CONNECTIONS, MALFORMED, SERVICE_PATH, WSDL_GET, instanceMeasurements, logonRequests, probeMalformed, resetRequests, type Instance,
} from './loads.ts';
import { GOALS, KDF_CALLS, computeFigures, goalRows, loadRows } from './lib/figures.ts';
import { kdfSlice, type KdfSlice } from './lib/kdf-slice.ts';
import { log } from './lib/log.ts';
import { describeMachine, gitCommit } from './lib/machine.ts';
import { PROFILED, profile, type Profiled } from './lib/profile.ts';
import { Measurement, interleave } from './lib/measurement.ts';
import { POSTGRES_ADMIN_URL, freshPostgresDatabase } from './lib/postgres.ts';
import { printReport, writeReport, type ProcessFigures, type ReportText } from './lib/report.ts';
import { freePort, REPO, startServer, type Memory, type RunningServer } from './lib/proc.ts';
import { provisionUmpin, type Account } from './lib/provision.ts';
import { provisionPeer } from './peer/peer-store.ts';
import { medianRun, runMeasured, type CommandRun } from './lib/command.ts';
import { buildLargeDatabase, type LargeDatabase } from './lib/large.ts';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    slice: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1.5' },
    mailboxes: { type: 'string', default: '64' },
    fresh: { type: 'string', default: '640' },
    'cpu-prof': { type: 'string' },
    umpin: { type: 'string' },
    compare: { type: 'string' },
    'skip-postgres': { type: 'boolean', default: false },
    'skip-large': { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    'large-mailboxes': { type: 'string', default: '100000' },
    'large-audit': { type: 'string', default: '1000000' },
    'cli-runs': { type: 'string', default: '7' },
  },
});
const ROUNDS = Number(options.rounds);
const SLICE = Number(options.slice);
const WARMUP = Number(options.warmup);
/** Mailboxes reset over and over (umpin allows 20 resets per login an hour); half as many for the phone load. */
const MAILBOXES = Number(options.mailboxes);
/** Accounts reset once each for the uncached load: more than its requests (6 s at the KDF bound), or some repeat (reported). */
const FRESH = Number(options.fresh);
const UMPIN_BIN = resolve(REPO, options.umpin ?? 'bin/umpin.js');
/** Another checkout's bin/umpin.js, measured beside UMPIN_BIN in the same run (same database schema). */
const COMPARE_BIN = options.compare === undefined ? undefined : resolve(REPO, options.compare);
/** At least one per connection, so no two connections log on to the same mailbox. */
const PHONE_MAILBOXES = Math.max(KDF_CONNECTIONS, Math.ceil(MAILBOXES / 2));
const LARGE = { mailboxes: Number(options['large-mailboxes']), audit: Number(options['large-audit']) };
const CLI_RUNS = Number(options['cli-runs']);
const SCHEDULE = { rounds: ROUNDS, slice: SLICE, warmup: WARMUP } as const;
const TSX = ['--import', 'tsx'];

const resultsDir = join(REPO, 'bench/results');

// ---- the run ----------------------------------------------------------------

interface Started {
  readonly server: RunningServer;
  readonly rest: Memory;
}

async function main(): Promise<void> {
  const began = Date.now();
  const root = await mkdtemp(join(tmpdir(), 'umpin-bench-'));
  const servers: RunningServer[] = [];
  const cleanUps: Array<() => void> = [];
  try {
    const machine = describeMachine(root);
    // bin/umpin.js runs dist/: built from the working tree first, so the figures are this tree's.
    let buildSeconds: number | undefined;
    if (!options['skip-build']) {
      log('building dist/ (npm run build)');
      const t0 = Date.now();
      execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
      buildSeconds = (Date.now() - t0) / 1000;
    }
    const peerDir = join(root, 'peer');
    mkdirSync(peerDir);
    const peerCacheDir = join(root, 'peer-cache');
    mkdirSync(peerCacheDir);
    const sqliteEnv = async (dir: string) => {
      const port = await freePort();
      return { port, env: { UMPIN_DATA_DIR: join(root, dir), UMPIN_LISTEN: `127.0.0.1:${port}`, UMPIN_LOG_LEVEL: 'warn' } };
    };
    const counts = { reset: MAILBOXES, phone: PHONE_MAILBOXES, fresh: FRESH };

    const primary = await sqliteEnv('umpin');
    const { kdfConcurrency } = loadConfig(primary.env);
    log(`provisioning ${MAILBOXES} reset, ${FRESH} fresh and ${PHONE_MAILBOXES} phone mailboxes in ${primary.env.UMPIN_DATA_DIR}, and the peer's ${MAILBOXES} users`);
    const umpinInstance: Instance = {
      label: 'umpin', bin: UMPIN_BIN, ...primary, provisioned: await provisionUmpin(primary.env, counts), full: true,
    };
    await provisionPeer(peerDir, umpinInstance.provisioned.resetAccounts);
    await provisionPeer(peerCacheDir, umpinInstance.provisioned.resetAccounts);

    const which = options['cpu-prof'];
    if (which !== undefined) {
      if (!(PROFILED as readonly string[]).includes(which)) throw new TypeError(`--cpu-prof takes one of ${PROFILED.join(', ')}`);
      await profile(which as Profiled, {
        umpinBin: UMPIN_BIN, env: umpinInstance.env, port: umpinInstance.port, provisioned: umpinInstance.provisioned, root,
        schedule: SCHEDULE, connections: { kdf: KDF_CONNECTIONS, floor: FLOOR_CONNECTIONS }, resultsDir,
      });
      return;
    }

    // Another checkout's server beside this one, on its own data directory (--compare).
    let compareInstance: Instance | undefined;
    if (options.compare !== undefined) {
      const other = await sqliteEnv('umpin-compare');
      log(`provisioning the same for the compared server ${COMPARE_BIN}`);
      compareInstance = { label: 'B', bin: COMPARE_BIN as string, ...other, provisioned: await provisionUmpin(other.env, counts), full: true };
    }

    // The large database: the provisioned one plus LARGE's synthetic rows, through export and import.
    let large: { built: LargeDatabase; instance: Instance } | undefined;
    if (!options['skip-large']) {
      log(`building the large database: the provisioned one plus ${LARGE.mailboxes} mailboxes and ${LARGE.audit} audit rows, through umpin export and umpin import`);
      const built = await buildLargeDatabase(UMPIN_BIN, primary.env, join(root, 'umpin-large'), LARGE, root);
      log(`imported in ${(built.import.wallMs / 1000).toFixed(1)} s (peak RSS ${built.import.peakMiB.toFixed(0)} MiB)`);
      const port = await freePort();
      large = {
        built,
        instance: { label: 'umpin large', bin: UMPIN_BIN, env: { ...built.env, UMPIN_LISTEN: `127.0.0.1:${port}` }, port, provisioned: umpinInstance.provisioned, full: false },
      };
    }

    // PostgreSQL (if umpin supports it and a server is reachable): umpin on a fresh database.
    let postgresNote = 'skipped (--skip-postgres)';
    let postgresInstance: Instance | undefined;
    if (!options['skip-postgres']) {
      const database = freshPostgresDatabase(primary.env);
      if ('unavailable' in database) {
        postgresNote = `not available: ${database.unavailable}`;
      } else {
        cleanUps.push(() => database.drop());
        const pg = await sqliteEnv('umpin-pg');
        const env = { ...pg.env, UMPIN_DATABASE_URL: database.url };
        log(`provisioning ${MAILBOXES} reset and ${FRESH} fresh mailboxes on PostgreSQL database ${database.name}`);
        try {
          postgresInstance = {
            label: 'umpin PostgreSQL', bin: UMPIN_BIN, env, port: pg.port, full: false,
            provisioned: await provisionUmpin(env, { reset: MAILBOXES, phone: 0, fresh: FRESH }),
          };
          postgresNote = `database ${database.name} on ${redactUrl(POSTGRES_ADMIN_URL).replace(/\/[^/]*$/, '')}`;
        } catch (error) {
          postgresNote = `not available: provisioning on PostgreSQL failed: ${(error as Error).message}`;
        }
      }
    }
    log(`PostgreSQL: ${postgresNote}`);

    // Servers start one at a time, each timed until it answers; memory at rest is read once it has settled.
    log(`starting umpin (${UMPIN_BIN}), the node-soap peer and a bare Fastify server`);
    const start = async (spec: Parameters<typeof startServer>[0]): Promise<Started> => {
      const server = await startServer(spec);
      servers.push(server);
      await sleep(500);
      return { server, rest: server.memory() };
    };
    const startUmpin = (instance: Instance) => start({ name: instance.label, port: instance.port, env: instance.env, readyPath: `${SERVICE_PATH}?wsdl`, args: [instance.bin, 'serve'] });
    const umpin = await startUmpin(umpinInstance);
    const peerPort = await freePort();
    const peer = await start({ name: 'peer', port: peerPort, readyPath: `${SERVICE_PATH}?wsdl`, args: [...TSX, 'bench/peer/node-soap-server.ts', peerDir, String(peerPort)] });
    const peerCachePort = await freePort();
    const peerCache = await start({ name: 'peer (cache)', port: peerCachePort, readyPath: `${SERVICE_PATH}?wsdl`, args: [...TSX, 'bench/peer/node-soap-server.ts', peerCacheDir, String(peerCachePort), 'cache'] });
    const barePort = await freePort();
    const bare = await start({ name: 'bare Fastify', port: barePort, readyPath: '/', args: [...TSX, 'bench/bare-fastify.ts', String(barePort)] });
    const compare = compareInstance ? await startUmpin(compareInstance) : undefined;
    const umpinLarge = large ? await startUmpin(large.instance) : undefined;
    let umpinPg: Started | undefined;
    if (postgresInstance) {
      try {
        umpinPg = await startUmpin(postgresInstance);
      } catch (error) {
        postgresNote = `not available: umpin did not start on PostgreSQL: ${(error as Error).message.split('\n')[0]}`;
        log(`PostgreSQL: ${postgresNote}`);
      }
    }

    const malformedStatus = await probeMalformed(umpin.server.origin);
    const a = instanceMeasurements(umpinInstance, umpin.server, malformedStatus);
    const b = compareInstance && compare ? instanceMeasurements(compareInstance, compare.server, malformedStatus) : undefined;
    const p = postgresInstance && umpinPg ? instanceMeasurements(postgresInstance, umpinPg.server, malformedStatus) : undefined;
    const peerReset = new Measurement('peer ResetPIN', peer.server, KDF_CONNECTIONS, 200, resetRequests(umpinInstance.provisioned.resetAccounts));
    const peerRotation = new CredentialRotation(umpinInstance.provisioned.resetAccounts, false);
    const peerResetCached = new Measurement('peer ResetPIN cached', peerCache.server, KDF_CONNECTIONS, 200, peerRotation.requestsFor, { spreadSources: true, rotation: peerRotation });
    const largeRotation = new CredentialRotation(umpinInstance.provisioned.resetAccounts, false);
    const largeM = large && umpinLarge ? {
      resetCached: new Measurement('umpin large ResetPIN cached', umpinLarge.server, KDF_CONNECTIONS, 200, largeRotation.requestsFor, { spreadSources: true, rotation: largeRotation }),
      logon: new Measurement('umpin large phone logon', umpinLarge.server, KDF_CONNECTIONS, 200, logonRequests(umpinInstance.provisioned)),
    } : undefined;
    const present = <T>(list: ReadonlyArray<T | undefined>): T[] => list.filter((x): x is T => x !== undefined);

    // The KDF-bound loads, interleaved with slices of the KDF bound itself.
    const kdfSlices: KdfSlice[] = [];
    const kdfBound = present([a.reset, b?.reset, peerReset, a.resetCached, b?.resetCached, peerResetCached, largeM?.resetCached, p?.reset, p?.resetCached, a.logon, b?.logon, largeM?.logon]);
    await interleave('KDF-bound', SCHEDULE, [
      { name: 'KDF bound', run: async (seconds, record) => { if (record) kdfSlices.push(await kdfSlice(kdfConcurrency, seconds, 0.5)); } },
      ...kdfBound.map((m) => ({ name: m.name, run: (sec: number, r: boolean) => m.run(sec, r) })),
    ]);
    const reused = a.fresh.reused + (b?.fresh.reused ?? 0) + (p?.fresh.reused ?? 0);
    if (reused > 0) log(`the uncached ResetPIN loads ran out of fresh accounts: ${reused} requests repeated a login (raise --fresh)`);

    // The protocol floor, interleaved with the bare handler.
    const barePost = new Measurement('bare Fastify POST', bare.server, FLOOR_CONNECTIONS, 200, () => [{ ...MALFORMED, path: '/' }]);
    const bareGet = new Measurement('bare Fastify GET', bare.server, FLOOR_CONNECTIONS, 200, () => [{ ...WSDL_GET, path: '/' }]);
    const floor = present([barePost, a.malformed, b?.malformed, bareGet, a.wsdl, b?.wsdl]);
    await interleave('floor', SCHEDULE, floor.map((m) => ({ name: m.name, run: (sec: number, r: boolean) => m.run(sec, r) })));

    const processes: Record<string, ProcessFigures> = {};
    const figures = (name: string, started: Started | undefined) => {
      if (started) processes[name] = { startupMs: started.server.startupMs, rest: started.rest, peak: started.server.memory() };
    };
    figures('umpin', umpin);
    figures('peer (node-soap)', peer);
    figures('peer (node-soap, cache)', peerCache);
    figures('bare Fastify', bare);
    figures('umpin (PostgreSQL)', umpinPg);
    figures('B (compared)', compare);
    figures('umpin (large database)', umpinLarge);
    for (const server of servers.splice(0)) await server.stop();

    // Start-up and memory at rest again, a few times each (one start is a noisy figure), with no load running.
    const startups: Record<string, { startupMs: number[]; restMiB: number[] }> = {};
    const startupSubjects = present([umpinInstance, compareInstance]);
    for (let round = 0; round < 3; round += 1) {
      for (const instance of round % 2 === 0 ? startupSubjects : [...startupSubjects].reverse()) {
        const started = await startUmpin(instance);
        await started.server.stop();
        servers.splice(servers.indexOf(started.server), 1);
        const entry = (startups[instance.label] ??= { startupMs: [], restMiB: [] });
        entry.startupMs.push(started.server.startupMs);
        entry.restMiB.push(started.rest.rssMiB);
      }
    }

    // A CLI read command, interleaved with B's and with bare node (the machine's floor for starting a process).
    const cliLogin = (umpinInstance.provisioned.resetAccounts[0] as Account).login;
    const cliSubjects = [
      { name: 'umpin pin show', args: [UMPIN_BIN, 'pin', 'show', cliLogin], env: umpinInstance.env },
      ...(compareInstance ? [{ name: 'B pin show', args: [compareInstance.bin, 'pin', 'show', cliLogin], env: compareInstance.env }] : []),
      { name: 'node -e 0 (floor)', args: ['-e', '0'], env: {} },
    ];
    log(`timing the CLI: ${cliSubjects.map((c) => c.name).join(', ')}, ${CLI_RUNS} runs each, interleaved`);
    const cliRuns = new Map<string, CommandRun[]>();
    for (let round = 0; round < CLI_RUNS; round += 1) {
      for (const subject of round % 2 === 0 ? cliSubjects : [...cliSubjects].reverse()) {
        const run = await runMeasured(subject.args, subject.env);
        cliRuns.set(subject.name, [...(cliRuns.get(subject.name) ?? []), run]);
      }
    }
    const cli = Object.fromEntries([...cliRuns].map(([name, runs]) => [name, medianRun(runs)]));

    // The CLI listings on the large database (output discarded), and B's when it can open it.
    const listings: Record<string, CommandRun | { error: string }> = {};
    if (large) {
      const listers = [
        { name: 'umpin mailbox list', args: [UMPIN_BIN, 'mailbox', 'list'] },
        { name: 'umpin audit', args: [UMPIN_BIN, 'audit'] },
        ...(compareInstance ? [{ name: 'B mailbox list', args: [compareInstance.bin, 'mailbox', 'list'] }, { name: 'B audit', args: [compareInstance.bin, 'audit'] }] : []),
      ];
      for (const lister of listers) {
        log(`large database: ${lister.name}`);
        try {
          listings[lister.name] = await runMeasured(lister.args, large.instance.env);
        } catch (error) {
          listings[lister.name] = { error: (error as Error).message.split('\n').slice(0, 3).join(' ') };
        }
      }
    }

    // ---- figures ----
    const computed = computeFigures({ kdfSlices, a, b, p, barePost, bareGet, peerReset, peerResetCached, peerRotation, largeM });
    const {
      hashesPerSecond, cpuMsPerHash, bound, kdfSpread, A, B, P, peerLoad, peerRatios, umpinToPeer, peerCachedLoad, peerCachedCalls, peerCachedRatios, umpinToPeerCached,
      largeLoads, largeRatios, barePostLoad, bareGetLoad, noise,
    } = computed;
    const rows = loadRows(computed, { kdfConcurrency, postgresNote, malformedStatus, large: largeLoads && LARGE, compareBin: COMPARE_BIN });

    const goals = goalRows({ startups, cli, large: large && { import: large.built.import, counts: LARGE }, listings });

    const seconds = (Date.now() - began) / 1000;
    const report = {
      schema: 2,
      at: new Date().toISOString(),
      commit: gitCommit(),
      umpinBin: UMPIN_BIN,
      seconds,
      machine,
      settings: {
        rounds: ROUNDS, sliceSeconds: SLICE, warmupSeconds: WARMUP, kdfConnections: KDF_CONNECTIONS, floorConnections: FLOOR_CONNECTIONS,
        mailboxes: MAILBOXES, phoneMailboxes: PHONE_MAILBOXES, freshAccounts: FRESH, kdfConcurrency, kdfCost: DEFAULT_KDF_COST,
        kdfCallsPerRequest: KDF_CALLS, goals: GOALS, logLevel: 'warn', spreadSources: '127.0.1.1-254 for ResetPIN loads',
      },
      kdf: { slices: kdfSlices, hashesPerSecond, cpuMsPerHash, resetpinBound: bound(KDF_CALLS.resetpin), resetpinCachedBound: bound(A.kdfCallsCached), logonBound: bound(KDF_CALLS.logon) },
      credentialCache: { ttlMs: DEFAULT_CREDENTIAL_TTL_MS, kdfCallsCached: A.kdfCallsCached, kdfCallsCachedPostgres: P?.kdfCallsCached },
      umpin: A,
      postgres: { note: postgresNote, ...(P ? { results: P } : {}) },
      ...(B ? { compared: { bin: COMPARE_BIN, results: B } } : {}),
      peer: { load: peerLoad, ...peerRatios, umpinToPeer, cached: { load: peerCachedLoad, kdfCalls: peerCachedCalls, ...peerCachedRatios, umpinToPeer: umpinToPeerCached } },
      buildSeconds,
      startups,
      cli,
      large: large && { counts: LARGE, export: large.built.export, import: large.built.import, loads: largeLoads, ratios: largeRatios, listings },
      bare: { post: barePostLoad, get: bareGetLoad },
      noise: { othersBusyCores: noise },
      processes,
    };

    const machineLine = `${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}, data directory on ${machine.dataDirFs}, load average at start ${machine.loadAverageAtStart.join(' ')}`;
    const settingsLine = `${ROUNDS} interleaved rounds of ${SLICE} s per measurement after ${WARMUP} s of warm-up; ${KDF_CONNECTIONS} connections for KDF-bound loads, ${FLOOR_CONNECTIONS} for the floor; ResetPIN connections each from their own 127.0.1.x address (umpin limits requests per address); ${MAILBOXES} mailboxes reset in turn (cached), ${FRESH} reset once each (not cached), ${PHONE_MAILBOXES} for the phone; log level warn`;
    const postgresLine = `PostgreSQL: ${postgresNote}${P ? ' (its rows have no CPU ratio: the database server\'s CPU is not umpin\'s)' : ''}`;
    const noiseLine = `Noise: other processes kept ${noise.kdfBoundLoads.toFixed(2)} of ${machine.nproc} cores busy during the KDF-bound loads, ${noise.floorLoads.toFixed(2)} during the floor loads; KDF-bound slices ${kdfSpread} hashes/s.`;
    const text: ReportText = { machineLine, settingsLine, postgresLine, noiseLine, rows, cpuMsPerHash, processes, goalRows: goals };
    printReport(report, text);
    writeReport(resultsDir, report, text);
    log('written: bench/results/latest.json and latest.md; appended to bench/results/history.jsonl');
  } finally {
    for (const server of servers) await server.stop();
    for (const cleanUp of cleanUps) cleanUp();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
