/**
 * Signing in (sign-in.ts) as every road in uses it: the per-address request
 * limit, the failed-sign-in limit reserved before the password work and
 * given back when no password was judged wrong, and the audit of a failure.
 * Real SQLite store, real KDF (every call counted), fixed clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localAuthenticator } from '../auth/authenticate.ts';
import { Kdf } from '../crypto/kdf.ts';
import { toUmpinError } from '../errors.ts';
import { describeFailure, FIXED_NOW, openOperationsHarness, tally, type OperationsHarness } from '../../test/support/operations.ts';
import { addUser } from './admin/users.ts';
import type { Services } from './services.ts';
import { MAX_LOGIN_LENGTH, admitRequest, signIn } from './sign-in.ts';

const TOO_MANY_FAILURES = 'busy: Too many failed sign-ins for this user from your address; try again later.';
const TOO_MANY_REQUESTS = 'busy: Too many requests from your address; try again later.';

/** What a caller sees: the signed-in login, or the error's code (with the message for a busy answer). */
function outcome(promise: Promise<{ login: string } | void>): Promise<string> {
  return promise.then(
    (caller) => (caller ? `ok ${caller.login}` : 'ok'),
    describeFailure,
  );
}

function attempt(services: Services, login: string, password: string, source: string, via?: string): Promise<string> {
  return outcome(signIn(services, { login, password }, source, 'soap.auth', via));
}


async function withDave(env: Record<string, string> = {}): Promise<OperationsHarness> {
  const h = await openOperationsHarness(env);
  await addUser(h.services, 'dave', 'right password');
  return h;
}

async function authFailures(h: OperationsHarness) {
  return (await h.services.store.listAudit({})).filter((e) => e.outcome === 'auth-failed');
}

describe('admitRequest', () => {
  it('counts every request of an address, refuses beyond the limit with ServerBusy, and leaves other addresses alone', async () => {
    const h = await openOperationsHarness({ UMPIN_LIMIT_REQUESTS_PER_MINUTE: '3' });
    try {
      const flood = await Promise.all(Array.from({ length: 6 }, (_, i) => outcome(admitRequest(h.services, i % 2 === 0 ? '192.0.2.44' : '::ffff:192.0.2.44'))));
      assert.deepEqual(tally(flood), { ok: 3, [TOO_MANY_REQUESTS]: 3 }, 'an IPv4-mapped address is its IPv4 address');
      assert.equal(await outcome(admitRequest(h.services, '192.0.2.45')), 'ok', 'another address has its own budget');
      const refused = await admitRequest(h.services, '192.0.2.44').catch((e: unknown) => toUmpinError(e));
      assert.equal(refused?.httpStatus, 503);
      assert.match(refused?.httpHeaders['retry-after'] ?? '', /^[1-9][0-9]*$/, 'the refusal says when to come back');
      assert.equal(h.kdfTotal(), 0, 'no password work');
    } finally {
      await h.close();
    }
  });
});

