/**
 * The administrator's commands: a typed table, each with its usage, help
 * and action. Actions get the parsed arguments and open services only when
 * they need them.
 */
import { ConfigError, SETTINGS, loadConfig } from '../config.ts';
import { openServices, serve } from '../main.ts';
import { addUser, enableMailbox, showMailbox, showPolicies } from '../operations/admin.ts';
import type { Services } from '../operations/services.ts';
import type { PinPolicy } from '../pin/index.ts';
import { formatFields, readSecretFromStdin, yesNo } from './io.ts';

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
}

export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly help: string;
  readonly options: Readonly<Record<string, { type: 'string' | 'boolean' }>>;
  readonly positionals: { readonly min: number; readonly max: number };
  run(args: ParsedArgs): Promise<void>;
}

async function withServices<T>(action: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const opened = await openServices(config, cliLogger);
  try {
    return await action(opened.services);
  } finally {
    await opened.close();
  }
}

const cliLogger = {
  info: () => undefined,
  warn: (object: object, message?: string) => console.error(`warning: ${message ?? ''}`, JSON.stringify(object)),
  error: (object: object, message?: string) => console.error(`error: ${message ?? ''}`, JSON.stringify(object)),
};

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    usage: 'umpin serve',
    summary: 'run the web service (what `npm start` runs)',
    help: `Serves ResetPIN at /EWS/UM2007Legacy.asmx and /UnifiedMessaging/Service.asmx.
Settings come from the environment:
${Object.entries(SETTINGS).map(([name, s]) => `  ${name.padEnd(22)} ${s.help} (default ${s.default})`).join('\n')}`,
    options: {},
    positionals: { min: 0, max: 0 },
    run: async () => serve(loadConfig()),
  },
  {
    name: 'user add',
    usage: 'umpin user add <login> --password-stdin',
    summary: 'add a user who may sign in to the web service',
    help: `Reads the password from standard input (one trailing newline is dropped) and
stores only its argon2id verifier. Example:
  printf '%s' "$PASSWORD" | umpin user add alice --password-stdin`,
    options: { 'password-stdin': { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      if (options['password-stdin'] !== true) {
        throw new UsageError('Pass --password-stdin and pipe the password in; passwords are never taken as arguments (they would show in ps and shell history).');
      }
      const password = await readSecretFromStdin();
      const login = positionals[0] as string;
      await withServices((services) => addUser(services, login, password));
      print(`Added user ${login}.`);
    },
  },
  {
    name: 'mailbox enable',
    usage: 'umpin mailbox enable <login> --email <address> --extension <digits> [--language <tag>] [--policy <name>]',
    summary: 'enable a mailbox for voice mail and mail its first PIN',
    help: `Like Enable-UMMailbox: the mailbox is linked to a PIN policy (default: "default"),
gets a generated PIN that obeys it, and the PIN is mailed in a welcome message.
The PIN takes effect only once that mail is handed off. If the mail fails, run
the same command again to send a new one.`,
    options: { email: { type: 'string' }, extension: { type: 'string' }, language: { type: 'string' }, policy: { type: 'string' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const login = positionals[0] as string;
      const email = requireOption(options, 'email');
      const extension = requireOption(options, 'extension');
      const outcome = await withServices((services) => enableMailbox(services, login, {
        email, extension,
        ...(typeof options.language === 'string' ? { language: options.language } : {}),
        ...(typeof options.policy === 'string' ? { policy: options.policy } : {}),
      }));
      print(`Enabled ${login} for voice mail; the welcome mail with the PIN was handed off to ${email} (${outcome.receipt?.reply ?? 'no mail'}).`);
    },
  },
  {
    name: 'pin show',
    usage: 'umpin pin show <login> [--json]',
    summary: "show a mailbox's PIN state (never the PIN)",
    help: `Like Get-UMMailboxPin: PinExpired, FirstTimeUser, LockedOut, plus when the PIN
was set and the failed phone logons since the last good one.`,
    options: { json: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const mailbox = await withServices((services) => showMailbox(services, positionals[0] as string));
      const state = {
        login: mailbox.login,
        hasPin: mailbox.hasPin,
        pinExpired: mailbox.pinExpired,
        firstTimeUser: mailbox.firstTimeUser,
        lockedOut: mailbox.lockedOut,
        pinSetAt: mailbox.pinSetAt?.toISOString() ?? null,
        failedLogons: mailbox.failedLogons,
        policy: mailbox.policy.name,
      };
      print(options.json === true ? JSON.stringify(state) : formatFields([
        ['Mailbox', state.login],
        ['Has PIN', yesNo(state.hasPin)],
        ['PIN set at', state.pinSetAt ?? 'never'],
        ['PIN expired', yesNo(state.pinExpired)],
        ['First-time user', yesNo(state.firstTimeUser)],
        ['Locked out', yesNo(state.lockedOut)],
        ['Failed logons', String(state.failedLogons)],
        ['Policy', state.policy],
      ]));
    },
  },
  {
    name: 'policy show',
    usage: 'umpin policy show [<name>] [--json]',
    summary: 'show PIN policies',
    help: 'Like Get-UMMailboxPolicy. Without a name, shows every policy. "Unlimited" is null in --json.',
    options: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 1 },
    async run({ positionals, options }) {
      const policies = await withServices((services) => showPolicies(services, positionals[0]));
      print(options.json === true
        ? JSON.stringify(positionals[0] === undefined ? policies : policies[0])
        : policies.map(describePolicy).join('\n\n'));
    },
  },
];

function describePolicy(policy: PinPolicy): string {
  const limit = (value: number | null) => (value === null ? 'Unlimited' : String(value));
  return formatFields([
    ['Name', policy.name],
    ['MinPINLength', String(policy.minPinLength)],
    ['PINLifetime (days)', limit(policy.pinLifetimeDays)],
    ['PINHistoryCount', String(policy.pinHistoryCount)],
    ['AllowCommonPatterns', policy.allowCommonPatterns ? 'true' : 'false'],
    ['LogonFailuresBeforePINReset', limit(policy.logonFailuresBeforePinReset)],
    ['MaxLogonAttempts', limit(policy.maxLogonAttempts)],
    ['ResetPINText', policy.resetPinText === '' ? '(none)' : policy.resetPinText],
    ['UMEnabledText', policy.umEnabledText === '' ? '(none)' : policy.umEnabledText],
  ]);
}

/** A command line that cannot be run as typed; exit code 2. */
export class UsageError extends Error {}

function requireOption(options: ParsedArgs['options'], name: string): string {
  const value = options[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required.`);
  return value;
}

export { ConfigError };
