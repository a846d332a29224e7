import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkPin } from './check.ts';
import { generatePin, MAX_GENERATION_ATTEMPTS } from './generate.ts';
import { DEFAULT_POLICY, MAX_PIN_LENGTH, MIN_PIN_LENGTH } from './policy.ts';

describe('generatePin', () => {
  it('makes PINs that pass the policy they were made for (10 000 runs, lengths 4–24, strict rules on and off)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN_PIN_LENGTH, max: MAX_PIN_LENGTH }),
        fc.boolean(),
        fc.boolean(),
        fc.stringMatching(/^[0-9]{1,20}$/),
        fc.stringMatching(/^[A-Za-z]{0,12}$/),
        (minPinLength, allowCommonPatterns, strictRules, extension, lastName) => {
          const policy = { ...DEFAULT_POLICY, minPinLength, allowCommonPatterns, strictRules };
          const context = { extension, lastName };
          const pin = generatePin(policy, context);
          assert.ok(pin !== undefined, 'a PIN was found');
          assert.equal(pin.length, minPinLength);
          assert.deepEqual(checkPin(pin, policy, context), []);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('draws every digit from the source it is given, and redraws a PIN the checker rejects', () => {
    const digits = [...'111111', ...'123456', ...'982734'].map(Number);
    let next = 0;
    const pin = generatePin(DEFAULT_POLICY, { extension: '' }, () => digits[next++] as number);
    assert.equal(pin, '982734');
    assert.equal(next, 18);
  });

  it('gives up after a bounded number of attempts when no candidate passes', () => {
    let calls = 0;
    const pin = generatePin(DEFAULT_POLICY, { extension: '' }, () => {
      calls += 1;
      return 7;
    });
    assert.equal(pin, undefined);
    assert.equal(calls, MAX_GENERATION_ATTEMPTS * DEFAULT_POLICY.minPinLength);
  });

  it('spreads digits evenly (chi-square over 60 000 digits, 9 degrees of freedom)', () => {
    const counts = new Array<number>(10).fill(0);
    const policy = { ...DEFAULT_POLICY, allowCommonPatterns: true };
    for (let i = 0; i < 10_000; i += 1) for (const d of generatePin(policy, { extension: '' }) ?? '') counts[Number(d)]! += 1;
    const expected = 6000;
    const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    assert.ok(chiSquare < 33.7, `chi-square ${chiSquare.toFixed(1)} is beyond the 0.01 % tail`); // p = 1e-4 at 9 d.o.f.
  });
});
