/**
 * `npm run bench -- --cpu-prof <load>`: one load against a server started
 * with --cpu-prof, and a summary of where its main thread spent the time
 * (bench/results/profile-<load>.txt, .json and .cpuprofile).
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialRotation, MALFORMED, SERVICE_PATH, WSDL_GET, logonRequests, probeMalformed } from '../loads.ts';
import { formatProfileSummary, summariseCpuProfile } from './cpu-profile.ts';
import { log } from './log.ts';
import { Measurement, type Schedule } from './measurement.ts';
import { startServer } from './proc.ts';
import type { Provisioned } from './provision.ts';

export const PROFILED = ['resetpin', 'resetpin-cached', 'logon', 'malformed', 'wsdl'] as const;
export type Profiled = (typeof PROFILED)[number];

export interface ProfileRun {
  readonly umpinBin: string;
  readonly env: Record<string, string>;
  readonly port: number;
  readonly provisioned: Provisioned;
  /** A scratch directory; the profile is written under it. */
  readonly root: string;
  readonly schedule: Schedule;
  readonly connections: { readonly kdf: number; readonly floor: number };
  readonly resultsDir: string;
}

export async function profile(which: Profiled, run: ProfileRun): Promise<void> {
  const { umpinBin, env, port, provisioned, root, resultsDir } = run;
  const { kdf: kdfConnections, floor: floorConnections } = run.connections;
  const { rounds, slice, warmup } = run.schedule;
  const dir = join(root, 'profile');
  const umpin = await startServer({ name: 'umpin (profiled)', port, env, readyPath: `${SERVICE_PATH}?wsdl`, args: ['--cpu-prof', '--cpu-prof-dir', dir, umpinBin, 'serve'] });
  try {
    const measurement = {
      resetpin: () => {
        const fresh = new CredentialRotation(provisioned.freshAccounts, true);
        return new Measurement('ResetPIN, auth not cached', umpin, kdfConnections, 200, fresh.requestsFor, { spreadSources: true, rotation: fresh });
      },
      'resetpin-cached': () => {
        const cached = new CredentialRotation(provisioned.resetAccounts, false);
        return new Measurement('ResetPIN, auth cached', umpin, kdfConnections, 200, cached.requestsFor, { spreadSources: true, rotation: cached });
      },
      logon: () => new Measurement('phone logon', umpin, kdfConnections, 200, logonRequests(provisioned)),
      malformed: async () => new Measurement('malformed envelope', umpin, floorConnections, await probeMalformed(umpin.origin), () => [MALFORMED]),
      wsdl: () => new Measurement('WSDL GET', umpin, floorConnections, 200, () => [WSDL_GET]),
    }[which];
    const m = await measurement();
    log(`profiling the server: ${m.name}, warm-up ${warmup} s, then ${slice * rounds} s`);
    await m.run(warmup, false);
    const fromMicros = Number(process.hrtime.bigint() / 1000n);
    await m.run(slice * rounds, true);
    const toMicros = Number(process.hrtime.bigint() / 1000n);
    await umpin.stop();
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile was written:\n${umpin.output()}`);
    const summary = summariseCpuProfile(join(dir, file), { fromMicros, toMicros });
    const load = m.result();
    const text = [
      `CPU profile of the umpin server (main thread) during ${m.name}: ${load.rps.toFixed(1)} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms;`,
      `server CPU per request: main thread ${load.cpu.serverMainMsPerRequest.toFixed(2)} ms, other threads ${load.cpu.serverOtherMsPerRequest.toFixed(2)} ms (the profiler itself adds some)`,
      formatProfileSummary(summary),
    ].join('\n');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `profile-${which}.txt`), `${text}\n`);
    writeFileSync(join(resultsDir, `profile-${which}.json`), `${JSON.stringify({ load, summary, window: { fromMicros, toMicros } }, null, 2)}\n`);
    copyFileSync(join(dir, file), join(resultsDir, `profile-${which}.cpuprofile`));
    console.log(text);
    log(`written: bench/results/profile-${which}.txt, .json and .cpuprofile (opens in Chrome DevTools)`);
  } finally {
    await umpin.stop();
  }
}
