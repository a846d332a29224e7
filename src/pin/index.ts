export { checkPin, HISTORY_FAILURE, type PinContext, type PinRuleFailure, type PinRuleId } from './check.ts';
export { generatePin, cryptoDigits, MAX_GENERATION_ATTEMPTS, type DigitSource } from './generate.ts';
export { DEFAULT_POLICY, DEFAULT_POLICY_NAME, MAX_PIN_LENGTH, MIN_PIN_LENGTH, type PinPolicy } from './policy.ts';
