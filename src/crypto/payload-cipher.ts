/**
 * AES-256-GCM for the one secret that must be kept reversibly: a new PIN
 * waiting in a pending mail. Layout: version(1) | iv(12) | tag(16) | ciphertext.
 * The associated data binds a ciphertext to its row, so it cannot be moved.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;

export function encryptPayload(key: Buffer, plaintext: Buffer, associatedData: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export function decryptPayload(key: Buffer, sealed: Buffer, associatedData: string): Buffer {
  if (sealed.length < 29 || sealed[0] !== VERSION) throw new TypeError('sealed payload has an unknown layout');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(sealed.subarray(13, 29));
  return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]);
}
