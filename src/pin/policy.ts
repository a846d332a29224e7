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
  logonFailuresBeforePinReset: 5,
  maxLogonAttempts: 15,
  resetPinText: '',
  umEnabledText: '',
});

/** Exchange's `MinPINLength` range; also the longest PIN a user may choose. */
export const MIN_PIN_LENGTH = 4;
export const MAX_PIN_LENGTH = 24;
