/**
 * API keys for the phone-side API (the PBX). A key is shown once, as
 * `umpin_<id>_<secret>`; only an HMAC of its secret under the pepper is
 * stored, and it is compared in constant time. Keys carry 256 bits of
 * randomness, so a fast keyed hash is enough (no KDF on the hot path).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgument } from '../errors.ts';
import type { ApiKeyRecord } from '../store/index.ts';
import { ADMIN, type Services } from './services.ts';

const KEY_PATTERN = /^umpin_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * Made under the current server key, whose id is stored with it; checked under the key it names
 * (docs/secret-rotation.md), and re-made under the current key when a presented key proves right.
 */
function keyVerifier(pepper: Buffer, secret: string): Buffer {
  return createHmac('sha256', pepper).update(`api-key:${secret}`).digest();
}

export async function createApiKey(services: Services, name: string): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new InvalidArgument('An API key name is 1–64 letters, digits, dots, dashes or underscores, such as "asterisk-1".');
  }
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  if (!(await services.store.addApiKey({ id, name, verifier: keyVerifier(services.keyring.pepper, secret), keyId: services.keyring.keyId }, services.now()))) {
    throw new InvalidArgument(`An API key named "${name}" exists already; revoke it first or choose another name.`);
  }
  await services.store.appendAudit({ at: services.now(), event: 'apikey.add', outcome: 'success', login: null, ...ADMIN, detail: { name, id } });
  return `umpin_${id}_${secret}`;
}

export function listApiKeys(services: Services): Promise<ApiKeyRecord[]> {
  return services.store.listApiKeys();
}

export async function revokeApiKey(services: Services, name: string): Promise<void> {
  if (!(await services.store.revokeApiKey(name, services.now()))) {
    throw new InvalidArgument(`There is no active API key named "${name}"; list them with: umpin apikey list`);
  }
  await services.store.appendAudit({ at: services.now(), event: 'apikey.revoke', outcome: 'success', login: null, ...ADMIN, detail: { name } });
}

/** True for an active key. Malformed, unknown, revoked and wrong keys are all just false. */
export async function isValidApiKey(services: Services, presented: string): Promise<boolean> {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return false;
  const id = match[1] as string;
  const stored = await services.store.findApiKeyVerifier(id);
  const key = stored && services.keyring.keys.find((k) => k.keyId === stored.keyId);
  if (stored === undefined || key === undefined) return false;
  const candidate = keyVerifier(key.pepper, match[2] as string);
  if (stored.verifier.length !== candidate.length || !timingSafeEqual(stored.verifier, candidate)) return false;
  if (key.keyId !== services.keyring.keyId) {
    await services.store.replaceApiKeyVerifier(id, stored.verifier, { verifier: keyVerifier(services.keyring.pepper, match[2] as string), keyId: services.keyring.keyId });
  }
  return true;
}
