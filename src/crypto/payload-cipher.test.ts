import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decryptPayload, encryptPayload } from './payload-cipher.ts';

describe('payload cipher', () => {
  const key = randomBytes(32);
  const plaintext = Buffer.from('{"text":"Your new PIN is 284619"}');

  it('round-trips, and the ciphertext does not show the plaintext', () => {
    const sealed = encryptPayload(key, plaintext, 'pending:1');
    assert.ok(!sealed.includes(Buffer.from('284619')));
    assert.deepEqual(decryptPayload(key, sealed, 'pending:1'), plaintext);
  });

  it('refuses a tampered ciphertext, another row, and another key', () => {
    const sealed = encryptPayload(key, plaintext, 'pending:1');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1;
    assert.throws(() => decryptPayload(key, tampered, 'pending:1'));
    assert.throws(() => decryptPayload(key, sealed, 'pending:2'));
    assert.throws(() => decryptPayload(randomBytes(32), sealed, 'pending:1'));
  });

  it('uses a fresh IV every time', () => {
    assert.notDeepEqual(encryptPayload(key, plaintext, 'a'), encryptPayload(key, plaintext, 'a'));
  });
});
