/**
 * Load slices with autocannon. Each connection can be given its own rotation
 * of requests, so that one connection's credentials (mailboxes) are never
 * shared with another's. Latencies are kept per request so that slices of
 * one measurement taken at different times (interleaved with other
 * measurements, against the machine's noise) combine exactly.
 */
import autocannon, { type Client, type Request } from 'autocannon';
import net from 'node:net';

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  /** Seconds measured. */
  readonly duration: number;
  /** The requests connection `index` sends, in rotation. */
  readonly requestsFor: (index: number, connections: number) => Request[];
  /** The status every answer should have; any other is counted as unexpected. */
  readonly expectStatus: number;
  /**
   * Give each connection its own loopback source address (127.0.1.1–254, in
   * turn across slices), so that a per-client-address rate limit does not
   * cap a throughput measurement.
   */
  readonly spreadSources?: boolean;
}

/**
 * autocannon has no option for the local address; it calls
 * `net.connect(port, host)`, which is wrapped here while a slice that
 * spreads its sources runs.
 */
let spreading = false;
let nextSource = 0;
const connect = net.connect;
net.connect = function (this: unknown, ...args: unknown[]) {
  if (spreading && typeof args[0] === 'number' && typeof args[1] === 'string') {
    const localAddress = `127.0.1.${(nextSource++ % 254) + 1}`;
    return connect({ port: args[0], host: args[1], localAddress });
  }
  return (connect as (...a: unknown[]) => net.Socket).apply(net, args);
} as typeof net.connect;

export interface Slice {
  readonly seconds: number;
  readonly latencies: number[];
  readonly statusCodes: Record<string, number>;
  readonly errors: number;
  readonly timeouts: number;
}

export interface LoadResult {
  readonly connections: number;
  readonly slices: number;
  readonly seconds: number;
  readonly requests: number;
  readonly rps: number;
  /** Requests per second of each slice, in order: the spread shows the machine's noise. */
  readonly sliceRps: readonly number[];
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly mean: number; readonly max: number };
  readonly statusCodes: Record<string, number>;
  /** Answers with another status than expected, plus errors and timeouts. */
  readonly unexpected: number;
}

/** One bounded autocannon run; answers are counted only while it runs. */
export async function slice(spec: LoadSpec): Promise<Slice> {
  let next = 0;
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  spreading = spec.spreadSources === true;
  // Without a callback autocannon returns its event emitter made thenable; the types know only one of the two.
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.duration,
    timeout: 30,
    setupClient: (client: Client) => {
      client.setRequests(spec.requestsFor(next % spec.connections, spec.connections));
      next += 1;
    },
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  instance.on('response', (_client: Client, statusCode: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
  });
  const result = await instance.then((r) => r, (error: unknown) => {
    spreading = false;
    throw error;
  });
  spreading = false;
  return { seconds: result.duration, latencies, statusCodes, errors: result.errors, timeouts: result.timeouts };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

const round = (x: number) => Math.round(x * 10) / 10;

export function combine(slices: readonly Slice[], connections: number, expectStatus: number): LoadResult {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const statusCodes: Record<string, number> = {};
  for (const s of slices) for (const [code, n] of Object.entries(s.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const seconds = slices.reduce((a, s) => a + s.seconds, 0);
  const requests = latencies.length;
  const failures = slices.reduce((a, s) => a + s.errors + s.timeouts, 0);
  return {
    connections,
    slices: slices.length,
    seconds,
    requests,
    rps: requests / seconds,
    sliceRps: slices.map((s) => round(s.latencies.length / s.seconds)),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
      mean: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, requests)),
      max: round(latencies.at(-1) ?? NaN),
    },
    statusCodes,
    unexpected: requests - (statusCodes[String(expectStatus)] ?? 0) + failures,
  };
}
