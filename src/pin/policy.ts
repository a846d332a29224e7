/**
 * Exchange's UM mailbox policy: the PIN rules a mailbox lives under
 * (DESIGN §3, pin-semantics.md §1.1). `null` stands for Exchange's `Unlimited`.
 */
export interface PinPolicy {
  readonly name: string;
  readonly minPinLength: number;
  readonly pinLifetimeDays: number | null;
  readonly pinHistoryCount: number;
  readonly allowCommonPatterns: boolean;
  /** Cisco's "trivial PIN" family on top of Exchange's rules (DESIGN §3). */
  readonly strictRules: boolean;
  readonly logonFailuresBeforePinReset: number | null;
  readonly maxLogonAttempts: number | null;
  readonly resetPinText: string;
  readonly umEnabledText: string;
}

export const DEFAULT_POLICY_NAME = 'default';

/** Exchange's defaults for a new UM mailbox policy. */
export const DEFAULT_POLICY: PinPolicy = Object.freeze({
  name: DEFAULT_POLICY_NAME,
  minPinLength: 6,
  pinLifetimeDays: 60,
  pinHistoryCount: 5,
  allowCommonPatterns: false,
  strictRules: false,
  logonFailuresBeforePinReset: 5,
  maxLogonAttempts: 15,
  resetPinText: '',
  umEnabledText: '',
});

/** Exchange's `MinPINLength` range; also the longest PIN a user may choose. */
export const MIN_PIN_LENGTH = 4;
export const MAX_PIN_LENGTH = 24;

/** Exchange's ranges for each numeric setting (`null` allowed where Exchange says `Unlimited`). */
export const POLICY_RANGES = Object.freeze({
  minPinLength: { min: MIN_PIN_LENGTH, max: MAX_PIN_LENGTH, unlimited: false },
  pinLifetimeDays: { min: 1, max: 999, unlimited: true },
  pinHistoryCount: { min: 1, max: 20, unlimited: false },
  logonFailuresBeforePinReset: { min: 1, max: 998, unlimited: true },
  maxLogonAttempts: { min: 1, max: 999, unlimited: true },
});

export const MAX_POLICY_TEXT = 512;

/** One problem with a policy, naming the setting as Exchange does. */
export interface PolicyProblem {
  readonly setting: string;
  readonly message: string;
}

const EXCHANGE_NAMES: Readonly<Record<keyof typeof POLICY_RANGES, string>> = {
  minPinLength: 'MinPINLength',
  pinLifetimeDays: 'PINLifetime',
  pinHistoryCount: 'PINHistoryCount',
  logonFailuresBeforePinReset: 'LogonFailuresBeforePINReset',
  maxLogonAttempts: 'MaxLogonAttempts',
};

/** Every problem with `policy`, or none. Pure, so the CLI and tests share it. */
export function validatePolicy(policy: PinPolicy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(policy.name)) {
    problems.push({ setting: 'Name', message: 'Name must be 1–64 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit.' });
  }
  for (const [key, range] of Object.entries(POLICY_RANGES) as Array<[keyof typeof POLICY_RANGES, (typeof POLICY_RANGES)[keyof typeof POLICY_RANGES]]>) {
    const value = policy[key];
    const name = EXCHANGE_NAMES[key];
    if (value === null) {
      if (!range.unlimited) problems.push({ setting: name, message: `${name} cannot be Unlimited.` });
    } else if (!Number.isInteger(value) || value < range.min || value > range.max) {
      problems.push({ setting: name, message: `${name} must be a whole number from ${range.min} to ${range.max}${range.unlimited ? ' or Unlimited' : ''}.` });
    }
  }
  const reset = policy.logonFailuresBeforePinReset;
  const lockout = policy.maxLogonAttempts;
  if (reset !== null && lockout !== null && reset >= lockout) {
    problems.push({ setting: 'LogonFailuresBeforePINReset', message: 'LogonFailuresBeforePINReset must be less than MaxLogonAttempts (or Unlimited).' });
  }
  for (const [key, name] of [['resetPinText', 'ResetPINText'], ['umEnabledText', 'UMEnabledText']] as const) {
    if (policy[key].length > MAX_POLICY_TEXT) problems.push({ setting: name, message: `${name} may be at most ${MAX_POLICY_TEXT} characters.` });
  }
  return problems;
}
