export { checkPin, HISTORY_FAILURE, type PinContext, type PinRuleFailure, type PinRuleId } from './check.ts';
export { generatePin, cryptoDigits, MAX_GENERATION_ATTEMPTS, type DigitSource } from './generate.ts';
export { dialByNameDigits, isKeypadLine } from './keypad.ts';
export { isPinExpired } from './expiry.ts';
export {
  DEFAULT_POLICY, DEFAULT_POLICY_NAME, MAX_PIN_LENGTH, MAX_POLICY_TEXT, MIN_PIN_LENGTH, POLICY_RANGES, validatePolicy,
  type PinPolicy, type PolicyProblem,
} from './policy.ts';
