/**
 * Child processes for the benchmark: servers started on a chosen loopback
 * port and timed until they answer, their memory read from /proc, and
 * one-shot children whose JSON output is the result.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO = new URL('../../', import.meta.url).pathname;

/** A free TCP port on 127.0.0.1 (the kernel's choice, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface Memory {
  /** Resident set size now, in MiB. */
  readonly rssMiB: number;
  /** The highest resident set size since the process started (VmHWM), in MiB. */
  readonly peakMiB: number;
}

export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

export interface RunningServer {
  readonly name: string;
  readonly origin: string;
  readonly pid: number;
  /** From spawn to the first answer on `readyPath`, in ms. */
  readonly startupMs: number;
  readonly output: () => string;
  memory(): Memory;
  stop(): Promise<void>;
}

export interface ServerSpec {
  readonly name: string;
  /** Arguments to node (flags, script, script arguments). */
  readonly args: readonly string[];
  readonly port: number;
  /** A GET that answers once the server is ready. */
  readonly readyPath: string;
  readonly env?: Record<string, string>;
}

const OUTPUT_KEPT = 64 * 1024;

/** Spawns `node …args`, polls `readyPath` until it answers, and times that. */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const started = performance.now();
  const child = spawn(process.execPath, spec.args, { cwd: REPO, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // Drained continuously: a full pipe would block the server's logging.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://127.0.0.1:${spec.port}`;
  const deadline = started + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${spec.name} exited before it was ready:\n${output}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.name} was not ready within 60 s:\n${output}`);
    }
    try {
      const response = await fetch(`${origin}${spec.readyPath}`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      break;
    } catch {
      await sleep(5);
    }
  }
  const startupMs = performance.now() - started;
  const pid = child.pid as number;
  return {
    name: spec.name,
    origin,
    pid,
    startupMs,
    output: () => output,
    memory: () => readMemory(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs `node …args` to completion and parses the last line of its standard output as JSON. */
export function runJsonChild<T>(args: readonly string[], env: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited with ${code}:\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as T);
      } catch (error) {
        reject(new Error(`node ${args.join(' ')} printed no JSON:\n${stdout}\n${stderr}`, { cause: error }));
      }
    });
  });
}

const CLOCK_TICK_MS = (() => {
  try {
    return 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  } catch {
    return 10;
  }
})();

/** CPU time a process has used, split into its main (JavaScript) thread and all its other threads (libuv's pool, where argon2 runs; V8's helpers). */
export interface ProcessCpu {
  readonly mainMs: number;
  readonly otherMs: number;
}

export function readProcessCpu(pid: number): ProcessCpu {
  let mainMs = 0;
  let otherMs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the command name in parentheses: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
    if (tid === String(pid)) mainMs += ms;
    else otherMs += ms;
  }
  return { mainMs, otherMs };
}

/** The whole machine's CPU time, busy and all, in ms (from /proc/stat). */
export function readMachineCpu(): { busyMs: number; totalMs: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busyMs: busy * CLOCK_TICK_MS, totalMs: (busy + idle + iowait) * CLOCK_TICK_MS };
}
