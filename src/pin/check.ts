/**
 * The PIN checker: every rule a PIN can fail, each with a stable id and a
 * sentence (DESIGN §3). It returns all failures, so a user learns every
 * reason at once. Pure: no I/O. History is checked by the caller, because it
 * needs the KDF (`pin.history` is named here so the ids live in one place).
 */
import { dialByNameDigits, isKeypadLine } from './keypad.ts';
import { MAX_PIN_LENGTH, type PinPolicy } from './policy.ts';

export type PinRuleId =
  | 'pin.not-digits'
  | 'pin.too-short'
  | 'pin.too-long'
  | 'pin.repeated'
  | 'pin.sequential'
  | 'pin.extension'
  | 'pin.history'
  | 'pin.repeated-group'
  | 'pin.two-digits'
  | 'pin.triple'
  | 'pin.keypad-line'
  | 'pin.name';

export interface PinRuleFailure {
  readonly id: PinRuleId;
  readonly message: string;
}

export interface PinContext {
  /** The mailbox's extension, digits only. */
  readonly extension: string;
  /** For the strict rule set's dial-by-name rule. */
  readonly firstName?: string;
  readonly lastName?: string;
}

/** Names shorter than this dial too few digits to be guessable from the name. */
const MIN_NAME_DIGITS = 3;

export function checkPin(pin: string, policy: PinPolicy, context: PinContext): PinRuleFailure[] {
  if (!/^[0-9]+$/.test(pin)) {
    return [{ id: 'pin.not-digits', message: 'A PIN may contain only the digits 0 to 9.' }];
  }
  const failures: PinRuleFailure[] = [];
  const fail = (id: PinRuleId, message: string) => failures.push({ id, message });
  if (pin.length < policy.minPinLength) fail('pin.too-short', `A PIN must have at least ${policy.minPinLength} digits.`);
  if (pin.length > MAX_PIN_LENGTH) fail('pin.too-long', `A PIN may have at most ${MAX_PIN_LENGTH} digits.`);
  if (!policy.allowCommonPatterns) {
    if (isAllSameDigit(pin)) fail('pin.repeated', 'A PIN may not be one digit repeated, such as 111111.');
    if (isConsecutiveRun(pin)) fail('pin.sequential', 'A PIN may not be a run of consecutive digits, such as 123456 or 654321.');
  }
  if (isExtensionDerived(pin, context.extension)) {
    fail('pin.extension', 'A PIN may not be the end of your extension number or contain the whole extension.');
  }
  if (policy.strictRules) {
    if (/^(\d+)\1+$/.test(pin)) fail('pin.repeated-group', 'A PIN may not be a group of digits repeated, such as 123123.');
    if (new Set(pin).size <= 2) fail('pin.two-digits', 'A PIN must use more than two different digits.');
    if (/(\d)\1\1/.test(pin)) fail('pin.triple', 'A PIN may not have the same digit three times in a row.');
    if (isKeypadLine(pin)) fail('pin.keypad-line', 'A PIN may not be digits dialled in a straight line on the keypad, such as 2580.');
    if (isNameDerived(pin, context)) fail('pin.name', 'A PIN may not spell your first or last name on the keypad.');
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
 * runs wrap, and rejecting them is the safer reading (README, PIN rules).
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

/** The PIN contains the dial-by-name digits of the first or last name (Cisco's trivial-PIN rule). */
function isNameDerived(pin: string, context: PinContext): boolean {
  return [context.firstName, context.lastName]
    .map((name) => dialByNameDigits(name ?? ''))
    .some((digits) => digits.length >= MIN_NAME_DIGITS && pin.includes(digits));
}
