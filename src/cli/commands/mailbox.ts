/** Enable-, Set-, Disable- and Get-UMMailbox. */
import { disableMailbox, enableMailbox, listMailboxes, setMailbox, showMailbox, withDirectoryDefaults, type MailboxRequest } from '../../operations/admin/mailboxes.ts';
import { ADMIN } from '../../operations/services.ts';
import { checkVoiceMailChange, setVoiceMailSettings, type AdminVoiceMailChange } from '../../operations/voice-mail-settings.ts';
import { isPinExpired } from '../../pin/index.ts';
import type { MailboxState } from '../../store/index.ts';
import {
  UsageError, booleanOption, describeMailOutcome, print, requireOption, stringOption, withServices, type Command, type ParsedArgs,
} from '../command.ts';
import { formatFields, formatTable, yesNo } from '../io.ts';

const MAILBOX_OPTIONS = {
  email: { type: 'string' },
  extension: { type: 'string' },
  language: { type: 'string' },
  policy: { type: 'string' },
  'first-name': { type: 'string' },
  'last-name': { type: 'string' },
  'notify-email': { type: 'string' },
} as const;

const ENABLE_OPTIONS = { ...MAILBOX_OPTIONS, 'from-directory': { type: 'boolean' } } as const;

/** The [MS-OXWUMS] settings a user changes from their mail client (GetUMProperties); Set-UMMailbox's counterparts. */
const VOICE_MAIL_OPTIONS = {
  'oof-status': { type: 'string' },
  'missed-call-notification': { type: 'string' },
  'play-on-phone-dial-string': { type: 'string' },
  'telephone-access-folder': { type: 'string' },
} as const;

const SET_OPTIONS = { ...MAILBOX_OPTIONS, ...VOICE_MAIL_OPTIONS } as const;

const VOICE_MAIL_OPTIONS_HELP = `  --oof-status true|false  callers hear the away (out-of-office) greeting
  --missed-call-notification true|false
                           mail the user about missed calls
  --play-on-phone-dial-string <number>
                           the number Play on Phone calls by default; "" clears it
  --telephone-access-folder <base64>
                           the folder the phone reads mail from (a MAPI folder
                           id in base64, as a mail client sends it); "" clears it`;

/** Only the options given. */
function voiceMailChange(options: ParsedArgs['options']): AdminVoiceMailChange {
  const change: Record<string, string | boolean | undefined> = {
    oofStatus: booleanOption(options, 'oof-status'),
    missedCallNotificationEnabled: booleanOption(options, 'missed-call-notification'),
    playOnPhoneDialString: stringOption(options, 'play-on-phone-dial-string'),
    telephoneAccessFolder: stringOption(options, 'telephone-access-folder'),
  };
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as AdminVoiceMailChange;
}

const MAILBOX_OPTIONS_HELP = `  --email <address>        the mailbox's e-mail address; PIN mails go here
  --extension <digits>     the phone extension, 1 to 20 digits, unique
  --language <tag>         language of the mails, such as en, de or pt-BR (default en)
  --policy <name>          the PIN policy (default "default")
  --first-name <name>      for the strict rules' name-on-the-keypad check
  --last-name <name>
  --notify-email <address> send PIN mails here instead of --email`;

/** Only the options given; an empty --notify-email clears it. */
function mailboxRequest(options: ParsedArgs['options']): MailboxRequest {
  const value = (name: keyof typeof MAILBOX_OPTIONS) => stringOption(options, name);
  const notifyEmail = value('notify-email');
  const request: Record<string, string | null | undefined> = {
    email: value('email'),
    extension: value('extension'),
    language: value('language'),
    policy: value('policy'),
    firstName: value('first-name'),
    lastName: value('last-name'),
    notifyEmail: notifyEmail === '' ? null : notifyEmail,
  };
  return Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) as MailboxRequest;
}

