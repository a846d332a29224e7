/**
 * ResetPIN as an operation (issue 12): the sign-in limits under concurrent
 * requests, on a real SQLite store with the real KDF, counting every KDF call.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { localAuthenticator } from '../auth/authenticate.ts';
import { Kdf } from '../crypto/kdf.ts';
import { AuthenticationFailed, ServerBusy, toUmpinError } from '../errors.ts';
import { describeFailure, openOperationsHarness, tally, type OperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { addUser } from './admin/users.ts';
import { resetPin } from './reset-pin.ts';
import { MAX_LOGIN_LENGTH } from './sign-in.ts';

const TOO_MANY_FAILURES = 'Too many failed sign-ins for this user from your address; try again later.';

/** What a caller sees of one attempt: "ok" or the error's code and message. */
function attempt(h: OperationsHarness, login: string, password: string, source: string): Promise<string> {
  return resetPin(h.services, { login, password }, source).then(
    () => 'ok',
    describeFailure,
  );
}


async function withCarol(env: Record<string, string> = {}): Promise<OperationsHarness> {
  const h = await openOperationsHarness({ UMPIN_LIMIT_REQUESTS_PER_MINUTE: '100000', ...env });
  await addUser(h.services, 'carol', 'right password');
  await enableMailbox(h.services, 'carol', { email: 'carol@example.com', extension: '36697' });
  return h;
}

describe('resetPin: failed sign-ins are reserved before the password work', () => {
  it('30 concurrent wrong passwords for one login from one address: 10 reach the KDF (the limit), 20 are refused before it', async () => {
    const h = await withCarol();
    try {
      const before = h.kdfCalls['password-verify'];
      const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(h, 'carol', `guess-${i}`, '198.51.100.7')));
      assert.deepEqual(tally(outcomes), { ERR_AUTH_FAILED: 10, [`busy: ${TOO_MANY_FAILURES}`]: 20 });
      assert.equal(h.kdfCalls['password-verify'] - before, 10, 'KDF calls for 30 attempts');
      const audit = await h.services.store.listAudit({ login: 'carol' });
      assert.equal(audit.filter((e) => e.outcome === 'auth-failed').length, 10);
      assert.equal(h.transport.attempts, 1, 'only the welcome mail: no reset happened');
    } finally {
      await h.close();
    }
  });

  it('the same for a login nobody has: the decoy is reserved for the same way', async () => {
    const h = await withCarol();
    try {
      const before = h.kdfCalls['password-verify'];
      const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(h, 'mallory', `guess-${i}`, '198.51.100.7')));
      assert.deepEqual(tally(outcomes), { ERR_AUTH_FAILED: 10, [`busy: ${TOO_MANY_FAILURES}`]: 20 });
      assert.equal(h.kdfCalls['password-verify'] - before, 10);
    } finally {
      await h.close();
    }
  });

  it('addresses of one IPv6 /64 count together, and an IPv4-mapped address counts as its IPv4 address', async () => {
    const h = await withCarol();
    try {
      const before = h.kdfCalls['password-verify'];
      const sources = Array.from({ length: 20 }, (_, i) => `2001:db8:5:7:${(i + 1).toString(16)}::${randomBytes(2).toString('hex')}`);
      const outcomes = await Promise.all(sources.map((source, i) => attempt(h, 'carol', `guess-${i}`, source)));
      assert.deepEqual(tally(outcomes), { ERR_AUTH_FAILED: 10, [`busy: ${TOO_MANY_FAILURES}`]: 10 });
      assert.equal(h.kdfCalls['password-verify'] - before, 10);
      assert.equal(await attempt(h, 'carol', 'right password', '2001:db8:5:8::1'), 'ok', 'the next /64 is another source');

      const mapped = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(h, 'carol', `g-${i}`, i % 2 === 0 ? '192.0.2.44' : '::ffff:192.0.2.44')));
      assert.deepEqual(tally(mapped), { ERR_AUTH_FAILED: 10, [`busy: ${TOO_MANY_FAILURES}`]: 2 });
    } finally {
      await h.close();
    }
  });

  it('a flood from one address does not stop the real user at another address', async () => {
    const h = await withCarol();
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(h, 'carol', `guess-${i}`, '198.51.100.7')));
      assert.equal(await attempt(h, 'carol', 'right password', '198.51.100.7'), `busy: ${TOO_MANY_FAILURES}`, 'the flooded address is refused, even with the right password');
      const mails = h.transport.taken.length;
      assert.equal(await attempt(h, 'carol', 'right password', '203.0.113.5'), 'ok');
      assert.equal(h.transport.taken.length, mails + 1, 'the real user got a new PIN by mail');
    } finally {
      await h.close();
    }
  });

  it('a right password gives its slot back; a failure keeps it', async () => {
    const h = await withCarol({ UMPIN_LIMIT_FAILED_SIGNINS: '2' });
    try {
      const outcomes = [];
      for (const password of ['wrong', 'right password', 'right password', 'right password', 'wrong', 'wrong', 'right password']) {
        outcomes.push(await attempt(h, 'carol', password, '198.51.100.7'));
      }
      assert.deepEqual(outcomes, ['ERR_AUTH_FAILED', 'ok', 'ok', 'ok', 'ERR_AUTH_FAILED', `busy: ${TOO_MANY_FAILURES}`, `busy: ${TOO_MANY_FAILURES}`]);
    } finally {
      await h.close();
    }
  });

  it('a login longer than any valid login is refused before any work: no KDF call', async () => {
    const h = await withCarol({ UMPIN_LIMIT_FAILED_SIGNINS: '1' });
    try {
      const before = h.kdfTotal();
      const long = 'c'.repeat(MAX_LOGIN_LENGTH + 1);
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => attempt(h, long, 'whatever', '198.51.100.7')));
      assert.deepEqual(outcomes, Array(5).fill('ERR_AUTH_FAILED'));
      assert.equal(h.kdfTotal(), before, 'no KDF call');
      assert.equal(await attempt(h, 'c'.repeat(MAX_LOGIN_LENGTH), 'whatever', '198.51.100.7'), 'ERR_AUTH_FAILED', 'the longest valid length is judged');
      assert.equal(h.kdfTotal(), before + 1);
    } finally {
      await h.close();
    }
  });
});

