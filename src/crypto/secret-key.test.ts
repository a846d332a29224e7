import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../config.ts';
import { loadOrCreateServerSecret } from './secret-key.ts';

describe('the server secret file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umpin-secret-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is created 0600 and read back as the same key', () => {
    const path = join(dir, 'created.key');
    const first = loadOrCreateServerSecret(path);
    assert.equal(first.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const again = loadOrCreateServerSecret(path);
    assert.equal(again.created, false);
    assert.equal(again.secret.keyId, first.secret.keyId);
  });

  for (const [mode, who] of [[0o644, 'every user on this machine'], [0o604, 'every user on this machine'], [0o620, 'its group \\(write\\)'], [0o666, 'every user on this machine and its group \\(write\\)']] as const) {
    it(`is refused at mode ${mode.toString(8)}, with the chmod that fixes it, and left as it was`, () => {
      const path = join(dir, `exposed-${mode.toString(8)}.key`);
      loadOrCreateServerSecret(path);
      const before = readFileSync(path);
      chmodSync(path, mode);
      assert.throws(() => loadOrCreateServerSecret(path), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.setting, 'UMPIN_SECRET_FILE');
        assert.match(error.message, new RegExp(`is open to ${who} \\(mode 0${mode.toString(8)}\\); run chmod 600 ${path}`));
        return true;
      });
      assert.deepEqual(readFileSync(path), before, 'the key is not touched');
      assert.equal(statSync(path).mode & 0o777, mode, 'nor its mode');
    });
  }

  it('may be readable by its group, for instances that share a service group', () => {
    const path = join(dir, 'group.key');
    const { secret } = loadOrCreateServerSecret(path);
    chmodSync(path, 0o640);
    assert.equal(loadOrCreateServerSecret(path).secret.keyId, secret.keyId);
  });
});
