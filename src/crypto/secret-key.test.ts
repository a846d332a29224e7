import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../config.ts';
import { deriveServerSecret, loadOrCreateServerSecret, newServerKey, writeKeyringFile } from './secret-key.ts';

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

  it('is a keyring: the first line is the current key, the others previous keys, and one line is a ring of one', () => {
    const path = join(dir, 'ring.key');
    const [a, b, c] = [newServerKey(), newServerKey(), newServerKey()];
    writeFileSync(path, `${a.toString('base64')}\n\n${b.toString('base64')}\n${c.toString('base64')}\n`, { mode: 0o600 });
    const { secret, created } = loadOrCreateServerSecret(path);
    assert.equal(created, false);
    assert.deepEqual(secret.keys.map((k) => k.keyId), [a, b, c].map((k) => deriveServerSecret(k).keyId));
    assert.equal(secret.keyId, deriveServerSecret(a).keyId);
    assert.deepEqual(secret.pepper, deriveServerSecret(a).pepper);
    assert.deepEqual(secret.previous.map((k) => k.keyId), [b, c].map((k) => deriveServerSecret(k).keyId));
    writeFileSync(path, `${a.toString('base64')}\n`);
    const single = loadOrCreateServerSecret(path).secret;
    assert.deepEqual([single.keyId, single.previous.length], [deriveServerSecret(a).keyId, 0], 'the key id of a one-key file is what it always was');
  });

  for (const [name, content, message] of [
    ['a short key', (k: string) => `${k}\nQUJD\n`, /line 2 is not a 32-byte base64 key/],
    ['a repeated key', (k: string) => `${k}\n${k}\n`, /line 2 repeats a key/],
    ['no key', () => '\n\n', /holds no key/],
  ] as const) {
    it(`refuses ${name}, naming the line`, () => {
      const path = join(dir, `bad-${name.replaceAll(' ', '-')}.key`);
      writeFileSync(path, content(newServerKey().toString('base64')), { mode: 0o600 });
      assert.throws(() => loadOrCreateServerSecret(path), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.setting, 'UMPIN_SECRET_FILE');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('is replaced whole, keeping its mode, with no temporary file left behind', () => {
    const sub = mkdtempSync(join(dir, 'write-'));
    const path = join(sub, 'secret.key');
    const { keys } = loadOrCreateServerSecret(path);
    chmodSync(path, 0o640);
    const next = [newServerKey(), ...keys];
    writeKeyringFile(path, next);
    assert.equal(readFileSync(path, 'utf8'), next.map((k) => `${k.toString('base64')}\n`).join(''));
    assert.equal(statSync(path).mode & 0o777, 0o640, 'group read stays for a service group');
    assert.deepEqual(readdirSync(sub), ['secret.key']);
    assert.deepEqual(loadOrCreateServerSecret(path).secret.previous.map((k) => k.keyId), [deriveServerSecret(keys[0] as Buffer).keyId]);
  });
});
