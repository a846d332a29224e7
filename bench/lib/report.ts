/** The tables the bench prints and writes to bench/results/latest.md: loads with their ratios and goals, processes, and the other goals. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeasuredLoad } from './measurement.ts';
import type { Memory } from './proc.ts';

export interface Row {
  readonly label: string;
  readonly load?: MeasuredLoad;
  readonly value?: string;
  /** The ratio the issue asks for: requests/s against the reference's, measured in the same run. */
  readonly ratio?: number;
  readonly ratioOf?: string;
  /**
   * The same ratio from CPU time, which the machine's noise moves much less:
   * the reference's CPU per request (the KDF's, or the bare handler's) over
   * the server's. On a quiet machine where both are CPU-bound they agree.
   */
  readonly cpuRatio?: number;
  readonly goal?: number;
}

export function verdict(row: Row): string {
  if (row.load && row.load.unexpected > 0) {
    const busy = row.load.statusCodes['503'] ?? 0;
    return `INVALID: ${row.load.unexpected} unexpected answers${busy > 0 ? ` (${busy} × 503: busy or rate-limited)` : ''}`;
  }
  if (row.goal === undefined || row.ratio === undefined) return '';
  const met = row.ratio >= row.goal;
  const cpuMet = row.cpuRatio === undefined ? met : row.cpuRatio >= row.goal;
  return `${met ? 'met' : 'MISSED'}${cpuMet === met ? '' : ` (by CPU: ${cpuMet ? 'met' : 'missed'}; noisy)`}`;
}

export function table(head: readonly string[], cells: ReadonlyArray<readonly string[]>, markdown: boolean): string {
  if (markdown) {
    const line = (c: readonly string[]) => `| ${c.join(' | ')} |`;
    return [line(head), line(head.map(() => '---')), ...cells.map(line)].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) => c.map((x, i) => x.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** `cpuMsPerHash`: the KDF bound's CPU per hash, to estimate from a load's other-thread CPU how many hashes each request cost. */
export function formatRows(rows: readonly Row[], cpuMsPerHash: number, markdown: boolean): string {
  const cpu = (load: MeasuredLoad) => {
    const main = load.cpu.serverMainMsPerRequest;
    const other = load.cpu.serverOtherMsPerRequest;
    return `${main.toFixed(2)} + ${other.toFixed(2)}${other >= cpuMsPerHash / 2 ? ` (≈ ${(other / cpuMsPerHash).toFixed(1)} hashes)` : ''}`;
  };
  return table(
    ['measurement', 'req/s', 'p50 ms', 'p99 ms', 'server CPU ms/req: main + other threads', 'ratio (req/s)', 'ratio (CPU)', 'goal', 'verdict'],
    rows.map((r) => [
      r.label,
      r.load ? r.load.rps.toFixed(1) : r.value ?? '',
      r.load ? r.load.latencyMs.p50.toFixed(1) : '',
      r.load ? r.load.latencyMs.p99.toFixed(1) : '',
      r.load ? cpu(r.load) : '',
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}${r.ratioOf ? ` ${r.ratioOf}` : ''}`,
      r.cpuRatio === undefined ? '' : r.cpuRatio.toFixed(2),
      r.goal === undefined ? '' : `≥ ${r.goal}`,
      verdict(r),
    ]),
    markdown,
  );
}

export interface GoalRow {
  readonly label: string;
  readonly value: string;
  readonly goal: string;
  /** undefined: no goal for this row (a reference, or B). */
  readonly met: boolean | undefined;
}

export function formatGoals(rows: readonly GoalRow[], markdown: boolean): string {
  return table(['start-up, CLI, memory, size', 'figure', 'goal', 'verdict'], rows.map((r) => [r.label, r.value, r.goal, r.met === undefined ? '' : r.met ? 'met' : 'MISSED']), markdown);
}

export interface ProcessFigures {
  readonly startupMs: number;
  readonly rest: Memory;
  readonly peak: Memory;
}

export function formatProcesses(processes: Record<string, ProcessFigures>, markdown: boolean): string {
  return table(
    ['process', 'start-up to ready ms', 'RSS at rest MiB', 'RSS peak MiB'],
    Object.entries(processes).map(([name, p]) => [name, p.startupMs.toFixed(0), p.rest.rssMiB.toFixed(1), p.peak.peakMiB.toFixed(1)]),
    markdown,
  );
}

/** The run's figures in words and tables, for stdout and latest.md. */
export interface ReportText {
  readonly machineLine: string;
  readonly settingsLine: string;
  readonly postgresLine: string;
  readonly noiseLine: string;
  readonly rows: readonly Row[];
  /** The KDF bound's CPU per hash (see formatRows). */
  readonly cpuMsPerHash: number;
  readonly processes: Record<string, ProcessFigures>;
  readonly goalRows: readonly GoalRow[];
}

interface RunIdentity {
  readonly at: string;
  readonly commit: string;
  readonly seconds: number;
}

export function printReport(report: RunIdentity, text: ReportText): void {
  console.log(`\numpin benchmark, ${report.at}, commit ${report.commit}, ${report.seconds.toFixed(0)} s`);
  console.log(`machine: ${text.machineLine}`);
  console.log(`${text.settingsLine}\n`);
  console.log(formatRows(text.rows, text.cpuMsPerHash, false));
  console.log('');
  console.log(formatProcesses(text.processes, false));
  console.log('');
  console.log(formatGoals(text.goalRows, false));
  console.log(`\n${text.postgresLine}\n${text.noiseLine}`);
}

/** bench/results/latest.json (the whole report), one line of history.jsonl, and latest.md. */
export function writeReport(resultsDir: string, report: RunIdentity, text: ReportText): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  appendFileSync(join(resultsDir, 'history.jsonl'), `${JSON.stringify(report)}\n`);
  writeFileSync(join(resultsDir, 'latest.md'), [
    `Run ${report.at} (commit ${report.commit}), ${report.seconds.toFixed(0)} s.`,
    '',
    `Machine: ${text.machineLine}.`,
    '',
    `${text.settingsLine}.`,
    '',
    formatRows(text.rows, text.cpuMsPerHash, true),
    '',
    formatProcesses(text.processes, true),
    '',
    formatGoals(text.goalRows, true),
    '',
    `${text.postgresLine}.`,
    '',
    text.noiseLine,
    '',
  ].join('\n'));
}