describe('signIn', () => {
  it('a right password is the caller, with no audit event; a wrong one is AuthenticationFailed, audited under the given event', async () => {
    const h = await withDave();
    try {
      assert.equal(await attempt(h.services, 'dave', 'right password', '198.51.100.7'), 'ok dave');
      assert.deepEqual(await authFailures(h), []);

      assert.equal(await attempt(h.services, 'dave', 'wrong', '198.51.100.7'), 'ERR_AUTH_FAILED');
      assert.equal(await attempt(h.services, 'dave', 'wrong again', '198.51.100.8', 'web'), 'ERR_AUTH_FAILED');
      const failures = (await authFailures(h)).map(({ at, event, outcome: o, login, actor, source, detail }) => ({ at: at.toISOString(), event, outcome: o, login, actor, source, detail }));
      assert.deepEqual(failures, [
        { at: FIXED_NOW.toISOString(), event: 'soap.auth', outcome: 'auth-failed', login: 'dave', actor: 'anonymous', source: '198.51.100.7', detail: {} },
        { at: FIXED_NOW.toISOString(), event: 'soap.auth', outcome: 'auth-failed', login: 'dave', actor: 'anonymous', source: '198.51.100.8', detail: { via: 'web' } },
      ]);
      assert.ok(!JSON.stringify(failures).includes('wrong'), 'the audit never holds the password');
    } finally {
      await h.close();
    }
  });

  it('8 concurrent wrong passwords with a limit of 3: 3 reach the KDF and are audited, 5 are refused before it', async () => {
    const h = await withDave({ UMPIN_LIMIT_FAILED_SIGNINS: '3' });
    try {
      const before = h.kdfCalls['password-verify'];
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => attempt(h.services, 'dave', `guess-${i}`, '198.51.100.7')));
      assert.deepEqual(tally(outcomes), { ERR_AUTH_FAILED: 3, [TOO_MANY_FAILURES]: 5 });
      assert.equal(h.kdfCalls['password-verify'] - before, 3);
      assert.equal((await authFailures(h)).length, 3);

      assert.equal(await attempt(h.services, 'dave', 'right password', '198.51.100.7'), TOO_MANY_FAILURES, 'the right password too, from that address');
      assert.equal(await attempt(h.services, 'dave', 'right password', '203.0.113.5'), 'ok dave', 'the same login from another address');
      await addUser(h.services, 'erin', 'erin password');
      assert.equal(await attempt(h.services, 'erin', 'erin password', '198.51.100.7'), 'ok erin', 'another login from the flooded address');
    } finally {
      await h.close();
    }
  });

  it('concurrent right and wrong passwords with a limit of 2: every right one signs in, and only the wrong ones use up the limit', async () => {
    const h = await withDave({ UMPIN_LIMIT_FAILED_SIGNINS: '2' });
    try {
      // Two right passwords hold slots while their KDF runs, next to one wrong one: all three fit.
      const first = await Promise.all([
        attempt(h.services, 'dave', 'right password', '198.51.100.7'),
        attempt(h.services, 'dave', 'wrong', '198.51.100.7'),
      ]);
      assert.deepEqual(first, ['ok dave', 'ERR_AUTH_FAILED']);
      const second = await Promise.all([
        attempt(h.services, 'dave', 'right password', '198.51.100.7'),
        attempt(h.services, 'dave', 'right password', '198.51.100.7'),
      ]);
      assert.deepEqual(tally(second), { 'ok dave': 1, [TOO_MANY_FAILURES]: 1 }, 'one slot left: reserved by one right password at a time');
      assert.equal(await attempt(h.services, 'dave', 'right password', '198.51.100.7'), 'ok dave', 'both right passwords gave their slots back');
      assert.equal(await attempt(h.services, 'dave', 'wrong', '198.51.100.7'), 'ERR_AUTH_FAILED');
      assert.equal(await attempt(h.services, 'dave', 'right password', '198.51.100.7'), TOO_MANY_FAILURES);
    } finally {
      await h.close();
    }
  });

  it('no credentials, or a login longer than any valid one: AuthenticationFailed without a KDF call or a slot, audited', async () => {
    const h = await withDave({ UMPIN_LIMIT_FAILED_SIGNINS: '1' });
    try {
      const before = h.kdfTotal();
      const long = 'd'.repeat(MAX_LOGIN_LENGTH + 1);
      const outcomes = await Promise.all([
        ...Array.from({ length: 3 }, () => outcome(signIn(h.services, undefined, '198.51.100.7', 'soap.auth'))),
        ...Array.from({ length: 3 }, () => attempt(h.services, long, 'whatever', '198.51.100.7')),
      ]);
      assert.deepEqual(outcomes, Array(6).fill('ERR_AUTH_FAILED'), 'never busy, though the limit is 1');
      assert.equal(h.kdfTotal(), before);
      const logins = (await authFailures(h)).map((e) => e.login);
      assert.deepEqual(logins, [null, null, null, 'd'.repeat(MAX_LOGIN_LENGTH), 'd'.repeat(MAX_LOGIN_LENGTH), 'd'.repeat(MAX_LOGIN_LENGTH)], 'the audit keeps at most the longest valid login');
      assert.equal(await attempt(h.services, 'dave', 'right password', '198.51.100.7'), 'ok dave', 'the limit of 1 is still whole');
    } finally {
      await h.close();
    }
  });

  it('a busy KDF judges no password: the slot is given back and nothing is audited', async () => {
    const h = await withDave({ UMPIN_LIMIT_FAILED_SIGNINS: '1' });
    try {
      // A KDF with room for one call and no queue, held by a slow call while dave signs in.
      const kdf = new Kdf({ pepper: h.services.keyring.pepper, keyId: h.services.keyring.keyId, concurrency: 1, maxQueued: 0, cost: { memoryCost: 19_456, timeCost: 12, parallelism: 1 } });
      const busy: Services = { ...h.services, kdf, authenticator: localAuthenticator(h.services.store, kdf, 'umpin') };
      const holder = kdf.pinVerifier('739104', Buffer.alloc(16));
      const answer = await attempt(busy, 'dave', 'wrong', '198.51.100.7');
      await holder;
      assert.equal(answer, 'busy: The service is busy; try again in a few seconds.');
      assert.deepEqual(await authFailures(h), []);
      assert.equal(await attempt(h.services, 'dave', 'wrong', '198.51.100.7'), 'ERR_AUTH_FAILED', 'the one slot was still free');
      assert.equal(await attempt(h.services, 'dave', 'right password', '198.51.100.7'), TOO_MANY_FAILURES);
    } finally {
      await h.close();
    }
  });
});
