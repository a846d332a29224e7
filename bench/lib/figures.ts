/**
 * The run's figures from its measurements: the KDF bound, each load's ratio
 * to its reference (requests/s, and CPU per request the other way round),
 * and the rows of the report's tables with their goals.
 */
import { DEFAULT_KDF_COST } from '../../src/crypto/kdf.ts';
import type { CredentialRotation, InstanceMeasurements } from '../loads.ts';
import { medianRun, type CommandRun } from './command.ts';
import type { KdfSlice } from './kdf-slice.ts';
import type { LargeDatabase } from './large.ts';
import type { MeasuredLoad, Measurement } from './measurement.ts';
import type { GoalRow, Row } from './report.ts';

/**
 * KDF calls per request: ResetPIN verifies the password and computes one PIN
 * verifier; with the credential cache (commit c7493b2) a repeated login skips
 * the password's; a phone logon computes one PIN verifier.
 */
export const KDF_CALLS = { resetpin: 2, resetpinCached: 1, logon: 1 } as const;
export const GOALS = {
  kdfShare: 0.9, logon: 0.95, floor: 0.8, peerUncached: 1.1, peerCached: 1.2,
  startupMs: 500, cliMs: 350, restMiB: 80, largeWithin: 0.95, listingPeakMiB: 150,
} as const;

/** What the run measured, ready to be turned into figures once every load has run. */
export interface Measured {
  readonly kdfSlices: readonly KdfSlice[];
  readonly a: InstanceMeasurements;
  readonly b: InstanceMeasurements | undefined;
  readonly p: InstanceMeasurements | undefined;
  readonly barePost: Measurement;
  readonly bareGet: Measurement;
  readonly peerReset: Measurement;
  readonly peerResetCached: Measurement;
  readonly peerRotation: CredentialRotation;
  readonly largeM: { readonly resetCached: Measurement; readonly logon: Measurement } | undefined;
}

