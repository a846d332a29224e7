import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMAND_FILES, loadAllCommands, loadCommandsFor } from './commands.ts';

describe('the command table, loaded file by file', () => {
  it('each file claims exactly the first words of its commands, and no word is claimed twice', async () => {
    const claimed = new Map<string, number>();
    for (const [index, file] of COMMAND_FILES.entries()) {
      const words = new Set((await file.load()).map((c) => c.name.split(' ')[0] as string));
      assert.deepEqual([...words].sort(), [...file.words].sort(), `file ${index} claims ${file.words.join(', ')} but its commands start with ${[...words].join(', ')}`);
      for (const word of file.words) {
        assert.equal(claimed.get(word), undefined, `"${word}" is claimed by files ${claimed.get(word)} and ${index}`);
        claimed.set(word, index);
      }
    }
  });

  it('a first word finds the same commands as the whole table, and an unknown word the whole table', async () => {
    const all = await loadAllCommands();
    assert.equal(new Set(all.map((c) => c.name)).size, all.length, 'command names are unique');
    for (const word of new Set(all.map((c) => c.name.split(' ')[0] as string))) {
      const loaded = (await loadCommandsFor(word)).filter((c) => c.name.split(' ')[0] === word).map((c) => c.name);
      assert.deepEqual(loaded, all.filter((c) => c.name.split(' ')[0] === word).map((c) => c.name));
    }
    assert.deepEqual((await loadCommandsFor('no-such-word')).map((c) => c.name), all.map((c) => c.name));
  });
});
