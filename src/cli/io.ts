/** Small helpers for the CLI's input and output. */
import { once } from 'node:events';

/** Text to stdout, waiting when the reader is slower than the database, so nothing piles up in memory. */
export async function write(text: string, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

export const printLine = (line: string): Promise<void> => write(`${line}\n`);

/**
 * `formatTable` for rows that arrive over time, `batch` rows at a time: each
 * batch is aligned as it is printed, in columns as wide as every row so far
 * has needed (a later, wider cell widens only the lines after it). The
 * header is printed with the first batch; nothing at all when no row came.
 * Returns how many rows there were.
 */
export async function printTableStream(
  header: readonly string[], rows: AsyncIterable<readonly string[]>, batch = 500, out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const widths = header.map((cell) => cell.length);
  let pending: (readonly string[])[] = [header];
  let count = 0;
  const flush = async () => {
    for (const row of pending) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
    await write(pending.map((row) => `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}\n`).join(''), out);
    pending = [];
  };
  for await (const row of rows) {
    pending.push(row);
    count += 1;
    if (pending.length >= batch) await flush();
  }
  if (count > 0 && pending.length > 0) await flush();
  return count;
}

/** Reads all of standard input and drops one trailing newline, as `docker login --password-stdin` does. */
export async function readStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Aligned `label  value` lines for people; --json is for programs. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

export const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** Columns aligned on two spaces; the last column is not padded. */
export function formatTable(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

/**
 * `[12/340] alice` on one line of a terminal's standard error, rewritten in
 * place; nothing at all when standard error is a file or a pipe, so logs and
 * tests see only results.
 */
export function progressLine(stream: NodeJS.WriteStream = process.stderr): { update(done: number, total: number, label: string): void; clear(): void } {
  if (!stream.isTTY) return { update: () => undefined, clear: () => undefined };
  let shown = false;
  return {
    update(done, total, label) {
      stream.write(`\r\x1b[K[${done}/${total}] ${label.replace(/\p{Cc}/gu, '?')}`);
      shown = true;
    },
    /** Before other output on the same terminal, and at the end. */
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
