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

/**
 * Decrypts with whichever key of the server keyring sealed it (current first): a mail sealed before
 * a rotation, or by an instance not yet restarted with the new ring, still opens. GCM's tag tells the
 * right key from a wrong one. Throws when no key of the ring opens it.
 */
export function decryptPayloadWithAny(keys: readonly { readonly keyId: string; readonly payloadKey: Buffer }[], sealed: Buffer, associatedData: string): { plaintext: Buffer; keyId: string } {
  for (const key of keys) {
    try {
      return { plaintext: decryptPayload(key.payloadKey, sealed, associatedData), keyId: key.keyId };
    } catch (error) {
      if (error instanceof TypeError) throw error;
    }
  }
  throw new Error('no key of the server keyring opens this sealed payload');
}