export function computeFigures({ kdfSlices, a, b, p, barePost, bareGet, peerReset, peerResetCached, peerRotation, largeM }: Measured) {
  const kdfSeconds = kdfSlices.reduce((sum, k) => sum + k.seconds, 0);
  const kdfHashes = kdfSlices.reduce((sum, k) => sum + k.hashes, 0);
  const hashesPerSecond = kdfHashes / kdfSeconds;
  const cpuMsPerHash = kdfSlices.reduce((sum, k) => sum + k.cpuMsPerHash * k.hashes, 0) / kdfHashes;
  const bound = (calls: number) => hashesPerSecond / calls;
  const cpuPerRequest = (load: MeasuredLoad) => load.cpu.serverMainMsPerRequest + load.cpu.serverOtherMsPerRequest;
  /** hashes/s ÷ calls and CPU per request against `calls` hashes' CPU. */
  const kdfRatios = (load: MeasuredLoad, calls: number) => ({ ratio: load.rps / bound(calls), cpuRatio: (calls * cpuMsPerHash) / cpuPerRequest(load) });
  // A cached ResetPIN costs one KDF call, plus the password's when its login missed the cache (replayed by the rotation).
  const cachedCalls = (m: { cached: CredentialRotation }) => KDF_CALLS.resetpinCached + m.cached.missRatio;

  const barePostLoad = barePost.result();
  const bareGetLoad = bareGet.result();
  const floorRatios = (load: MeasuredLoad, reference: MeasuredLoad) => ({ ratio: load.rps / reference.rps, cpuRatio: cpuPerRequest(reference) / cpuPerRequest(load) });
  const results = (m: InstanceMeasurements) => {
    const reset = m.reset.result();
    const resetCached = m.resetCached.result();
    const logon = m.logon?.result();
    const malformed = m.malformed?.result();
    const wsdl = m.wsdl?.result();
    return {
      loads: { reset, resetCached, logon, malformed, wsdl },
      kdfCallsCached: cachedCalls(m),
      ratios: {
        reset: kdfRatios(reset, KDF_CALLS.resetpin),
        resetCached: kdfRatios(resetCached, cachedCalls(m)),
        logon: logon && kdfRatios(logon, KDF_CALLS.logon),
        malformed: malformed && floorRatios(malformed, barePostLoad),
        wsdl: wsdl && floorRatios(wsdl, bareGetLoad),
      },
    };
  };
  const A = results(a);
  const B = b && results(b);
  const P = p && results(p);
  const peerLoad = peerReset.result();
  const peerRatios = { ...kdfRatios(peerLoad, KDF_CALLS.resetpin) };
  const umpinToPeer = { ratio: A.loads.reset.rps / peerLoad.rps, cpuRatio: cpuPerRequest(peerLoad) / cpuPerRequest(A.loads.reset) };
  const peerCachedLoad = peerResetCached.result();
  const peerCachedCalls = KDF_CALLS.resetpinCached + peerRotation.missRatio;
  const peerCachedRatios = kdfRatios(peerCachedLoad, peerCachedCalls);
  const umpinToPeerCached = { ratio: A.loads.resetCached.rps / peerCachedLoad.rps, cpuRatio: cpuPerRequest(peerCachedLoad) / cpuPerRequest(A.loads.resetCached) };
  /** The large database's load against the small one's: requests/s, and CPU per request the other way round. */
  const againstSmall = (load: MeasuredLoad, small: MeasuredLoad | undefined) => small && { ratio: load.rps / small.rps, cpuRatio: cpuPerRequest(small) / cpuPerRequest(load) };
  const largeLoads = largeM && { resetCached: largeM.resetCached.result(), logon: largeM.logon.result() };
  const largeRatios = largeLoads && { resetCached: againstSmall(largeLoads.resetCached, A.loads.resetCached), logon: againstSmall(largeLoads.logon, A.loads.logon) };

  /** Cores' worth of CPU that neither the server under load nor the load generator used: other tenants, mostly. */
  const others = (list: readonly MeasuredLoad[]) => list.reduce((sum, l) => sum + l.cpu.machineBusyCores - l.cpu.serverCores - l.cpu.clientCores, 0) / list.length;
  const noise = { kdfBoundLoads: others([A.loads.reset, A.loads.resetCached, peerLoad]), floorLoads: others([barePostLoad, bareGetLoad]) };

  const kdfSpread = kdfSlices.map((k) => k.hashesPerSecond.toFixed(0)).join(', ');
  return {
    hashesPerSecond, cpuMsPerHash, bound, cpuPerRequest, kdfSpread, A, B, P,
    peerLoad, peerRatios, umpinToPeer, peerCachedLoad, peerCachedCalls, peerCachedRatios, umpinToPeerCached,
    largeLoads, largeRatios, barePostLoad, bareGetLoad, noise,
  };
}

export type Figures = ReturnType<typeof computeFigures>;

export interface RowContext {
  readonly kdfConcurrency: number;
  readonly postgresNote: string;
  readonly malformedStatus: number;
  /** The large database's size, when it was measured. */
  readonly large: { readonly mailboxes: number; readonly audit: number } | undefined;
  readonly compareBin: string | undefined;
}

