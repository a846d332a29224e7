/**
 * The PIN checker: every rule a PIN can fail, each with a stable id and a
 * sentence (DESIGN §3). It returns all failures, so a user learns every
 * reason at once. Pure: no I/O. History is checked by the caller, because it
 * needs the KDF (`pin.history` is named here so the ids live in one place).
 */
import { MAX_PIN_LENGTH, type PinPolicy } from './policy.ts';

export type PinRuleId =
  | 'pin.not-digits'
  | 'pin.too-short'
  | 'pin.too-long'
  | 'pin.repeated'
  | 'pin.sequential'
  | 'pin.extension'
  | 'pin.history';

export interface PinRuleFailure {
  readonly id: PinRuleId;
  readonly message: string;
}

export interface PinContext {
  /** The mailbox's extension, digits only. */
  readonly extension: string;
}

export function checkPin(pin: string, policy: PinPolicy, context: PinContext): PinRuleFailure[] {
  if (!/^[0-9]+$/.test(pin)) {
    return [{ id: 'pin.not-digits', message: 'A PIN may contain only the digits 0 to 9.' }];
  }
  const failures: PinRuleFailure[] = [];
  if (pin.length < policy.minPinLength) {
    failures.push({ id: 'pin.too-short', message: `A PIN must have at least ${policy.minPinLength} digits.` });
  }
  if (pin.length > MAX_PIN_LENGTH) {
    failures.push({ id: 'pin.too-long', message: `A PIN may have at most ${MAX_PIN_LENGTH} digits.` });
  }
  if (!policy.allowCommonPatterns) {
    if (isAllSameDigit(pin)) {
      failures.push({ id: 'pin.repeated', message: 'A PIN may not be one digit repeated, such as 111111.' });
    }
    if (isConsecutiveRun(pin)) {
      failures.push({ id: 'pin.sequential', message: 'A PIN may not be a run of consecutive digits, such as 123456 or 654321.' });
    }
  }
  if (isExtensionDerived(pin, context.extension)) {
    failures.push({ id: 'pin.extension', message: 'A PIN may not be the end of your extension number or contain the whole extension.' });
  }
  return failures;
}

export const HISTORY_FAILURE: PinRuleFailure = Object.freeze({
  id: 'pin.history',
  message: 'A PIN may not be one of your recent PINs.',
});

function isAllSameDigit(pin: string): boolean {
  return [...pin].every((digit) => digit === pin[0]);
}

/**
 * Ascending or descending by one at every step. The step wraps 9→0 and 0→9,
 * so keypad runs such as 7890 and 0987 count: Exchange does not say whether
 * runs wrap, and rejecting them is the safer reading (docs/pin-policy.md).
 */
function isConsecutiveRun(pin: string): boolean {
  if (pin.length < 2) return false;
  const step = (i: number) => (Number(pin[i + 1]) - Number(pin[i]) + 10) % 10;
  const first = step(0);
  if (first !== 1 && first !== 9) return false;
  for (let i = 1; i < pin.length - 1; i += 1) if (step(i) !== first) return false;
  return true;
}

/**
 * Exchange's two readings of the extension rule, both enforced even when
 * common patterns are allowed: the PIN is a suffix of the extension
 * (extension 36697 forbids 6697), or the PIN contains the whole extension
 * (36697 forbids 3669712).
 */
function isExtensionDerived(pin: string, extension: string): boolean {
  if (extension === '') return false;
  return extension.endsWith(pin) || pin.includes(extension);
}
