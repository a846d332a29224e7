/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per
 * function and per area (a package, a directory of src/, Node's internals,
 * GC, idle). Only the main thread is sampled: argon2 runs on libuv's thread
 * pool and shows up here as idle time of the main thread.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  /** Share of the main thread's busy (non-idle) time. */
  readonly busyShare: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  readonly areas: readonly SelfTime[];
  readonly functions: readonly SelfTime[];
}

function area(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  // A package the build bundled into dist/vendor/ (scripts/build.mjs) is still that package.
  const vendored = /\/dist\/vendor\/(.+)\.js$/.exec(url)?.[1];
  if (vendored) return vendored;
  // dist/ mirrors src/: the built server's modules are reported as their sources.
  const src = /\/(?:src|dist)\/([^/]+)\//.exec(url)?.[1];
  if (src) return `umpin src/${src}`;
  return url.replace(/^file:\/\/.*\/(src|bench|bin)\//, '$1/');
}

function label(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^file:\/\/.*?\/(node_modules\/|src\/|dist\/|bench\/|bin\/)/, '$1');
  return file === '' ? frame.functionName || '(anonymous)' : `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

/**
 * `window` (µs on the monotonic clock that V8's profiler and
 * `process.hrtime.bigint()` share) keeps only the samples taken inside it,
 * e.g. one load phase of a server that was profiled from its start.
 */
export function summariseCpuProfile(file: string, window?: { fromMicros: number; toMicros: number }, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  // Each sample's time is the delta to the next sample.
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromMicros || at > window.toMicros)) return;
    first = Math.min(first, at);
    last = Math.max(last, at);
    const delta = profile.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, micros] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += micros;
    if (node.callFrame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + micros);
    const f = label(node.callFrame);
    functions.set(f, (functions.get(f) ?? 0) + micros);
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>) => [...m.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)
    .map(([name, micros]) => ({ name, ms: micros / 1000, busyShare: busy > 0 ? micros / busy : 0 }));
  return { wallMs: window ? (last - first) / 1000 : (profile.endTime - profile.startTime) / 1000, idleMs: idle / 1000, busyMs: busy / 1000, areas: rank(areas), functions: rank(functions) };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const lines = [
    `main thread: ${summary.wallMs.toFixed(0)} ms profiled, busy ${summary.busyMs.toFixed(0)} ms (${pct(summary.busyMs / summary.wallMs)}), idle ${summary.idleMs.toFixed(0)} ms`,
    '',
    'self time by area (share of busy time):',
    ...summary.areas.map((a) => `  ${pct(a.busyShare).padStart(7)}  ${a.ms.toFixed(0).padStart(6)} ms  ${a.name}`),
    '',
    'top functions by self time (share of busy time):',
    ...summary.functions.map((f) => `  ${pct(f.busyShare).padStart(7)}  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`),
  ];
  return lines.join('\n');
}
