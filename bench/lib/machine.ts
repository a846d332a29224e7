/** What the report says about the run itself: the machine, and the commit measured. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { REPO } from './proc.ts';

export function describeMachine(dataDir: string) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  let dataDirFs = 'unknown';
  try {
    dataDirFs = execFileSync('df', ['--output=fstype', dataDir], { encoding: 'utf8' }).trim().split('\n').pop() ?? 'unknown';
  } catch {
    // df is optional
  }
  return {
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    dataDirFs,
    loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

export function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} with uncommitted changes` : commit;
  } catch {
    return 'unknown';
  }
}
