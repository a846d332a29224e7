/**
 * The two FastAGI scripts (docs/pbx.md): `logon` asks for the PIN (and the
 * mailbox when the dialplan gives none), checks it through phoneLogon — the
 * operation behind POST /tui/v1/logon, so failures, automatic resets, expiry
 * and lockout are one counter whichever road a PIN comes in by — and runs the
 * change dialog when the PIN must change; `change-pin` is the same with the
 * change always asked for, for a menu entry. The prompts are Asterisk's own
 * (app_voicemail.c's defaults, in asterisk-core-sounds), so the caller hears
 * what VoiceMailMain would have said.
 *
 * The outcome goes back as channel variables: UMPIN_RESULT
 * (ok | wrong-pin | locked-out | not-changed | error), and on ok only
 * UMPIN_MAILBOX and UMPIN_CONTEXT for `VoiceMailMain(${UMPIN_MAILBOX}@${UMPIN_CONTEXT},s)`.
 * A new PIN is committed only after it was entered twice and the channel is
 * still up: a caller who hangs up mid-dialog leaves nothing half done.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { PinPolicyViolated, ServerBusy } from '../errors.ts';
import { checkNewPin, resolvePbxMailbox } from '../operations/pbx-pin.ts';
import { phoneChangePin, phoneLogon, type PhoneSource, type PhoneTarget } from '../operations/phone.ts';
import type { Services } from '../operations/services.ts';
import { quoteAgiArgument, type AgiChannel, type AgiEnvironment } from './agi-channel.ts';

/** app_voicemail.c's default prompt names (vm_login, vm_password, … and vm-incorrect). */
export const PROMPTS = Object.freeze({
  login: 'vm-login',
  password: 'vm-password',
  incorrect: 'vm-incorrect',
  newPassword: 'vm-newpassword',
  reenter: 'vm-reenterpassword',
  mismatch: 'vm-mismatch',
  invalid: 'vm-invalid-password',
  tryAgain: 'vm-pls-try-again',
  changed: 'vm-passchanged',
});

/** app_voicemail's `maxlogins` default: tries per call, before umpin's own counter across calls. */
export const TRIES_PER_CALL = 3;
/** GET DATA's timeout, for the first digit and between digits (ms). */
const DIGIT_TIMEOUT_MS = 6000;
/** The longest PIN a policy allows (DESIGN §3: pin.too-long is over 24). */
const MAX_PIN_DIGITS = 24;
const MAX_MAILBOX_DIGITS = 20;
/** What Asterisk accepts as a mailbox and a context in voicemail.conf, bounded. */
const MAILBOX_ID = /^[A-Za-z0-9._-]{1,80}$/;
const DEFAULT_CONTEXT = 'default';

export type PinScriptResult = 'ok' | 'wrong-pin' | 'locked-out' | 'not-changed' | 'error';

export interface PinScriptOptions {
  readonly services: Services;
  readonly channel: AgiChannel;
  readonly environment: AgiEnvironment;
  /** Asterisk's address, the PBX, as phoneLogon's source. */
  readonly peerAddress: string;
  readonly extensionContexts: readonly string[];
  /** `change-pin`: ask for a new PIN even when the current one has not expired. */
  readonly alwaysChange: boolean;
}

/** The caller left (GET DATA answered -1, or Asterisk sent HANGUP): stop at once, commit nothing. */
class CallerGone extends Error {}

export async function runPinScript(options: PinScriptOptions): Promise<PinScriptResult> {
  const { channel } = options;
  // A stale UMPIN_RESULT=ok from an earlier run on this channel must not survive a failed one.
  await setVariable(channel, 'UMPIN_RESULT', 'error');
  await setVariable(channel, 'UMPIN_MAILBOX', '');
  await setVariable(channel, 'UMPIN_CONTEXT', '');
  let result: PinScriptResult;
  let box: { id: string; context: string } | undefined;
  try {
    box = await askMailbox(options);
    result = box === undefined ? 'wrong-pin' : await logon(options, box);
  } catch (error) {
    if (error instanceof CallerGone) return 'error';
    throw error;
  }
  if (result === 'ok' && box !== undefined) {
    await setVariable(channel, 'UMPIN_MAILBOX', box.id);
    await setVariable(channel, 'UMPIN_CONTEXT', box.context);
  }
  await setVariable(channel, 'UMPIN_RESULT', result);
  return result;
}

/** `agi_arg_1` is `box` or `box@context`, `agi_arg_2` the context; without them the caller types the box. */
async function askMailbox(options: PinScriptOptions): Promise<{ id: string; context: string } | undefined> {
  const [first = '', second = ''] = options.environment.args;
  const [argId = '', argContext = ''] = first.split('@', 2);
  const context = argContext || second || DEFAULT_CONTEXT;
  if (!MAILBOX_ID.test(context)) return undefined;
  if (argId !== '') return MAILBOX_ID.test(argId) ? { id: argId, context } : undefined;
  for (let attempt = 0; attempt < TRIES_PER_CALL; attempt += 1) {
    const typed = await getData(options.channel, PROMPTS.login, MAX_MAILBOX_DIGITS);
    if (/^\d+$/.test(typed)) return { id: typed, context };
  }
  return undefined;
}