/** A mailbox as --json shows it: never the salt; pinExpired is what the next phone logon will find. */
export function mailboxJson(mailbox: MailboxState, now: Date) {
  return {
    login: mailbox.login,
    email: mailbox.email,
    notifyEmail: mailbox.notifyEmail,
    extension: mailbox.extension,
    language: mailbox.language,
    firstName: mailbox.firstName,
    lastName: mailbox.lastName,
    policy: mailbox.policy.name,
    hasPin: mailbox.hasPin,
    pinSetAt: mailbox.pinSetAt?.toISOString() ?? null,
    pinExpired: isPinExpired(mailbox, mailbox.policy, now),
    firstTimeUser: mailbox.firstTimeUser,
    lockedOut: mailbox.lockedOut,
    failedLogons: mailbox.failedLogons,
    oofStatus: mailbox.voiceMail.oofStatus,
    missedCallNotificationEnabled: mailbox.voiceMail.missedCallNotificationEnabled,
    playOnPhoneDialString: mailbox.voiceMail.playOnPhoneDialString,
    telephoneAccessFolder: mailbox.voiceMail.telephoneAccessFolder,
  };
}

function describeMailbox(mailbox: ReturnType<typeof mailboxJson>): string {
  return formatFields([
    ['Mailbox', mailbox.login],
    ['E-mail', mailbox.email],
    ['Notify e-mail', mailbox.notifyEmail ?? '(the e-mail address)'],
    ['Extension', mailbox.extension],
    ['Language', mailbox.language],
    ['First name', mailbox.firstName],
    ['Last name', mailbox.lastName],
    ['Policy', mailbox.policy],
    ['Has PIN', yesNo(mailbox.hasPin)],
    ['PIN set at', mailbox.pinSetAt ?? 'never'],
    ['PIN expired', yesNo(mailbox.pinExpired)],
    ['First-time user', yesNo(mailbox.firstTimeUser)],
    ['Locked out', yesNo(mailbox.lockedOut)],
    ['Failed logons', String(mailbox.failedLogons)],
    ['Away greeting (OOF)', yesNo(mailbox.oofStatus)],
    ['Missed-call mail', yesNo(mailbox.missedCallNotificationEnabled)],
    ['Play on Phone number', mailbox.playOnPhoneDialString || '(not set)'],
    ['Phone reads folder', mailbox.telephoneAccessFolder || '(not set)'],
  ]);
}