describe('resetPin: an unknown login and a wrong password answer alike under load', () => {
  it('with the KDF queue full at the first unknown login, later unknown logins answer 401 like wrong passwords, never 503 for ever', async () => {
    const h = await withCarol();
    try {
      // A KDF that queues one call at most, so the test can fill it.
      const kdf = new Kdf({ pepper: h.services.keyring.pepper, keyId: h.services.keyring.keyId, concurrency: 1, maxQueued: 1 });
      const authenticator = localAuthenticator(h.services.store, kdf, 'umpin');
      const services = { ...h.services, kdf, authenticator };
      const salt = randomBytes(16);
      const busy = [kdf.pinVerifier('1', salt), kdf.pinVerifier('2', salt)];
      // The decoy verifier is made outside the gate meanwhile, so the queue may have moved on by the time its
      // verification asks for a slot: busy (as a known login would be) or refused are both right for this one.
      const first = await resetPin(services, { login: 'mallory', password: 'x' }, '198.51.100.9').catch((e: unknown) => e);
      assert.ok(first instanceof ServerBusy || first instanceof AuthenticationFailed, String(first));
      await Promise.all(busy);
      const answers = [];
      for (const login of ['mallory', 'trent', 'carol']) {
        answers.push(await resetPin(services, { login, password: 'wrong' }, '198.51.100.9').then(() => 'ok', (e: unknown) => {
          const failure = toUmpinError(e);
          return `${failure.httpStatus} ${failure.code} ${failure.message}`;
        }));
      }
      const denied = '401 ERR_AUTH_FAILED The user name or password is incorrect; sign in with your mailbox credentials.';
      assert.deepEqual(answers, [denied, denied, denied]);
    } finally {
      await h.close();
    }
  });
});
