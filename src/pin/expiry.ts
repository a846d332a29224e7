import type { PinPolicy } from './policy.ts';

const DAY_MS = 86_400_000;

export interface PinAge {
  readonly pinExpired: boolean;
  readonly pinSetAt: Date | null;
  /** Length of the active PIN, when known; a PIN shorter than the policy's minimum is expired. */
  readonly pinLength: number | null;
}

/**
 * Whether the user must choose a new PIN at this logon: the flag is set
 * (reset, enable, admin), `PINLifetime` has passed since the PIN was set, or
 * the policy's minimum length was raised above the PIN's length (Exchange:
 * "the next time users log on they'll be forced to change their PIN").
 */
export function isPinExpired(state: PinAge, policy: PinPolicy, now: Date): boolean {
  if (state.pinExpired) return true;
  if (state.pinLength !== null && state.pinLength < policy.minPinLength) return true;
  if (policy.pinLifetimeDays === null || state.pinSetAt === null) return false;
  return now.getTime() - state.pinSetAt.getTime() >= policy.pinLifetimeDays * DAY_MS;
}
