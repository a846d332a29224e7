/**
 * What every command of the table shares: its type, the usage error (exit
 * 2), opening the services only when a command needs them, and the parsers
 * for option values. A value is parsed here into its type or refused with a
 * message naming the option; whether it is in range is the operation's call.
 */
import { loadConfig } from '../config.ts';
import type { PinChangeOutcome } from '../operations/change-pin.ts';
import type { Services } from '../operations/services.ts';

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
}

export interface Command {
  /** One or two words: `serve`, `policy new`. */
  readonly name: string;
  readonly usage: string;
  /** One line for `umpin --help`. */
  readonly summary: string;
  /** What it does, for `umpin <command> --help`. */
  readonly help: string;
  /** Complete command lines, shown under the help. */
  readonly examples: readonly string[];
  readonly options: Readonly<Record<string, { type: 'string' | 'boolean' }>>;
  readonly positionals: { readonly min: number; readonly max: number };
  run(args: ParsedArgs): Promise<void>;
}

/** A command line that cannot be run as typed; exit code 2. */
export class UsageError extends Error {}

/** The command ran but did not do all it was asked (a batch with failed lines); exit code 1. */
export class CommandFailed extends Error {}

export const cliLogger = {
  info: () => undefined,
  warn: (object: object, message?: string) => console.error(`warning: ${message ?? ''}`, JSON.stringify(object)),
  error: (object: object, message?: string) => console.error(`error: ${message ?? ''}`, JSON.stringify(object)),
};

/** Opens the configured services for one action and closes them after it, however it ends. */
export async function withServices<T>(action: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Loaded here, not at the top: main.ts brings the HTTP server and mail relay with it, which
  // help, usage errors and a bad configuration do not need (it is most of a command's start-up).
  const { openServices } = await import('../open-services.ts');
  const opened = await openServices(config, cliLogger);
  try {
    return await action(opened.services);
  } finally {
    await opened.close();
  }
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

// ---- option values -------------------------------------------------------------

type Options = ParsedArgs['options'];

/** A string option's value, or undefined when it was not given. */
export function stringOption(options: Options, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

export function requireOption(options: Options, name: string): string {
  const value = options[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required.`);
  return value;
}

/** `0`, `12`: digits only, so `1.5`, `-1` and `1e3` are refused rather than guessed at. */
export function parseWholeNumber(option: string, text: string): number {
  if (!/^[0-9]{1,15}$/.test(text)) throw new UsageError(`--${option} "${text}" is not a whole number.`);
  return Number(text);
}

/** A whole number, or `Unlimited` (any case) as null, as Exchange writes it. */
export function parseNumberOrUnlimited(option: string, text: string): number | null {
  if (text.toLowerCase() === 'unlimited') return null;
  if (!/^[0-9]{1,15}$/.test(text)) throw new UsageError(`--${option} "${text}" is not a whole number or Unlimited.`);
  return Number(text);
}

/** `true` or `false` in any case; PowerShell's `$true` and `$false` too. */
export function parseBoolean(option: string, text: string): boolean {
  const value = text.toLowerCase().replace(/^\$/, '');
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--${option} "${text}" is not true or false.`);
}

/** The value of a `true|false` option, or undefined when it was not given. */
export function booleanOption(options: Options, name: string): boolean | undefined {
  const text = stringOption(options, name);
  return text === undefined ? undefined : parseBoolean(name, text);
}

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time: an ISO 8601 date or time (`2026-11-23`, `2026-11-23T19:00:00Z`)
 * or an age counted back from `now` (`30m`, `24h`, `7d`, `2w`).
 */
export function parseSince(option: string, text: string, now: Date): Date {
  const age = /^([0-9]{1,9})([mhdw])$/.exec(text);
  if (age) return new Date(now.getTime() - Number(age[1]) * (UNIT_MS[age[2] as string] as number));
  if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(text)) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new UsageError(`--${option} "${text}" is neither an ISO time such as 2026-11-23T19:00:00Z nor an age such as 30m, 24h, 7d or 2w.`);
}

/** What happened to a PIN mail, for the line a command prints: handed off, queued for the outbox, or none sent. */
export function describeMailOutcome(outcome: PinChangeOutcome, what: string, to: string): string {
  if (outcome.receipt) return `the ${what} with the PIN was handed off to ${to} (${outcome.receipt.reply})`;
  if (outcome.queued) {
    return `the ${what} with the PIN to ${to} could not be handed off yet (${outcome.queued.reply}); it is queued, "umpin serve" retries it ` +
      `from ${outcome.queued.nextAttemptAt.toISOString()}, and the new PIN takes effect once it is delivered`;
  }
  return 'no mail was sent';
}
