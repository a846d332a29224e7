import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kdf } from '../crypto/kdf.ts';
import { AuthenticationFailed } from '../errors.ts';
import { openPinStore, type PinStore } from '../store/index.ts';
import { localAuthenticator } from './authenticate.ts';
import { CredentialCache } from './credential-cache.ts';

/** The real KDF, counting the password verifications it did. */
class CountingKdf extends Kdf {
  verifications = 0;
  override verifyPassword(verifier: string, password: string): Promise<boolean> {
    this.verifications += 1;
    return super.verifyPassword(verifier, password);
  }
}

describe('localAuthenticator with a credential cache', () => {
  let dir: string;
  let store: PinStore;
  const pepper = randomBytes(32);
  let kdf: CountingKdf;
  let clock = 0;
  let cache: CredentialCache;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umpin-auth-'));
    store = await openPinStore({ engine: 'sqlite', file: join(dir, 'db.sqlite') });
    kdf = new CountingKdf({ pepper });
    await store.addUser('alice', await kdf.hashPassword('right'), new Date());
    cache = new CredentialCache({ pepper, ttlMs: 1000, now: () => clock });
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies once, then answers from the cache until the entry expires', async () => {
    const auth = localAuthenticator(store, kdf, 'umpin', cache);
    kdf.verifications = 0;
    assert.deepEqual(await auth.authenticate({ login: 'alice', password: 'right' }), { login: 'alice' });
    assert.deepEqual(await auth.authenticate({ login: 'alice', password: 'right' }), { login: 'alice' });
    assert.equal(kdf.verifications, 1);
    clock += 1001;
    await auth.authenticate({ login: 'alice', password: 'right' });
    assert.equal(kdf.verifications, 2, 'expired: verified again');
  });

  it('never caches a failure, and a cached success does not admit another password', async () => {
    const auth = localAuthenticator(store, kdf, 'umpin', cache);
    kdf.verifications = 0;
    for (let i = 0; i < 2; i += 1) await assert.rejects(auth.authenticate({ login: 'alice', password: 'wrong' }), AuthenticationFailed);
    assert.equal(kdf.verifications, 2);
  });

  it('misses once the password changed (a new verifier), in whatever process it changed', async () => {
    const auth = localAuthenticator(store, kdf, 'umpin', cache);
    await auth.authenticate({ login: 'alice', password: 'right' });
    const newVerifier = await kdf.hashPassword('right'); // same password, new salt: another verifier
    assert.equal(cache.has('alice', 'right', newVerifier), false);
  });

  it('holds no password: keys are HMACs, and the size is bounded', () => {
    const small = new CredentialCache({ pepper, maxEntries: 2, now: () => clock });
    small.remember('a', 'p1', 'v');
    small.remember('b', 'p2', 'v');
    small.remember('c', 'p3', 'v');
    assert.equal(small.size, 2);
    assert.equal(small.has('a', 'p1', 'v'), false, 'the oldest went first');
    assert.equal(small.has('c', 'p3', 'v'), true);
  });
});

describe('localAuthenticator with a directory: a login the local store lacks costs what a local one costs', () => {
  let dir: string;
  let store: PinStore;
  const pepper = randomBytes(32);
  let kdf: CountingKdf;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umpin-auth-'));
    store = await openPinStore({ engine: 'sqlite', file: join(dir, 'db.sqlite') });
    kdf = new CountingKdf({ pepper });
    await store.addUser('alice', await kdf.hashPassword('right'), new Date());
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A directory that answers at once: bob with "dir-pw" signs in, everything else fails. */
  const directory = {
    directoryCalls: 0,
    async authenticate(credentials: { login: string; password: string } | undefined) {
      directory.directoryCalls += 1;
      if (credentials?.login === 'bob' && credentials.password === 'dir-pw') return { login: 'bob' };
      throw new AuthenticationFailed('umpin');
    },
  };

  it('one KDF verification for a local wrong password, an unknown login and a directory login alike, and the directory still decides', async () => {
    const auth = localAuthenticator(store, kdf, 'umpin', undefined, directory);
    const cost = async (credentials: { login: string; password: string }) => {
      kdf.verifications = 0;
      const outcome = await auth.authenticate(credentials).then((c) => c.login, (e: unknown) => (e instanceof AuthenticationFailed ? 'failed' : String(e)));
      return { outcome, verifications: kdf.verifications };
    };
    assert.deepEqual(await cost({ login: 'alice', password: 'wrong' }), { outcome: 'failed', verifications: 1 });
    assert.deepEqual(await cost({ login: 'nobody', password: 'wrong' }), { outcome: 'failed', verifications: 1 });
    assert.deepEqual(await cost({ login: 'bob', password: 'dir-pw' }), { outcome: 'bob', verifications: 1 });
    assert.equal(directory.directoryCalls, 2, 'a local login never asks the directory');
  });

  it('an unknown login waits for its KDF call even when the directory refuses at once', async () => {
    const auth = localAuthenticator(store, kdf, 'umpin', undefined, directory);
    const timed = async (login: string) => {
      const started = performance.now();
      await assert.rejects(auth.authenticate({ login, password: 'wrong' }), AuthenticationFailed);
      return performance.now() - started;
    };
    const local = Math.min(await timed('alice'), await timed('alice'), await timed('alice'));
    const unknown = Math.min(await timed('nobody'), await timed('nobody'), await timed('nobody'));
    // Both are one argon2id verification (tens of ms here); the directory's instant answer is not a shortcut.
    assert.ok(unknown > local * 0.5, `unknown ${unknown.toFixed(1)} ms, local ${local.toFixed(1)} ms`);
  });
});
