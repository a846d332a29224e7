/** The KDF bound: raw argon2id hashes/s measured by bench/kdf-bound.ts in a child process, one slice at a time. */
import { runJsonChild } from './proc.ts';

const TSX = ['--import', 'tsx'];

export interface KdfSlice {
  readonly concurrency: number;
  readonly seconds: number;
  readonly hashes: number;
  readonly hashesPerSecond: number;
  readonly meanHashMs: number;
  readonly cpuMsPerHash: number;
}

export function kdfSlice(concurrency: number, seconds: number, warmup: number): Promise<KdfSlice> {
  return runJsonChild<KdfSlice>([...TSX, 'bench/kdf-bound.ts', String(concurrency), String(seconds), String(warmup)]);
}