async function logon(options: PinScriptOptions, box: { id: string; context: string }): Promise<PinScriptResult> {
  const { services, channel } = options;
  const target = await resolvePbxMailbox(services, box.id, box.context, options.extensionContexts);
  const source = phoneSource(options);
  for (let attempt = 0; attempt < TRIES_PER_CALL; attempt += 1) {
    if (attempt > 0) await play(channel, PROMPTS.incorrect);
    const pin = await getData(channel, PROMPTS.password, MAX_PIN_DIGITS);
    // Nothing, or a * or # in it, can never be a PIN: a try of this call, not a guess counted by umpin.
    if (!/^\d+$/.test(pin)) continue;
    let answer;
    try {
      answer = await phoneLogon(services, target, pin, source);
    } catch (error) {
      return failed(options, error);
    }
    if (answer.result === 'locked-out') return 'locked-out';
    if (answer.result === 'wrong-pin') continue;
    return answer.mustChange || options.alwaysChange ? changeDialog(options, target, pin, source) : 'ok';
  }
  return 'wrong-pin';
}

/**
 * app_voicemail's own order (vm_newuser_setup, vm_options): new PIN, the
 * policy check (its externpasscheck point), the same PIN again, then commit.
 */
async function changeDialog(options: PinScriptOptions, target: PhoneTarget, oldPin: string, source: PhoneSource): Promise<PinScriptResult> {
  const { services, channel } = options;
  for (let attempt = 0; attempt < TRIES_PER_CALL; attempt += 1) {
    const newPin = await getData(channel, PROMPTS.newPassword, MAX_PIN_DIGITS);
    const verdict = /^\d+$/.test(newPin) ? await judgeNewPin(options, target, newPin) : 'invalid';
    if (verdict === 'error') return 'error';
    if (verdict === 'invalid') {
      await play(channel, PROMPTS.invalid);
      await play(channel, PROMPTS.tryAgain);
      continue;
    }
    const again = await getData(channel, PROMPTS.reenter, MAX_PIN_DIGITS);
    if (!isSameEntry(newPin, again)) {
      await play(channel, PROMPTS.mismatch);
      continue;
    }
    if (channel.hungUp) throw new CallerGone(); // the last moment at which leaving can still mean "nothing changed"
    try {
      const answer = await phoneChangePin(services, target, oldPin, newPin, source);
      if (answer.result !== 'ok') return answer.result === 'locked-out' ? 'locked-out' : 'error';
    } catch (error) {
      if (!(error instanceof PinPolicyViolated)) return failed(options, error);
      await play(channel, PROMPTS.invalid); // a change that landed meanwhile put the PIN into the history
      await play(channel, PROMPTS.tryAgain);
      continue;
    }
    await play(channel, PROMPTS.changed).catch(() => undefined); // changed: a hang-up now changes nothing
    return 'ok';
  }
  return 'not-changed';
}

/** umpin's dry run (every policy rule and the history) on the first entry, as app_voicemail runs externpasscheck there. */
async function judgeNewPin(options: PinScriptOptions, target: PhoneTarget, newPin: string): Promise<'valid' | 'invalid' | 'error'> {
  try {
    await checkNewPin(options.services, target, newPin);
    return 'valid';
  } catch (error) {
    if (error instanceof PinPolicyViolated) return 'invalid';
    failed(options, error);
    return 'error';
  }
}

function failed(options: PinScriptOptions, error: unknown): PinScriptResult {
  // Busy (throttled, or a change of this mailbox in flight) and anything unexpected: the dialplan's error branch.
  if (!(error instanceof ServerBusy)) options.services.log.error({ err: error, script: options.environment.script }, 'a FastAGI PIN script failed');
  return 'error';
}

/** Asterisk's address and, when it has one, the calling number: phoneLogon throttles per mailbox and source. */
function phoneSource(options: PinScriptOptions): PhoneSource {
  const caller = options.environment.variables.get('agi_callerid') ?? '';
  return caller === '' || caller === 'unknown' || caller.length > 64 ? { address: options.peerAddress } : { address: options.peerAddress, caller };
}

/** The two entries of a new PIN, compared without a timing signal (equal-length digests). */
function isSameEntry(first: string, second: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(first), digest(second));
}

async function getData(channel: AgiChannel, prompt: string, maxDigits: number): Promise<string> {
  if (channel.hungUp) throw new CallerGone();
  const reply = await channel.command(`GET DATA ${prompt} ${DIGIT_TIMEOUT_MS} ${maxDigits}`);
  // -1: the channel hung up, or the prompt could not be played; either way no digits will come.
  if (reply.code !== 200 || reply.result === undefined || reply.result === '-1') throw new CallerGone();
  return reply.result; // digits typed before a timeout count, as ast_readstring's do in vm_authenticate
}

async function play(channel: AgiChannel, file: string): Promise<void> {
  if (channel.hungUp) throw new CallerGone();
  const reply = await channel.command(`STREAM FILE ${file} ""`);
  if (reply.code !== 200) throw new CallerGone();
}

async function setVariable(channel: AgiChannel, name: string, value: string): Promise<void> {
  await channel.command(`SET VARIABLE ${name} ${quoteAgiArgument(value)}`);
}
