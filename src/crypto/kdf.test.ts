import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ServerBusy } from '../errors.ts';
import { Kdf, isAmongVerifiers, isPinAmong } from './kdf.ts';

describe('Kdf', () => {
  const pepper = randomBytes(32);

  it('verifies a password only with the same pepper', async () => {
    const kdf = new Kdf({ pepper });
    const verifier = await kdf.hashPassword('hunter2');
    assert.match(verifier, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(!verifier.includes('hunter2'));
    assert.equal(await kdf.verifyPassword(verifier, 'hunter2'), true);
    assert.equal(await kdf.verifyPassword(verifier, 'hunter3'), false);
    assert.equal(await new Kdf({ pepper: randomBytes(32) }).verifyPassword(verifier, 'hunter2'), false);
  });

  it('makes PIN verifiers that depend on PIN, salt and pepper', async () => {
    const kdf = new Kdf({ pepper });
    const salt = randomBytes(16);
    const a = await kdf.pinVerifier('284619', salt);
    assert.equal(a.length, 32);
    assert.ok(isAmongVerifiers(await kdf.pinVerifier('284619', salt), [randomBytes(32), a]));
    assert.ok(!isAmongVerifiers(await kdf.pinVerifier('284618', salt), [a]));
    assert.ok(!isAmongVerifiers(await kdf.pinVerifier('284619', randomBytes(16)), [a]));
    assert.ok(!isAmongVerifiers(await new Kdf({ pepper: randomBytes(32) }).pinVerifier('284619', salt), [a]));
  });

  it('answers ServerBusy instead of queueing without end', async () => {
    const kdf = new Kdf({ pepper, concurrency: 1, maxQueued: 1 });
    const salt = randomBytes(16);
    const results = await Promise.allSettled([1, 2, 3].map(() => kdf.pinVerifier('284619', salt)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected']);
    const refused = results[2];
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof ServerBusy);
    assert.equal((refused.reason as ServerBusy).httpHeaders['retry-after'], '2');
  });

  it('a decoy asked for while the queue is full is at most busy that once; once the queue drains, unknown logins are false again, never busy for ever', async () => {
    const kdf = new Kdf({ pepper, concurrency: 1, maxQueued: 1, cost: { memoryCost: 1024, timeCost: 1, parallelism: 1 } });
    const salt = randomBytes(16);
    const busy = [kdf.pinVerifier('1', salt), kdf.pinVerifier('2', salt)];
    // The first unknown login after a start arrives with the queue full. The decoy verifier is made outside
    // the gate meanwhile, so by the time its verification asks for a slot the queue may have moved on:
    // busy or false are both right for this one call (the old code cached the busy answer for ever).
    const first = await kdf.verifyDecoy('x').catch((error: unknown) => error);
    assert.ok(first === false || first instanceof ServerBusy, String(first));
    await Promise.all(busy);
    assert.equal(await kdf.verifyDecoy('y'), false);
    assert.equal(await kdf.verifyDecoy('z'), false);
  });

  it('verifies under the key a verifier names, hashes under the current one, and compares history once per key', async () => {
    const [oldPepper, newPepper] = [randomBytes(32), randomBytes(32)];
    const before = new Kdf({ pepper: oldPepper, keyId: 'k-old' });
    const after = new Kdf({ pepper: newPepper, keyId: 'k-new', previous: [{ keyId: 'k-old', pepper: oldPepper }] });
    const oldPassword = await before.hashPassword('hunter2');
    assert.equal(await after.verifyPassword(oldPassword, 'hunter2', 'k-old'), true);
    assert.equal(await after.verifyPassword(oldPassword, 'hunter2'), false, 'not under the current key');
    assert.equal(await after.verifyPassword(oldPassword, 'hunter2', 'k-gone'), false, 'a key the ring lacks verifies nothing');
    assert.equal(await before.verifyPassword(await after.hashPassword('hunter2'), 'hunter2'), false, 'new verifiers are made under the new key');

    const salt = randomBytes(16);
    const history = [
      { verifier: await after.pinVerifier('111111', salt), keyId: 'k-new' },
      { verifier: await before.pinVerifier('284619', salt), keyId: 'k-old' },
      { verifier: randomBytes(32), keyId: 'k-gone' },
    ];
    const among = async (pin: string) => isPinAmong(after, pin, salt, await after.pinVerifier(pin, salt), history);
    assert.equal(await among('284619'), true, 'a PIN remembered under the old key');
    assert.equal(await among('111111'), true);
    assert.equal(await among('284618'), false);
    assert.equal(after.hasKey('k-gone'), false);
    assert.throws(() => after.pinVerifier('284619', salt, 'k-gone'), TypeError);
  });
});
