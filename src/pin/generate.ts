/**
 * Random PINs that satisfy a policy: CSPRNG digits of the policy's minimum
 * length, rejection-sampled until the checker passes them. Rejection keeps
 * the surviving PINs uniform over the allowed set.
 */
import { randomInt } from 'node:crypto';
import { checkPin, type PinContext } from './check.ts';
import type { PinPolicy } from './policy.ts';

/** A source of uniformly random digits 0–9. */
export type DigitSource = () => number;

export const cryptoDigits: DigitSource = () => randomInt(10);

/**
 * Enough that a policy whose allowed set is at least 1 % of all PINs fails
 * with probability below 1e-43; a smaller set means the policy is broken.
 */
export const MAX_GENERATION_ATTEMPTS = 10_000;

/** Returns a PIN that passes `checkPin`, or `undefined` when none was found within the bound. */
export function generatePin(policy: PinPolicy, context: PinContext, nextDigit: DigitSource = cryptoDigits): string | undefined {
  for (let attempt = 0; attempt < MAX_GENERATION_ATTEMPTS; attempt += 1) {
    let pin = '';
    for (let i = 0; i < policy.minPinLength; i += 1) pin += String(nextDigit());
    if (checkPin(pin, policy, context).length === 0) return pin;
  }
  return undefined;
}
