/**
 * The telephone side's PIN check (what a PBX calls) and the lockout state
 * machine of DESIGN §3 / pin-semantics.md §1.4: sequential failures count
 * across calls; every `LogonFailuresBeforePINReset` failures the PIN is reset
 * and mailed (the counter keeps running); at `MaxLogonAttempts` the mailbox
 * is locked until an administrator unlocks or resets it. A right PIN clears
 * the counter. An unknown mailbox answers exactly like a wrong PIN.
 *
 * The wrong-PIN throttle takes its slot before the KDF and gives it back
 * only when no wrong PIN was counted (a right PIN, a mailbox already
 * locked): however many checks arrive at once, at most its budget are
 * counted. It is keyed on the mailbox the call resolves to and the PBX's
 * address, never on the calling number, which the request supplies.
 * The lock itself moves only as docs/lockout.md's table says.
 */
import { randomBytes } from 'node:crypto';
import { isAmongVerifiers } from '../crypto/kdf.ts';
import { isPinExpired } from '../pin/index.ts';
import type { PinChangeEffects } from '../store/index.ts';
import { changePin } from './change-pin.ts';
import { enforce } from './limits.ts';
import type { Services } from './services.ts';

/** The mailbox a phone call names: its login, or its extension. */
export type PhoneTarget = { readonly mailbox: string } | { readonly extension: string };

/**
 * Where an attempt comes from: the PBX's address and, when it sends one,
 * the calling number. Wrong PINs are throttled per mailbox and PBX address;
 * the calling number is only audited (anyone can send another).
 */
export interface PhoneSource {
  readonly address: string;
  readonly caller?: string;
}

export interface LogonAnswer {
  readonly result: 'ok' | 'wrong-pin' | 'locked-out';
  readonly mustChange: boolean;
}

/**
 * The automatic reset keeps the failure counter running (Exchange: reset after 5, again after 10, locked at 15),
 * and keeps the lock as it is when it activates: delivered late, after the mailbox locked, it must not unlock it.
 */
const AUTO_RESET_EFFECTS: PinChangeEffects = Object.freeze({
  pinExpired: true, lockedOut: 'keep', clearFailedLogons: false, clearFirstTimeUser: false,
});

/** The user's own new PIN: proving the old one never unlocks (an administrator may have locked meanwhile). */
const CHANGE_EFFECTS: PinChangeEffects = Object.freeze({
  pinExpired: false, lockedOut: 'keep', clearFailedLogons: true, clearFirstTimeUser: true,
});

const WRONG: LogonAnswer = Object.freeze({ result: 'wrong-pin', mustChange: false });
const LOCKED: LogonAnswer = Object.freeze({ result: 'locked-out', mustChange: false });

export async function phoneLogon(services: Services, target: PhoneTarget, pin: string, source: PhoneSource): Promise<LogonAnswer> {
  const { answer, autoReset, login } = await verifyPhonePin(services, target, pin, source);
  services.metrics.countPinCheck(answer.result);
  if (autoReset && login !== undefined) await autoResetPin(services, login, source.address);
  return answer;
}

/**
 * The user's own new PIN, after proving the old one (which counts as a
 * logon attempt). Throws PinPolicyViolated naming every failed rule.
 */
export async function phoneChangePin(services: Services, target: PhoneTarget, oldPin: string, newPin: string, source: PhoneSource): Promise<LogonAnswer> {
  const { answer, autoReset, login } = await verifyPhonePin(services, target, oldPin, source);
  services.metrics.countPinCheck(answer.result);
  if (autoReset && login !== undefined) await autoResetPin(services, login, source.address);
  if (answer.result !== 'ok' || login === undefined) return answer;
  await changePin(services, login, {
    reason: 'change', by: { actor: login, source: `phone:${source.address}` }, chosenPin: newPin, mailTo: null, effects: CHANGE_EFFECTS,
  });
  return { result: 'ok', mustChange: false };
}

interface CheckOutcome {
  readonly answer: LogonAnswer;
  readonly login: string | undefined;
  /** Due after this failure; done outside the mailbox lock, which the reset takes itself. */
  readonly autoReset: boolean;
  /** A wrong PIN (or an unknown mailbox) was counted: the throttle's slot stays spent. */
  readonly counted: boolean;
}

