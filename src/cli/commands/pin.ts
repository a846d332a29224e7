/** Set-UMMailboxPIN (one mailbox, or many from CSV), Get-UMMailboxPin, and locking. */
import { readFile } from 'node:fs/promises';
import { showMailbox } from '../../operations/admin/mailboxes.ts';
import { findLastMail, lockMailbox, resetPinByAdmin, unlockMailbox, type AdminPinReset } from '../../operations/admin/pins.ts';
import { BULK_RESET_COLUMNS, bulkResetPins, type BulkResetResult } from '../../operations/bulk-reset.ts';
import { bulkLinesFromCsv, formatBulkResult } from '../bulk-reset-csv.ts';
import { CommandFailed, UsageError, booleanOption, describeMailOutcome, print, stringOption, withServices, type Command, type ParsedArgs } from '../command.ts';
import { formatFields, progressLine, readStdin, yesNo } from '../io.ts';
import { mailboxJson } from './mailbox.ts';

const RESET_HELP = `Like Set-UMMailboxPIN. Without a chosen PIN one is generated and mailed; it takes
effect only once the mail is handed off (a mail the relay cannot take now is
queued, and "umpin serve" retries it). A chosen PIN must meet the policy (every
broken rule is listed with its id, and nothing changes); it is mailed too unless
--no-email is given. A PIN is never taken as an argument: it would show in ps
and in the shell's history.
  --pin-stdin                 read the PIN to set from standard input (one
                              trailing newline is dropped)
  --pin-file <file>           read the PIN to set from this file
  --expired true|false        the user must choose a new PIN at the next phone
                              logon (default true)
  --locked-out true|false     lock the mailbox out of phone logons (default false:
                              a reset unlocks it and clears the failed logons)
  --notify-email <address>    mail the PIN here instead of the mailbox's address
  --no-email                  send no mail (needs --pin-stdin or --pin-file)

Many mailboxes at once: --csv <file> (or - for standard input) reads a CSV file
whose first line names its columns, from:
  ${BULK_RESET_COLUMNS.join(', ')}
Only login is required. An empty cell takes the default; --expired, --locked-out
and --no-email set the defaults for the whole file. Fields with commas, quotes or
line breaks are quoted ("a, b" and "say ""hi"""). Blank lines and lines starting
with # are skipped. A file that is not valid CSV, or whose header has no login
column or an unknown column, is refused before any PIN changes (exit 2).
Every line is reported as "reset" (with where the mail went, or that it is
queued), "skipped" or "failed" with the reason, then a summary. One failed line
does not stop the others, and the exit code is 1 if any line failed. PINs are
never printed. On a terminal, progress shows on stderr.`;

/** The mailbox's state as Get-UMMailboxPin shows it. */
function pinState(mailbox: ReturnType<typeof mailboxJson>) {
  const { login, hasPin, pinExpired, firstTimeUser, lockedOut, pinSetAt, failedLogons, policy } = mailbox;
  return { login, hasPin, pinExpired, firstTimeUser, lockedOut, pinSetAt, failedLogons, policy };
}

/** A PIN on the command line shows in ps and the shell's history; --pin is known only to say so. */
const PIN_ARGUMENT_REFUSED = '--pin is not taken: a PIN given as an argument shows in ps and in the shell\'s history. Pipe it in with --pin-stdin, or name a file with --pin-file.';

async function singleReset(options: ParsedArgs['options']): Promise<AdminPinReset> {
  const noEmail = options['no-email'] === true;
  const notifyEmail = stringOption(options, 'notify-email');
  const expired = booleanOption(options, 'expired');
  const lockedOut = booleanOption(options, 'locked-out');
  if (noEmail && notifyEmail !== undefined) throw new UsageError('--no-email and --notify-email contradict each other; give one of them.');
  const pin = await readChosenPin(options);
  return {
    ...(pin === undefined ? {} : { pin }),
    ...(notifyEmail === undefined ? {} : { notifyEmail }),
    ...(expired === undefined ? {} : { expired }),
    ...(lockedOut === undefined ? {} : { lockedOut }),
    ...(noEmail ? { sendEmail: false } : {}),
  };
}

