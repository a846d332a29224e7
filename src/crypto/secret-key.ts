/**
 * The server secret (DESIGN §5), kept outside the database: a keyring file of
 * base64 32-byte keys, one per line. The first line is the current key, which
 * makes every new verifier and sealed mail; the lines after it are previous
 * keys, kept so that verifiers made under them still verify until they are
 * re-made or age out (docs/secret-rotation.md). A file of one line is a ring
 * of one key. From each key the argon2 pepper and the mail-payload key are
 * derived (HKDF-SHA256), so neither is ever stored next to the data it protects.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.ts';

/** One key of the ring, with what is derived from it. */
export interface ServerSecret {
  /** Identifies the key without revealing it; the database and each verifier remember it. */
  readonly keyId: string;
  readonly pepper: Buffer;
  readonly payloadKey: Buffer;
}

/** The current key's secret (what makes new verifiers and sealed mail), plus the previous keys, newest first. */
export interface ServerKeyring extends ServerSecret {
  readonly previous: readonly ServerSecret[];
  /** Every key, the current one first: the order in which a sealed mail's key is tried. */
  readonly keys: readonly ServerSecret[];
}

export const KEY_BYTES = 32;
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

export function deriveServerSecret(key: Buffer): ServerSecret {
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `umpin/${label}`, 32));
  return Object.freeze({
    keyId: createHash('sha256').update(derive('key-id')).digest('hex').slice(0, 16),
    pepper: derive('argon2-pepper'),
    payloadKey: derive('mail-payload'),
  });
}

export function deriveServerKeyring(keys: readonly Buffer[]): ServerKeyring {
  const [current, ...previous] = keys.map(deriveServerSecret);
  if (current === undefined) throw new TypeError('a keyring holds at least one key');
  return Object.freeze({ ...current, previous: Object.freeze(previous), keys: Object.freeze([current, ...previous]) });
}

export function isKeyId(text: string): boolean {
  return KEY_ID_PATTERN.test(text);
}

/** Reads the keyring file, creating it with one key (mode 0600, never overwriting) on first start. */
export function loadOrCreateServerSecret(path: string): { secret: ServerKeyring; created: boolean; keys: Buffer[] } {
  const created = !existsSync(path) && createKeyFile(path);
  const keys = readKeyringFile(path);
  return { secret: deriveServerKeyring(keys), created, keys };
}

/** The raw keys of the file, current first, after the permission check; every line is checked. */
export function readKeyringFile(path: string): Buffer[] {
  refuseExposedKeyFile(path);
  const lines = readFileSync(path, 'utf8').split('\n').map((line) => line.trim());
  const keys: Buffer[] = [];
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    if (line === '') return;
    const key = Buffer.from(line, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new ConfigError('UMPIN_SECRET_FILE', `${path} line ${index + 1} is not a ${KEY_BYTES}-byte base64 key; restore the file this database was created with (or its latest rotated copy).`);
    }
    if (seen.has(key.toString('hex'))) throw new ConfigError('UMPIN_SECRET_FILE', `${path} line ${index + 1} repeats a key; each key may appear once. Restore the file "umpin secret rotate" wrote.`);
    seen.add(key.toString('hex'));
    keys.push(key);
  });
  if (keys.length === 0) throw new ConfigError('UMPIN_SECRET_FILE', `${path} holds no key; restore the file this database was created with.`);
  return keys;
}

export function newServerKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * Replaces the keyring file whole: written and flushed under a temporary name
 * in the same directory with the old file's mode (0600 for a new one; group
 * read is kept for a service group), renamed over the old one, then the
 * directory flushed. A reader, or a crash, sees the old ring or the new one, never half
 * of either.
 */
export function writeKeyringFile(path: string, keys: readonly Buffer[]): void {
  if (keys.length === 0) throw new TypeError('a keyring holds at least one key');
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const mode = existsSync(path) ? statSync(path).mode & 0o640 : 0o600;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    fchmodSync(fd, mode);
    writeSync(fd, keys.map((key) => `${key.toString('base64')}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, path);
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
  const directory = openSync(dirname(path), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

/**
 * Anyone who can read the key can test PIN guesses offline against a stolen
 * database, and anyone who can write it can lock every user out: the file
 * must be neither readable by all nor writable by its group. Group read is
 * allowed so a service group can share one key between instances.
 */
export function refuseExposedKeyFile(path: string): void {
  const { mode } = statSync(path);
  const exposed = mode & 0o027;
  if (exposed === 0) return;
  const who = [mode & 0o007 ? 'every user on this machine' : '', mode & 0o020 ? 'its group (write)' : ''].filter(Boolean).join(' and ');
  throw new ConfigError('UMPIN_SECRET_FILE', `${path} is open to ${who} (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 ${path} and start again.`);
}

/**
 * Writes the key completely under a temporary name, then links it into
 * place: two processes starting at once end up sharing one whole key, and
 * neither can read a half-written file. False if another process won.
 */
function createKeyFile(path: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${newServerKey().toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}