/** The loads' table: the KDF bound, then each load against its reference and goal. */
export function loadRows(figures: Figures, { kdfConcurrency, postgresNote, malformedStatus, large, compareBin }: RowContext): Row[] {
  const {
    hashesPerSecond, cpuMsPerHash, bound, cpuPerRequest, kdfSpread, A, B, P,
    peerLoad, peerRatios, umpinToPeer, peerCachedLoad, peerCachedCalls, peerCachedRatios, umpinToPeerCached,
    largeLoads, largeRatios, barePostLoad, bareGetLoad,
  } = figures;
  const row = (label: string, load: MeasuredLoad | undefined, r: { ratio: number; cpuRatio?: number } | undefined, ratioOf: string, goal?: number): Row[] =>
    load ? [{ label, load, ratio: r?.ratio, cpuRatio: r?.cpuRatio, ratioOf, ...(goal === undefined ? {} : { goal }) }] : [];
  const missed = (calls: number) => `${((calls - 1) * 100).toFixed(0)} % missed the cache`;
  return [
    { label: `1. KDF bound: argon2id m=${DEFAULT_KDF_COST.memoryCost} t=${DEFAULT_KDF_COST.timeCost} p=${DEFAULT_KDF_COST.parallelism}, ${kdfConcurrency} in flight (hashes/s)`, value: `${hashesPerSecond.toFixed(1)} (slices ${kdfSpread}; ${cpuMsPerHash.toFixed(1)} CPU ms/hash)` },
    { label: '   KDF-bound ResetPIN = hashes/s ÷ 2 KDF calls (auth not cached)', value: bound(KDF_CALLS.resetpin).toFixed(1) },
    { label: `   KDF-bound ResetPIN = hashes/s ÷ ${A.kdfCallsCached.toFixed(2)} KDF calls (auth cached; ${missed(A.kdfCallsCached)})`, value: bound(A.kdfCallsCached).toFixed(1) },
    { label: '   KDF-bound phone logon = hashes/s ÷ 1 KDF call', value: bound(KDF_CALLS.logon).toFixed(1) },
    ...row('2. umpin ResetPIN, SQLite, auth not cached (each login once)', A.loads.reset, A.ratios.reset, 'of KDF bound', GOALS.kdfShare),
    ...row('   umpin ResetPIN, SQLite, auth cached (logins repeat)', A.loads.resetCached, A.ratios.resetCached, 'of KDF bound', GOALS.kdfShare),
    ...(P
      ? [
        ...row('   umpin ResetPIN, PostgreSQL, auth not cached', P.loads.reset, { ratio: P.ratios.reset.ratio }, 'of KDF bound', GOALS.kdfShare),
        ...row(`   umpin ResetPIN, PostgreSQL, auth cached (${missed(P.kdfCallsCached)})`, P.loads.resetCached, { ratio: P.ratios.resetCached.ratio }, 'of KDF bound', GOALS.kdfShare),
      ]
      : [{ label: '   umpin ResetPIN, PostgreSQL', value: `n/a: ${postgresNote.replace(/^not available: /, '')}` }]),
    ...row('3. umpin phone logon /tui/v1/logon', A.loads.logon, A.ratios.logon, 'of KDF bound', GOALS.logon),
    ...row(`4. umpin malformed envelope (HTTP ${malformedStatus} fault)`, A.loads.malformed, A.ratios.malformed, 'of bare POST', GOALS.floor),
    ...row('   bare Fastify POST, constant', barePostLoad, undefined, ''),
    ...row('   umpin WSDL GET', A.loads.wsdl, A.ratios.wsdl, 'of bare GET', GOALS.floor),
    ...row('   bare Fastify GET, constant', bareGetLoad, undefined, ''),
    ...row('5. peer ResetPIN (node-soap, same work), no credential cache', peerLoad, peerRatios, 'of KDF bound'),
    ...row(`   peer ResetPIN, credential cache (${missed(peerCachedCalls)})`, peerCachedLoad, peerCachedRatios, 'of KDF bound'),
    { label: '   umpin ÷ peer, ResetPIN, neither caching', ...umpinToPeer, goal: GOALS.peerUncached },
    { label: '   umpin ÷ peer, ResetPIN, both caching credentials', ...umpinToPeerCached, goal: GOALS.peerCached },
    ...(largeLoads && largeRatios && large
      ? [
        ...row(`7. umpin ResetPIN cached, large database (${large.mailboxes} mailboxes, ${large.audit} audit rows)`, largeLoads.resetCached, largeRatios.resetCached, 'of small database', GOALS.largeWithin),
        ...row('   umpin phone logon, large database', largeLoads.logon, largeRatios.logon, 'of small database', GOALS.largeWithin),
      ]
      : []),
    ...(B
      ? [
        { label: `B: ${compareBin} (--compare)`, value: '' },
        ...row('   B ResetPIN, SQLite, auth not cached', B.loads.reset, B.ratios.reset, 'of KDF bound', GOALS.kdfShare),
        ...row('   B ResetPIN, SQLite, auth cached', B.loads.resetCached, B.ratios.resetCached, 'of KDF bound', GOALS.kdfShare),
        ...row('   B phone logon', B.loads.logon, B.ratios.logon, 'of KDF bound', GOALS.kdfShare),
        ...row('   B malformed envelope', B.loads.malformed, B.ratios.malformed, 'of bare POST', GOALS.floor),
        ...row('   B WSDL GET', B.loads.wsdl, B.ratios.wsdl, 'of bare GET', GOALS.floor),
        ...(['reset', 'resetCached', 'logon', 'malformed', 'wsdl'] as const).flatMap((key) => {
          const la = A.loads[key];
          const lb = B.loads[key];
          return la && lb ? [{ label: `   B ÷ umpin, ${key}`, ratio: lb.rps / la.rps, cpuRatio: cpuPerRequest(la) / cpuPerRequest(lb) }] : [];
        }),
      ]
      : []),
  ];
}

