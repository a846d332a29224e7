/**
 * One command run to completion and measured from outside: wall time from
 * spawn to exit, and (through bench/lib/report-usage.mjs, loaded into the
 * child) its CPU time and peak RSS. Output is discarded, as when a listing
 * goes to a file. Bench code.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO } from './proc.ts';

const REPORTER = join(REPO, 'bench/lib/report-usage.mjs');

export interface CommandRun {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakMiB: number;
}

/** Runs `node --import report-usage <args>` with `env`; rejects on a non-zero exit, with its stderr. */
export async function runMeasured(args: readonly string[], env: Record<string, string>, timeoutMs = 600_000): Promise<CommandRun> {
  const usageFile = join(tmpdir(), `umpin-bench-usage-${process.pid}-${Math.random().toString(36).slice(2)}.jsonl`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', REPORTER, ...args], {
    cwd: REPO, env: { ...process.env, ...env, BENCH_USAGE_FILE: usageFile }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-8192)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const wallMs = performance.now() - started;
  clearTimeout(timer);
  try {
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}:\n${stderr}`);
    const usage = JSON.parse(readFileSync(usageFile, 'utf8').trim().split('\n').pop() ?? '') as { maxRssKiB: number; userMicros: number; systemMicros: number };
    return { wallMs, cpuMs: (usage.userMicros + usage.systemMicros) / 1000, peakMiB: usage.maxRssKiB / 1024 };
  } finally {
    rmSync(usageFile, { force: true });
  }
}

/** The median of each figure over the runs. */
export function medianRun(runs: readonly CommandRun[]): CommandRun & { readonly runs: number } {
  const median = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  };
  return { wallMs: median(runs.map((r) => r.wallMs)), cpuMs: median(runs.map((r) => r.cpuMs)), peakMiB: median(runs.map((r) => r.peakMiB)), runs: runs.length };
}
