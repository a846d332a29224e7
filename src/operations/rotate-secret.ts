/**
 * Server secret rotation (docs/secret-rotation.md): `umpin secret rotate`, `status` and `retire`.
 * A rotation puts a new key at the head of the keyring file and keeps the old ones behind it, so
 * every verifier stays verifiable; verifiers move to the new key as they are used (sign-in, phone
 * logon, API key use) or re-made (PIN and password changes), and sealed mails are re-sealed at once.
 * A previous key leaves the ring only when nothing uses it any more.
 */
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { decryptPayloadWithAny, encryptPayload } from '../crypto/payload-cipher.ts';
import { deriveServerKeyring, newServerKey, readKeyringFile, writeKeyringFile, type ServerKeyring } from '../crypto/secret-key.ts';
import { InvalidArgument } from '../errors.ts';
import type { AuditEvent, PinStore, VerifierKeyCounts } from '../store/index.ts';
import { ADMIN, type Services } from './services.ts';

/** What one key protects: verifiers by kind, and the sealed mails only it opens. */
export interface KeyUsage {
  readonly keyId: string;
  /** current: makes new verifiers; previous: kept to verify old ones; missing: in use but not in the ring (retired by force). */
  readonly role: 'current' | 'previous' | 'missing';
  readonly passwords: number;
  readonly pins: number;
  readonly history: number;
  readonly pending: number;
  readonly apiKeys: number;
  readonly sealedMail: number;
}

export interface SecretStatus {
  readonly currentKeyId: string;
  readonly boundKeyId: string | undefined;
  /** The ring's keys in file order, then any key id in use that the ring lacks. */
  readonly keys: readonly KeyUsage[];
}

export interface RotationResult {
  readonly from: string;
  readonly to: string;
  /** The new ring's key ids, current first. */
  readonly keyIds: readonly string[];
  readonly resealed: number;
}

export async function describeSecret(services: Services): Promise<SecretStatus> {
  const ring = services.keyring;
  const counts = await services.store.countVerifiersByKey();
  const sealed = await countSealedMailByKey(services.store, ring);
  const inUse = new Set([...Object.values(counts).flatMap((byKey) => Object.keys(byKey)), ...Object.keys(sealed)]);
  const missing = [...inUse].filter((keyId) => !ring.keys.some((k) => k.keyId === keyId)).sort();
  const usage = (keyId: string, role: KeyUsage['role']): KeyUsage => ({ keyId, role, ...countsFor(counts, keyId), sealedMail: sealed[keyId] ?? 0 });
  return {
    currentKeyId: ring.keyId,
    boundKeyId: await services.store.findServerKeyId(),
    keys: [usage(ring.keyId, 'current'), ...ring.previous.map((k) => usage(k.keyId, 'previous')), ...missing.map((keyId) => usage(keyId, 'missing'))],
  };
}

/**
 * Makes a new key and puts it at the head of the ring. The file is written first and the database
 * rebound after: a stop between the two leaves a ring that still holds the key the database is bound
 * to, and the next start finishes the rotation (open-services.ts). The other order could lose the new key.
 */
export async function rotateSecret(services: Services, secretFile: string): Promise<RotationResult> {
  return withKeyringLock(secretFile, async () => {
    const keys = readKeyringFile(secretFile);
    const ring = checkUnchanged(services, deriveServerKeyring(keys), secretFile);
    const nextKeys = [newServerKey(), ...keys];
    const next = deriveServerKeyring(nextKeys);
    writeKeyringFile(secretFile, nextKeys);
    let resealed = 0;
    const outcome = await services.store.rebindServerKey(ring.keyId, next.keyId, (id, sealed) => {
      const opened = reseal(next, id, sealed);
      if (opened !== sealed) resealed += 1;
      return opened;
    }, rotationAudit(services.now(), ring.keyId, next.keyId, 'success', ADMIN));
    if (outcome === 'conflict') {
      writeKeyringFile(secretFile, keys);
      throw new InvalidArgument(
        'The database was rebound to another key while this rotation ran (a rotation on another host?); the secret file was put back as it was. ' +
          'Run "umpin secret status" to see the database\'s key, and copy that host\'s secret file here.',
      );
    }
    return { from: ring.keyId, to: next.keyId, keyIds: next.keys.map((k) => k.keyId), resealed };
  });
}

/** A start that finds the database bound to a previous key of the ring completes the rotation (open-services.ts). */
export async function finishRotation(store: PinStore, ring: ServerKeyring, from: string, now: Date): Promise<void> {
  await store.rebindServerKey(from, ring.keyId, (id, sealed) => reseal(ring, id, sealed), rotationAudit(now, from, ring.keyId, 'finished-at-start', { actor: 'system', source: 'start' }));
}

/**
 * Removes a previous key from the ring, only when nothing uses it: verifiers made under it would
 * never verify again. `force` retires it anyway (those passwords, PINs and API keys stop working);
 * a sealed mail only it opens always blocks, as that PIN mail could never be sent.
 */