export interface GoalInputs {
  readonly startups: Record<string, { startupMs: number[]; restMiB: number[] }>;
  readonly cli: Record<string, CommandRun & { runs: number }>;
  /** The large database's import and size, when it was built. */
  readonly large: { readonly import: LargeDatabase['import']; readonly counts: { readonly mailboxes: number; readonly audit: number } } | undefined;
  readonly listings: Record<string, CommandRun | { error: string }>;
}

/** The other goals' table: start-up, memory at rest, the CLI, and the large database's import and listings. */
export function goalRows({ startups, cli, large, listings }: GoalInputs): GoalRow[] {
  const median = (values: readonly number[]) => medianRun(values.map((v) => ({ wallMs: v, cpuMs: 0, peakMiB: 0 }))).wallMs;
  const mib = (x: number) => `${x.toFixed(1)} MiB`;
  const describeRun = (r: CommandRun) => `${r.wallMs.toFixed(0)} ms (CPU ${r.cpuMs.toFixed(0)} ms, peak ${mib(r.peakMiB)})`;
  return [
    ...Object.entries(startups).flatMap(([label, st]) => [
      { label: `${label}: start-up to ready (median of ${st.startupMs.length})`, value: `${median(st.startupMs).toFixed(0)} ms`, goal: `< ${GOALS.startupMs} ms`, met: label === 'umpin' ? median(st.startupMs) < GOALS.startupMs : undefined },
      { label: `${label}: RSS at rest (median of ${st.restMiB.length})`, value: mib(median(st.restMiB)), goal: `< ${GOALS.restMiB} MiB`, met: label === 'umpin' ? median(st.restMiB) < GOALS.restMiB : undefined },
    ]),
    ...Object.entries(cli).map(([name, r]) => ({
      label: `${name} (median of ${r.runs}, wall)`, value: describeRun(r), goal: name.startsWith('node') ? '' : `< ${GOALS.cliMs} ms`, met: name === 'umpin pin show' ? r.wallMs < GOALS.cliMs : undefined,
    })),
    ...(large
      ? [
        { label: `large database: umpin import of ${large.counts.mailboxes} users and mailboxes, ${large.counts.audit} audit rows`, value: `${(large.import.wallMs / 1000).toFixed(1)} s (CPU ${(large.import.cpuMs / 1000).toFixed(1)} s, peak ${mib(large.import.peakMiB)})`, goal: '< 60 s', met: large.import.wallMs < 60_000 },
        ...Object.entries(listings).map(([name, r]) => ('error' in r
          ? { label: `large database: ${name}`, value: `failed: ${r.error}`, goal: '', met: undefined }
          : { label: `large database: ${name} (output discarded)`, value: describeRun(r), goal: `peak < ${GOALS.listingPeakMiB} MiB`, met: name.startsWith('umpin') ? r.peakMiB < GOALS.listingPeakMiB : undefined })),
      ]
      : []),
  ];
}