/** The PIN from --pin-stdin or --pin-file, one trailing newline dropped; undefined when neither is given. */
async function readChosenPin(options: ParsedArgs['options']): Promise<string | undefined> {
  const file = stringOption(options, 'pin-file');
  if (options['pin-stdin'] === true && file !== undefined) throw new UsageError('give --pin-stdin or --pin-file, not both.');
  if (options['pin-stdin'] === true) return readStdin();
  if (file === undefined) return undefined;
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new UsageError(`--pin-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function runBulkReset(file: string, options: ParsedArgs['options']): Promise<void> {
  for (const [option, column] of [['pin-stdin', 'pin'], ['pin-file', 'pin'], ['notify-email', 'notify_email']]) {
    if (options[option as string] !== undefined) throw new UsageError(`--${option} cannot be combined with --csv; set it per line in the ${column} column.`);
  }
  const expired = booleanOption(options, 'expired');
  const lockedOut = booleanOption(options, 'locked-out');
  const defaults = {
    ...(expired === undefined ? {} : { expired }),
    ...(lockedOut === undefined ? {} : { lockedOut }),
    ...(options['no-email'] === true ? { sendEmail: false } : {}),
  };
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--csv: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lines = bulkLinesFromCsv(text);
  const lineWidth = String(lines.at(-1)?.line ?? 0).length;
  const progress = progressLine();
  const results = await withServices((services) => bulkResetPins(services, lines, {
    defaults,
    onProgress: (done, total, login) => progress.update(done + 1, total, login),
    onResult: (result) => {
      progress.clear();
      print(formatBulkResult(result, lineWidth));
    },
  }));
  progress.clear();
  const count = (status: BulkResetResult['status']) => results.filter((r) => r.status === status).length;
  print(`${count('reset')} reset, ${count('skipped')} skipped, ${count('failed')} failed`);
  if (count('failed') > 0) {
    throw new CommandFailed(`${count('failed')} of ${results.length} lines failed; the other lines were done. Fix the failed lines and run them again.`);
  }
}

export const PIN_COMMANDS: readonly Command[] = [
  {
    name: 'pin reset',
    usage: 'umpin pin reset <login> [--pin-stdin | --pin-file <file>] [--expired true|false] [--locked-out true|false] [--notify-email <address>] [--no-email]\n       umpin pin reset --csv <file> [--expired true|false] [--locked-out true|false] [--no-email]',
    summary: "reset a mailbox's PIN, or many from a CSV file (Set-UMMailboxPIN)",
    help: RESET_HELP,
    examples: [
      'umpin pin reset alice',
      "printf '%s' \"$PIN\" | umpin pin reset alice --pin-stdin --expired false --no-email",
      'umpin pin reset --csv resets.csv',
      "printf 'login,pin\\nalice,\\nbob,86420975\\n' | umpin pin reset --csv -",
    ],
    options: {
      pin: { type: 'string' },
      'pin-stdin': { type: 'boolean' },
      'pin-file': { type: 'string' },
      expired: { type: 'string' },
      'locked-out': { type: 'string' },
      'notify-email': { type: 'string' },
      'no-email': { type: 'boolean' },
      csv: { type: 'string' },
    },
    positionals: { min: 0, max: 1 },
    async run({ positionals, options }) {
      if (options.pin !== undefined) throw new UsageError(PIN_ARGUMENT_REFUSED);
      const csv = stringOption(options, 'csv');
      if (csv !== undefined) {
        if (positionals.length > 0) throw new UsageError('give either a login or --csv <file>, not both.');
        return runBulkReset(csv, options);
      }
      const login = positionals[0];
      if (login === undefined) throw new UsageError('give the login whose PIN to reset, or --csv <file>.');
      const request = await singleReset(options);
      const { outcome, mailbox } = await withServices(async (services) => {
        const outcome = await resetPinByAdmin(services, login, request);
        return { outcome, mailbox: await showMailbox(services, login) };
      });
      const mail = describeMailOutcome(outcome, 'mail', request.notifyEmail ?? mailbox.notifyEmail ?? mailbox.email);
      // A queued change is not in effect yet, so the mailbox's state is still the old one.
      print(outcome.queued
        ? `Queued a new PIN for ${login}; ${mail}.`
        : `${outcome.receipt ? 'Reset' : 'Set'} the PIN of ${login} (expired: ${yesNo(mailbox.pinExpired)}, locked out: ${yesNo(mailbox.lockedOut)}); ${mail}.`);
    },
  },
  {
    name: 'pin show',
    usage: 'umpin pin show <login> [--json]',
    summary: "show a mailbox's PIN state, never the PIN (Get-UMMailboxPin)",
    help: `Like Get-UMMailboxPin: PinExpired, FirstTimeUser, LockedOut, plus when the PIN
was set and the failed phone logons since the last good one. PinExpired is what
the next phone logon will find: set by a reset, or by PINLifetime or a raised
MinPINLength.`,
    examples: ['umpin pin show alice', 'umpin pin show alice --json'],
    options: { json: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const login = positionals[0] as string;
      const state = await withServices(async (services) => {
        const shown = pinState(mailboxJson(await showMailbox(services, login), services.now()));
        const lastMail = await findLastMail(services, login);
        return lastMail ? { ...shown, lastMail } : shown;
      });
      print(options.json === true ? JSON.stringify(state) : formatFields([
        ['Mailbox', state.login],
        ['Has PIN', yesNo(state.hasPin)],
        ['PIN set at', state.pinSetAt ?? 'never'],
        ['PIN expired', yesNo(state.pinExpired)],
        ['First-time user', yesNo(state.firstTimeUser)],
        ['Locked out', yesNo(state.lockedOut)],
        ['Failed logons', String(state.failedLogons)],
        ['Policy', state.policy],
        ['Last PIN mail', 'lastMail' in state ? `${state.lastMail.status} at ${state.lastMail.at}${state.lastMail.reply ? ` (${state.lastMail.reply})` : ''}` : 'none'],
      ]));
    },
  },
  {
    name: 'pin unlock',
    usage: 'umpin pin unlock <login>',
    summary: 'let a locked-out mailbox log on by phone again',
    help: `Clears LockedOut and the failed-logon count; the PIN stays as it is (to give the
user a new one as well, use "umpin pin reset", which also unlocks).`,
    examples: ['umpin pin unlock alice'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const login = positionals[0] as string;
      await withServices((services) => unlockMailbox(services, login));
      print(`Unlocked ${login}; the failed-logon count is cleared and the PIN is unchanged.`);
    },
  },
  {
    name: 'pin lock',
    usage: 'umpin pin lock <login>',
    summary: 'lock a mailbox out of phone logons',
    help: `Sets LockedOut, as MaxLogonAttempts failed logons do: the phone refuses the mailbox
until "umpin pin unlock" or a PIN reset.`,
    examples: ['umpin pin lock alice'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const login = positionals[0] as string;
      await withServices((services) => lockMailbox(services, login));
      print(`Locked ${login} out of phone logons; undo with: umpin pin unlock ${login}`);
    },
  },
];
