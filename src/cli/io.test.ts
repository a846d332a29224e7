import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { formatTable, printTableStream } from './io.ts';

async function* fromArray(rows: ReadonlyArray<readonly string[]>) {
  yield* rows;
}

async function printed(header: readonly string[], rows: ReadonlyArray<readonly string[]>, batch: number): Promise<{ output: string; count: number }> {
  const out = new PassThrough();
  const output = text(out);
  const count = await printTableStream(header, fromArray(rows), batch, out);
  out.end();
  return { output: await output, count };
}

describe('printTableStream', () => {
  const header = ['LOGIN', 'EXTENSION', 'FLAGS'];

  it('prints what formatTable prints when every row fits one batch', async () => {
    const rows = [['alice', '36697', '-'], ['bob', '100', 'locked']];
    assert.deepEqual(await printed(header, rows, 500), { output: `${formatTable([header, ...rows])}\n`, count: 2 });
  });

  it('aligns each batch to the widest cell so far: a later, wider cell widens only the lines from its batch on', async () => {
    const rows = [['al', '1', '-'], ['bo', '2', '-'], ['a-much-longer-login', '3', 'no-pin'], ['cy', '4', '-']];
    const { output, count } = await printed(header, rows, 2);
    assert.equal(count, 4);
    assert.equal(output, [
      'LOGIN  EXTENSION  FLAGS', // the header and the first row: one batch of two
      'al     1          -',
      'bo                   2          -',
      'a-much-longer-login  3          no-pin',
      'cy                   4          -',
      '',
    ].join('\n'));
  });

  it('prints nothing, not even the header, when no row comes', async () => {
    assert.deepEqual(await printed(header, [], 500), { output: '', count: 0 });
  });
});
