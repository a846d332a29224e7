/**
 * The server secret (DESIGN §5): one 32-byte key in a file outside the
 * database, from which the argon2 pepper and the mail-payload key are derived
 * (HKDF-SHA256), so neither is ever stored next to the data it protects.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config.ts';

export interface ServerSecret {
  /** Identifies the key without revealing it; the database remembers it. */
  readonly keyId: string;
  readonly pepper: Buffer;
  readonly payloadKey: Buffer;
}

const KEY_BYTES = 32;

export function deriveServerSecret(key: Buffer): ServerSecret {
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `umpin/${label}`, 32));
  return Object.freeze({
    keyId: createHash('sha256').update(derive('key-id')).digest('hex').slice(0, 16),
    pepper: derive('argon2-pepper'),
    payloadKey: derive('mail-payload'),
  });
}

/** Reads the key file, creating it (mode 0600, never overwriting) on first start. */
export function loadOrCreateServerSecret(path: string): { secret: ServerSecret; created: boolean } {
  const created = !existsSync(path) && createKeyFile(path);
  refuseExposedKeyFile(path);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new ConfigError('UMPIN_SECRET_FILE', `${path} does not hold a ${KEY_BYTES}-byte base64 key; restore the file this database was created with.`);
  }
  return { secret: deriveServerSecret(key), created };
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
  writeFileSync(temporary, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
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
