/**
 * The KDF bound: raw argon2id hashes per second at the service's parameters
 * (DEFAULT_KDF_COST, 32-byte output, 32-byte secret), with as many hashes
 * in flight as the service allows (its KDF concurrency), in one Node process
 * like the server. Prints one JSON line.
 *
 * Usage: node --import tsx bench/kdf-bound.ts <concurrency> <seconds> [warm-up seconds]
 */
import { hashRaw } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DEFAULT_KDF_COST } from '../src/crypto/kdf.ts';

const [concurrency, seconds, warmup] = process.argv.slice(2).map(Number);
if (!concurrency || !seconds) throw new TypeError('usage: kdf-bound.ts <concurrency> <seconds> [warm-up seconds]');

const options = { ...DEFAULT_KDF_COST, algorithm: 2, outputLen: 32, secret: randomBytes(32) };

/** Keeps `concurrency` hashes in flight until `until`; counts those that finished by then. */
async function run(until: number): Promise<{ hashes: number; busyMs: number }> {
  let hashes = 0;
  let busyMs = 0;
  const lane = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      await hashRaw('123456', { ...options, salt: randomBytes(16) });
      const ended = performance.now();
      if (ended <= until) {
        hashes += 1;
        busyMs += ended - started;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { hashes, busyMs };
}

await run(performance.now() + (warmup ?? 1) * 1000);
const cpuBefore = process.cpuUsage();
const started = performance.now();
const { hashes, busyMs } = await run(started + seconds * 1000);
const elapsed = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(`${JSON.stringify({
  concurrency,
  seconds,
  hashes,
  hashesPerSecond: hashes / seconds,
  /** Wall time of one hash, from call to result. */
  meanHashMs: busyMs / hashes,
  /** CPU time of the whole process (all threads) per hash. */
  cpuMsPerHash: (cpu.user + cpu.system) / 1000 / hashes,
  elapsed,
})}\n`);