async function verifyPhonePin(services: Services, target: PhoneTarget, pin: string, source: PhoneSource): Promise<CheckOutcome> {
  const { store, limits } = services;
  const login = 'mailbox' in target ? target.mailbox : await store.findMailboxLoginByExtension(target.extension);
  const audit = (outcome: string, detail?: Record<string, number | string>) => store.appendAudit({
    at: services.now(), event: 'pin.logon', outcome, login: login ?? null, actor: 'phone', source: source.address,
    ...(detail || source.caller ? { detail: { ...detail, ...(source.caller ? { caller: source.caller } : {}) } } : {}),
  });
  // One budget per mailbox whichever way the call names it (login or extension), per PBX address.
  const throttleKey = `${login !== undefined ? `m:${login}` : `e:${'extension' in target ? target.extension : ''}`}\u0000${limits.address(source.address)}`;
  const slot = await limits.phoneFailures.reserve(throttleKey);
  if (!slot.allowed) {
    // A locked mailbox still says so: that answer costs no KDF and counts nothing, and the PBX can tell its caller.
    if (login !== undefined && (await store.findMailbox(login))?.lockedOut) {
      await audit('locked-out');
      return { answer: LOCKED, login, autoReset: false, counted: false };
    }
    await audit('throttled');
    services.metrics.countPinCheck('throttled');
    enforce(slot, 'Too many wrong PINs for this mailbox from this phone system; try again later.');
  }
  let outcome: CheckOutcome;
  try {
    outcome = await checkUnderLock(services, login, pin, audit);
  } catch (error) {
    await slot.refund();
    throw error;
  }
  if (!outcome.counted) await slot.refund();
  return outcome;
}

type Audit = (outcome: string, detail?: Record<string, number | string>) => Promise<void>;

async function checkUnderLock(services: Services, login: string | undefined, pin: string, audit: Audit): Promise<CheckOutcome> {
  const { store, limits } = services;
  const unknownMailbox = async (): Promise<CheckOutcome> => {
    await services.kdf.pinVerifier(pin, randomBytes(16)); // the same work as a real check
    await audit('unknown-mailbox');
    return { answer: WRONG, login: undefined, autoReset: false, counted: true };
  };
  if (login === undefined) return unknownMailbox();
  // The mailbox is read once, under its lock: a read before it would be stale by the time it counted.
  return services.mailboxLocks.run(login, async () => {
    const current = await store.findMailbox(login);
    if (!current) return unknownMailbox();
    if (current.lockedOut) {
      await audit('locked-out');
      return { answer: LOCKED, login, autoReset: false, counted: false };
    }
    const active = current.hasPin ? await store.findActivePinVerifier(login) : undefined;
    // Computed under the key the active verifier was made with (one KDF call whatever the key); a key the
    // ring no longer holds (retired by force) or no PIN at all costs the same work and cannot match.
    const usable = active !== undefined && services.kdf.hasKey(active.keyId) ? active : undefined;
    const verifier = await services.kdf.pinVerifier(pin, current.pinSalt, usable?.keyId);
    if (usable !== undefined && isAmongVerifiers(verifier, [usable.verifier])) {
      // Most logons find the counter at 0 already; skipping the write saves a durable commit per logon.
      if (current.failedLogons > 0) await store.recordGoodLogon(login);
      if (usable.keyId !== services.kdf.currentKeyId) await rehashPin(services, login, pin, current.pinSalt, usable.verifier);
      const mustChange = isPinExpired(current, current.policy, services.now());
      await audit('ok');
      return { answer: { result: 'ok', mustChange }, login, autoReset: false, counted: false };
    }
    const { failedLogons, lockedOut } = await store.recordFailedLogon(login, current.policy.maxLogonAttempts);
    if (lockedOut) {
      await audit('locked-out-now', { failedLogons });
      services.metrics.countLockout();
      services.log.warn({ login, failedLogons }, 'mailbox locked out after failed phone logons');
      return { answer: LOCKED, login, autoReset: false, counted: true };
    }
    await audit('wrong-pin', { failedLogons });
    const every = current.policy.logonFailuresBeforePinReset;
    if (every === null || failedLogons % every !== 0) return { answer: WRONG, login, autoReset: false, counted: true };
    if (!(await limits.autoResets.hit(login)).allowed) {
      // Bounds the mails that wrong PINs can cause; the count and the lockout still run.
      await audit('auto-reset-suppressed', { failedLogons });
      return { answer: WRONG, login, autoReset: false, counted: true };
    }
    return { answer: WRONG, login, autoReset: true, counted: true };
  });
}

/**
 * Re-hash on use (docs/secret-rotation.md): the PIN the caller just proved is stored again under the
 * current server key, so the previous key can be retired once nothing uses it. Only if the verifier is
 * still the one checked; a failure here never fails the logon.
 */
async function rehashPin(services: Services, login: string, pin: string, salt: Buffer, checked: Buffer): Promise<void> {
  try {
    const verifier = await services.kdf.pinVerifier(pin, salt);
    await services.store.replaceActivePinVerifier(login, checked, { verifier, keyId: services.kdf.currentKeyId });
  } catch (error) {
    services.log.warn({ login, err: error }, 'the PIN verifier could not be re-made under the current server key; it is tried again at the next logon');
  }
}

/** A failed automatic reset is audited by changePin and logged; the caller's answer stays "wrong-pin". */
async function autoResetPin(services: Services, login: string, source: string): Promise<void> {
  try {
    await changePin(services, login, { reason: 'auto-reset', by: { actor: 'system', source: `phone:${source}` }, effects: AUTO_RESET_EFFECTS });
  } catch (error) {
    services.log.warn({ login, err: error }, 'the automatic PIN reset after failed phone logons failed; the old PIN stays');
  }
}