export async function retireSecretKey(services: Services, secretFile: string, keyId: string, force: boolean): Promise<{ keyIds: readonly string[]; usage: KeyUsage }> {
  return withKeyringLock(secretFile, async () => {
    const keys = readKeyringFile(secretFile);
    const ring = checkUnchanged(services, deriveServerKeyring(keys), secretFile);
    if (keyId === ring.keyId) {
      throw new InvalidArgument(`${keyId} is the current key, which makes every new verifier; rotate first ("umpin secret rotate"), then retire it once nothing uses it.`);
    }
    const index = ring.keys.findIndex((k) => k.keyId === keyId);
    if (index < 0) throw new InvalidArgument(`The keyring holds no key ${keyId}; "umpin secret status" lists its keys.`);
    const usage = (await describeSecret(services)).keys.find((k) => k.keyId === keyId) as KeyUsage;
    if (usage.sealedMail > 0) {
      throw new InvalidArgument(
        `Key ${keyId} still seals ${plural(usage.sealedMail, 'queued PIN mail')}; let the outbox deliver ${usage.sealedMail === 1 ? 'it' : 'them'} ` +
          '(or drop them: "umpin outbox"), or run "umpin secret rotate", which re-seals every queued mail; then retire again. Nothing was changed.',
      );
    }
    const uses = describeUses(usage);
    if (uses !== '' && !force) {
      throw new InvalidArgument(
        `Key ${keyId} still protects ${uses}. Each is re-made under the current key when used: a sign-in for a password, a phone logon for a PIN, ` +
          'a call for an API key. A PIN whose user does not call needs a PIN reset ("umpin pin reset <login>"); a password is re-made only by its ' +
          'user\'s next sign-in; remembered PINs age out with PIN changes. "umpin secret status" shows what is left. --force retires the key anyway, and what it protects stops working. Nothing was changed.',
      );
    }
    writeKeyringFile(secretFile, keys.filter((_key, i) => i !== index));
    await services.store.appendAudit({
      at: services.now(), event: 'secret.retire', outcome: uses === '' ? 'success' : 'forced', login: null, ...ADMIN,
      detail: { keyId, passwords: usage.passwords, pins: usage.pins, history: usage.history, pending: usage.pending, apiKeys: usage.apiKeys },
    });
    return { keyIds: ring.keys.filter((k) => k.keyId !== keyId).map((k) => k.keyId), usage };
  });
}

export function describeUses(usage: KeyUsage): string {
  return ([[usage.passwords, 'password'], [usage.pins, 'active PIN'], [usage.history, 'remembered PIN'], [usage.pending, 'pending PIN change'], [usage.apiKeys, 'API key']] as const)
    .filter(([n]) => n > 0).map(([n, noun]) => plural(n, noun)).join(', ');
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function countsFor(counts: VerifierKeyCounts, keyId: string) {
  return {
    passwords: counts.passwords[keyId] ?? 0,
    pins: counts.pins[keyId] ?? 0,
    history: counts.history[keyId] ?? 0,
    pending: counts.pending[keyId] ?? 0,
    apiKeys: counts.apiKeys[keyId] ?? 0,
  };
}

/** Sealed mails by the key that opens them; one the ring cannot open counts under "unknown". */
async function countSealedMailByKey(store: PinStore, ring: ServerKeyring): Promise<Record<string, number>> {
  const byKey: Record<string, number> = {};
  for (const { id, sealedMail } of await store.listSealedMail()) {
    let keyId = 'unknown';
    try {
      keyId = decryptPayloadWithAny(ring.keys, sealedMail, `pending:${id}`).keyId;
    } catch {
      // Sealed under a key the ring no longer holds.
    }
    byKey[keyId] = (byKey[keyId] ?? 0) + 1;
  }
  return byKey;
}

/** The mail sealed again under the ring's current key; a mail no key opens is left as it is. */
function reseal(ring: ServerKeyring, id: string, sealed: Buffer): Buffer {
  let opened;
  try {
    opened = decryptPayloadWithAny(ring.keys, sealed, `pending:${id}`);
  } catch {
    return sealed;
  }
  return opened.keyId === ring.keyId ? sealed : encryptPayload(ring.payloadKey, opened.plaintext, `pending:${id}`);
}

function rotationAudit(at: Date, from: string, to: string, outcome: string, by: { actor: string; source: string }): AuditEvent {
  return { at, event: 'secret.rotate', outcome, login: null, ...by, detail: { from, to } };
}

/** The file this command was started with; another command changing it in between must not be overwritten. */
function checkUnchanged(services: Services, ring: ServerKeyring, secretFile: string): ServerKeyring {
  const same = ring.keys.length === services.keyring.keys.length && ring.keys.every((k, i) => k.keyId === services.keyring.keys[i]?.keyId);
  if (!same) throw new InvalidArgument(`${secretFile} changed while this command started; run it again. Nothing was changed.`);
  return ring;
}

/** One rotate or retire at a time on this host: each reads the ring, then writes it whole. */
async function withKeyringLock<T>(secretFile: string, action: () => Promise<T>): Promise<T> {
  const lock = `${secretFile}.lock`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new InvalidArgument(`Another "umpin secret" command is changing ${secretFile} (it holds ${lock}); wait for it, or remove ${lock} if no such command is running.`);
  }
  try {
    return await action();
  } finally {
    closeSync(fd);
    unlinkSync(lock);
  }
}
