import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ServerBusy } from '../errors.ts';
import { Kdf, isAmongVerifiers } from './kdf.ts';

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
});