export const MAILBOX_COMMANDS: readonly Command[] = [
  {
    name: 'mailbox enable',
    usage: 'umpin mailbox enable <login> (--email <address> --extension <digits> | --from-directory) [--language <tag>] [--policy <name>] [--first-name <name>] [--last-name <name>] [--notify-email <address>]',
    summary: 'enable a mailbox for voice mail and mail its first PIN (Enable-UMMailbox)',
    help: `Like Enable-UMMailbox: the mailbox is linked to a PIN policy (default: "default"),
gets a generated PIN that obeys it, and the PIN is mailed in a welcome message.
The PIN takes effect only once that mail is handed off. If the mail fails, run
the same command again to send a new one.
Options:
${MAILBOX_OPTIONS_HELP}
  --from-directory         take --email and --extension from the LDAP directory
                           (UMPIN_LDAP_*: the mail and extension attributes of
                           the login's entry); either option given still wins`,
    examples: [
      'umpin mailbox enable alice --email alice@example.com --extension 36697 --first-name Alice --last-name Smith',
      'umpin mailbox enable alice --from-directory --policy sales',
    ],
    options: ENABLE_OPTIONS,
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const login = positionals[0] as string;
      const fromDirectory = options['from-directory'] === true;
      if (!fromDirectory) {
        requireOption(options, 'email');
        requireOption(options, 'extension');
      }
      const { outcome, request } = await withServices(async (services) => {
        const request = fromDirectory ? await withDirectoryDefaults(services, login, mailboxRequest(options)) : mailboxRequest(options);
        return { outcome: await enableMailbox(services, login, request), request };
      });
      const to = request.notifyEmail || (request.email ?? '');
      print(`Enabled ${login} for voice mail; ${describeMailOutcome(outcome, 'welcome mail', to)}.`);
    },
  },
  {
    name: 'mailbox set',
    usage: 'umpin mailbox set <login> [--email <address>] [--extension <digits>] [--language <tag>] [--policy <name>] [--first-name <name>] [--last-name <name>] [--notify-email <address>] [--oof-status true|false] [--missed-call-notification true|false] [--play-on-phone-dial-string <number>] [--telephone-access-folder <base64>]',
    summary: "change a mailbox's settings (Set-UMMailbox)",
    help: `Like Set-UMMailbox: changes only the options given; --notify-email "" clears the
notify address. A new policy applies at the mailbox's next PIN check; the PIN
itself is kept. The voice mail settings below are the ones a user changes from
a mail client (GetUMProperties and its setters), checked by the same rules.
Options:
${MAILBOX_OPTIONS_HELP}
${VOICE_MAIL_OPTIONS_HELP}`,
    examples: [
      'umpin mailbox set alice --extension 36698 --policy sales',
      'umpin mailbox set alice --notify-email ""',
      'umpin mailbox set alice --oof-status true --play-on-phone-dial-string "+1 555 0100"',
    ],
    options: SET_OPTIONS,
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const login = positionals[0] as string;
      const request = mailboxRequest(options);
      const voiceMail = voiceMailChange(options);
      if (Object.keys(request).length === 0 && Object.keys(voiceMail).length === 0) {
        throw new UsageError('give at least one setting to change; "umpin mailbox set --help" lists them.');
      }
      await withServices(async (services) => {
        // The voice mail values are checked before the other settings are written, which setMailbox checks first itself.
        checkVoiceMailChange(voiceMail);
        if (Object.keys(request).length > 0) await setMailbox(services, login, request);
        if (Object.keys(voiceMail).length > 0) await setVoiceMailSettings(services, login, voiceMail, ADMIN);
      });
      print(`Updated mailbox ${login}: ${Object.keys(SET_OPTIONS).filter((o) => options[o] !== undefined).map((o) => `--${o}`).join(', ')}.`);
    },
  },
  {
    name: 'mailbox disable',
    usage: 'umpin mailbox disable <login>',
    summary: 'disable voice mail for a mailbox (Disable-UMMailbox)',
    help: `Like Disable-UMMailbox: the mailbox, its PIN and its PIN history are deleted; the
audit trail stays, and so does the user's sign-in for the web service. Enabling
it again starts afresh with a welcome mail.`,
    examples: ['umpin mailbox disable alice'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const login = positionals[0] as string;
      await withServices((services) => disableMailbox(services, login));
      print(`Disabled voice mail for ${login}; its PIN and PIN history are deleted.`);
    },
  },
  {
    name: 'mailbox show',
    usage: 'umpin mailbox show <login> [--json]',
    summary: "show a mailbox's settings and PIN state (Get-UMMailbox)",
    help: `Like Get-UMMailbox: the addresses, extension, language, names and policy, with the
PIN state as "umpin pin show" gives it (never the PIN). "PIN expired" is what the
next phone logon will find: set by a reset, or by PINLifetime or a raised
MinPINLength.`,
    examples: ['umpin mailbox show alice', 'umpin mailbox show alice --json'],
    options: { json: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const mailbox = await withServices(async (services) => mailboxJson(await showMailbox(services, positionals[0] as string), services.now()));
      print(options.json === true ? JSON.stringify(mailbox) : describeMailbox(mailbox));
    },
  },
  {
    name: 'mailbox list',
    usage: 'umpin mailbox list [--json]',
    summary: 'list every voice mail mailbox',
    help: `One line per mailbox, by login: login, extension, e-mail, policy and flags
(locked: locked out of phone logons; expired: must choose a new PIN at the next
logon; no-pin: the welcome mail never went out). --json prints an array of the
objects "umpin mailbox show --json" prints.`,
    examples: ['umpin mailbox list', "umpin mailbox list --json | jq -r '.[] | select(.lockedOut) | .login'"],
    options: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const mailboxes = await withServices(async (services) => (await listMailboxes(services)).map((m) => mailboxJson(m, services.now())));
      if (options.json === true) {
        print(JSON.stringify(mailboxes));
        return;
      }
      if (mailboxes.length === 0) {
        print('No voice mail mailboxes; enable one with: umpin mailbox enable <login> --email <address> --extension <digits>');
        return;
      }
      const flags = (m: (typeof mailboxes)[number]) =>
        [m.lockedOut && 'locked', m.hasPin && m.pinExpired && 'expired', !m.hasPin && 'no-pin'].filter(Boolean).join(',') || '-';
      print(formatTable([
        ['LOGIN', 'EXTENSION', 'EMAIL', 'POLICY', 'FLAGS'],
        ...mailboxes.map((m) => [m.login, m.extension, m.email, m.policy, flags(m)]),
      ]));
    },
  },
];
