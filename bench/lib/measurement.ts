/**
 * An HTTP load measured in slices (autocannon through load.ts), with the
 * server's CPU time, the load generator's and the whole machine's over the
 * same slices; and the interleaving of several such loads round by round.
 */
import type { Request } from 'autocannon';
import { availableParallelism } from 'node:os';
import { combine, slice, type LoadResult, type Slice } from './load.ts';
import { log } from './log.ts';
import { readMachineCpu, readProcessCpu, type RunningServer } from './proc.ts';

/** How long each measurement runs: `rounds` slices of `slice` s, after `warmup` s before the first. */
export interface Schedule {
  readonly rounds: number;
  readonly slice: number;
  readonly warmup: number;
}

/** What a measurement tells its request source before each slice (loads.ts' CredentialRotation). */
export interface SliceListener {
  begin(recording: boolean): void;
}

/** An HTTP load measured in slices, with the server's CPU time and the machine's business over the same slices. */
export class Measurement {
  readonly slices: Slice[] = [];
  #serverMainMs = 0;
  #serverOtherMs = 0;
  #clientMs = 0;
  #machineBusyMs = 0;
  #machineTotalMs = 0;

  constructor(
    readonly name: string,
    readonly server: RunningServer,
    readonly connections: number,
    readonly expectStatus: number,
    readonly requestsFor: (index: number, connections: number) => Request[],
    readonly options: {
      /** One loopback source address per connection: umpin limits SOAP requests per client address (120 a minute). */
      readonly spreadSources?: boolean;
      /** Told before each slice whether it is measured. */
      readonly rotation?: SliceListener;
    } = {},
  ) {}

  async run(seconds: number, record = true): Promise<void> {
    const server = readProcessCpu(this.server.pid);
    const machine = readMachineCpu();
    const client = process.cpuUsage();
    this.options.rotation?.begin(record);
    const result = await slice({
      url: this.server.origin, connections: this.connections, duration: seconds, requestsFor: this.requestsFor, expectStatus: this.expectStatus, spreadSources: this.options.spreadSources,
    });
    if (!record) return;
    const serverAfter = readProcessCpu(this.server.pid);
    const machineAfter = readMachineCpu();
    const clientUsed = process.cpuUsage(client);
    this.slices.push(result);
    this.#serverMainMs += serverAfter.mainMs - server.mainMs;
    this.#serverOtherMs += serverAfter.otherMs - server.otherMs;
    this.#clientMs += (clientUsed.user + clientUsed.system) / 1000;
    this.#machineBusyMs += machineAfter.busyMs - machine.busyMs;
    this.#machineTotalMs += machineAfter.totalMs - machine.totalMs;
  }

  result(): MeasuredLoad {
    const load = combine(this.slices, this.connections, this.expectStatus);
    if (load.unexpected > 0) log(`${this.name}: ${load.unexpected} unexpected answers ${JSON.stringify(load.statusCodes)}`);
    const wallMs = load.seconds * 1000;
    const cores = availableParallelism();
    return {
      ...load,
      cpu: {
        serverMainMsPerRequest: this.#serverMainMs / Math.max(1, load.requests),
        serverOtherMsPerRequest: this.#serverOtherMs / Math.max(1, load.requests),
        serverCores: (this.#serverMainMs + this.#serverOtherMs) / wallMs,
        clientCores: this.#clientMs / wallMs,
        machineBusyCores: (this.#machineBusyMs / Math.max(1, this.#machineTotalMs)) * cores,
      },
    };
  }
}

export interface MeasuredLoad extends LoadResult {
  readonly cpu: {
    /** CPU ms of the server's main (JavaScript) thread per request. */
    readonly serverMainMsPerRequest: number;
    /** CPU ms of the server's other threads (argon2 on libuv's pool, GC helpers, fs) per request. */
    readonly serverOtherMsPerRequest: number;
    /** Cores' worth of CPU used by the server, the load generator (this process) and the whole machine. */
    readonly serverCores: number;
    readonly clientCores: number;
    readonly machineBusyCores: number;
  };
}

/**
 * Runs `rounds` rounds of one slice per measurement, in alternating order;
 * each measurement is warmed up just before its first slice (so that what
 * the warm-up puts in umpin's credential cache is still there for the last).
 */
export async function interleave(group: string, schedule: Schedule, steps: ReadonlyArray<{ name: string; run: (seconds: number, record: boolean) => Promise<void> }>): Promise<void> {
  const { rounds, slice: seconds, warmup } = schedule;
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? steps : [...steps].reverse();
    log(`${group}: round ${round + 1}/${rounds}, ${seconds} s each${round === 0 ? ` after ${warmup} s of warm-up` : ''}: ${order.map((s) => s.name).join(', ')}`);
    for (const step of order) {
      if (round === 0) await step.run(warmup, false);
      await step.run(seconds, true);
    }
  }
}
