/**
 * The benchmark peer's state: one SQLite file with users (argon2id PHC
 * password verifiers) and mailboxes (a salt and the current PIN verifier),
 * plus an audit table, with the same durability settings as umpin (WAL,
 * synchronous=FULL). Benchmark code, not product code.
 */
import { hash, type Options } from '@node-rs/argon2';
import BetterSqlite3 from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_KDF_COST } from '../../src/crypto/kdf.ts';

export type PeerDatabase = BetterSqlite3.Database;

/** The same argon2id parameters as umpin (m=19456 KiB, t=2, p=1, 32-byte output), peppered with a 32-byte secret. */
export function peerKdfOptions(pepper: Buffer): Options {
  return { ...DEFAULT_KDF_COST, outputLen: 32, algorithm: 2, secret: pepper };
}

export function openPeerDatabase(dir: string): PeerDatabase {
  const db = new BetterSqlite3(join(dir, 'peer.sqlite'), { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (login TEXT PRIMARY KEY, password_verifier TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS mailboxes (login TEXT PRIMARY KEY, email TEXT NOT NULL, pin_salt BLOB NOT NULL,
      pin_verifier BLOB, pin_expired INTEGER NOT NULL DEFAULT 0, failed_logons INTEGER NOT NULL DEFAULT 0, updated_at TEXT);
    CREATE TABLE IF NOT EXISTS audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, event TEXT NOT NULL,
      outcome TEXT NOT NULL, login TEXT, source TEXT);
  `);
  return db;
}

export function peerPepper(dir: string): Buffer {
  return readFileSync(join(dir, 'secret.key'));
}

/** Creates the peer's data directory contents: a pepper and one user with a mailbox per login. */
export async function provisionPeer(dir: string, users: ReadonlyArray<{ login: string; password: string }>): Promise<void> {
  const pepper = randomBytes(32);
  writeFileSync(join(dir, 'secret.key'), pepper, { mode: 0o600 });
  const db = openPeerDatabase(dir);
  try {
    const options = peerKdfOptions(pepper);
    const verifiers = await Promise.all(users.map((u) => hash(u.password, options)));
    const addUser = db.prepare('INSERT INTO users (login, password_verifier) VALUES (?, ?)');
    const addMailbox = db.prepare('INSERT INTO mailboxes (login, email, pin_salt) VALUES (?, ?, ?)');
    db.transaction(() => {
      users.forEach((u, i) => {
        addUser.run(u.login, verifiers[i]);
        addMailbox.run(u.login, `${u.login}@example.com`, randomBytes(16));
      });
    })();
  } finally {
    db.close();
  }
}
