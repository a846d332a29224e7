import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPinExpired } from './expiry.ts';
import { DEFAULT_POLICY, validatePolicy, type PinPolicy } from './policy.ts';

const problems = (changes: Partial<PinPolicy>) => validatePolicy({ ...DEFAULT_POLICY, ...changes }).map((p) => p.message);

describe('validatePolicy', () => {
  it("accepts Exchange's defaults and the ends of every range", () => {
    assert.deepEqual(problems({}), []);
    assert.deepEqual(problems({ minPinLength: 4, pinLifetimeDays: 1, pinHistoryCount: 1, logonFailuresBeforePinReset: 1, maxLogonAttempts: 2 }), []);
    assert.deepEqual(problems({ minPinLength: 24, pinLifetimeDays: 999, pinHistoryCount: 20, logonFailuresBeforePinReset: 998, maxLogonAttempts: 999 }), []);
    assert.deepEqual(problems({ pinLifetimeDays: null, logonFailuresBeforePinReset: null, maxLogonAttempts: null }), []);
  });

  it('names each setting out of range, as Exchange does', () => {
    assert.deepEqual(problems({ minPinLength: 3 }), ['MinPINLength must be a whole number from 4 to 24.']);
    assert.deepEqual(problems({ minPinLength: 25 }), ['MinPINLength must be a whole number from 4 to 24.']);
    assert.deepEqual(problems({ pinHistoryCount: 0 }), ['PINHistoryCount must be a whole number from 1 to 20.']);
    assert.deepEqual(problems({ pinHistoryCount: null as unknown as number }), ['PINHistoryCount cannot be Unlimited.']);
    assert.deepEqual(problems({ pinLifetimeDays: 1000 }), ['PINLifetime must be a whole number from 1 to 999 or Unlimited.']);
    assert.deepEqual(problems({ maxLogonAttempts: 0, logonFailuresBeforePinReset: null }), ['MaxLogonAttempts must be a whole number from 1 to 999 or Unlimited.']);
    assert.deepEqual(problems({ minPinLength: 6.5 }), ['MinPINLength must be a whole number from 4 to 24.']);
  });

  it('requires LogonFailuresBeforePINReset < MaxLogonAttempts unless either is Unlimited', () => {
    const rule = 'LogonFailuresBeforePINReset must be less than MaxLogonAttempts (or Unlimited).';
    assert.deepEqual(problems({ logonFailuresBeforePinReset: 15, maxLogonAttempts: 15 }), [rule]);
    assert.deepEqual(problems({ logonFailuresBeforePinReset: 20, maxLogonAttempts: 15 }), [rule]);
    assert.deepEqual(problems({ logonFailuresBeforePinReset: 20, maxLogonAttempts: null }), []);
    assert.deepEqual(problems({ logonFailuresBeforePinReset: null, maxLogonAttempts: 3 }), []);
  });

  it('limits the texts to 512 characters and checks the name', () => {
    assert.deepEqual(problems({ resetPinText: 'x'.repeat(512), umEnabledText: 'y'.repeat(512) }), []);
    assert.deepEqual(problems({ resetPinText: 'x'.repeat(513) }), ['ResetPINText may be at most 512 characters.']);
    assert.equal(problems({ name: '' }).length, 1);
    assert.equal(problems({ name: 'Sales policy 2' }).length, 0);
  });

  it('reports every problem at once', () => {
    assert.equal(problems({ minPinLength: 2, pinHistoryCount: 50, umEnabledText: 'z'.repeat(600) }).length, 3);
  });
});

describe('isPinExpired', () => {
  const setAt = new Date('2026-01-01T00:00:00Z');
  const day = 86_400_000;
  const fresh = { pinExpired: false, pinSetAt: setAt, pinLength: 6 };

  it('follows the flag', () => {
    assert.equal(isPinExpired({ ...fresh, pinExpired: true }, DEFAULT_POLICY, setAt), true);
    assert.equal(isPinExpired(fresh, DEFAULT_POLICY, setAt), false);
  });

  it('expires a PIN once PINLifetime days have passed, never when Unlimited', () => {
    assert.equal(isPinExpired(fresh, DEFAULT_POLICY, new Date(setAt.getTime() + 60 * day - 1)), false);
    assert.equal(isPinExpired(fresh, DEFAULT_POLICY, new Date(setAt.getTime() + 60 * day)), true);
    assert.equal(isPinExpired(fresh, { ...DEFAULT_POLICY, pinLifetimeDays: null }, new Date(setAt.getTime() + 9999 * day)), false);
  });

  it('expires a PIN shorter than a raised MinPINLength', () => {
    assert.equal(isPinExpired(fresh, { ...DEFAULT_POLICY, minPinLength: 7 }, setAt), true);
    assert.equal(isPinExpired({ ...fresh, pinLength: null }, { ...DEFAULT_POLICY, minPinLength: 7 }, setAt), false);
  });
});
