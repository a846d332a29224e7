/** New-, Set-, Get- and Remove-UMMailboxPolicy. */
import { newPolicy, removePolicy, setPolicy, showPolicies, type PolicyChanges } from '../../operations/admin/policies.ts';
import { MAX_POLICY_TEXT, POLICY_RANGES, type PinPolicy } from '../../pin/index.ts';
import { UsageError, parseBoolean, parseNumberOrUnlimited, parseWholeNumber, print, withServices, type Command, type ParsedArgs } from '../command.ts';
import { formatFields } from '../io.ts';

type NumberSetting = keyof typeof POLICY_RANGES;

interface PolicySetting {
  readonly option: string;
  /** The setting's name in Exchange. */
  readonly exchange: string;
  readonly help: string;
  readonly parse: (text: string) => PolicyChanges;
}

function numberSetting(option: string, key: NumberSetting, exchange: string, what: string): PolicySetting {
  const range = POLICY_RANGES[key];
  return {
    option,
    exchange,
    help: `${what}: ${range.min}–${range.max}${range.unlimited ? ' or Unlimited' : ''}`,
    // Every number setting reads "Unlimited" as null; where Exchange does not allow it, the
    // operation's validatePolicy says "<setting> cannot be Unlimited" (exit 1), as it checks every range.
    parse: (text) => ({ [key]: range.unlimited || text.toLowerCase() === 'unlimited' ? parseNumberOrUnlimited(option, text) : parseWholeNumber(option, text) }),
  };
}

/** Every setting a policy has, as options, in the order Get-UMMailboxPolicy shows them. */
const POLICY_SETTINGS: readonly PolicySetting[] = [
  numberSetting('min-pin-length', 'minPinLength', 'MinPINLength', 'fewest digits in a PIN'),
  numberSetting('pin-lifetime', 'pinLifetimeDays', 'PINLifetime', 'days until a PIN expires'),
  numberSetting('pin-history-count', 'pinHistoryCount', 'PINHistoryCount', 'earlier PINs that may not be reused'),
  { option: 'allow-common-patterns', exchange: 'AllowCommonPatterns', help: 'true lets PINs such as 111111 and 123456 through', parse: (t) => ({ allowCommonPatterns: parseBoolean('allow-common-patterns', t) }) },
  { option: 'strict-rules', exchange: 'StrictRules', help: 'true adds the trivial-PIN rules (123123, 2580, the name on the keypad, …)', parse: (t) => ({ strictRules: parseBoolean('strict-rules', t) }) },
  numberSetting('logon-failures-before-pin-reset', 'logonFailuresBeforePinReset', 'LogonFailuresBeforePINReset', 'failed phone logons before a new PIN is mailed'),
  numberSetting('max-logon-attempts', 'maxLogonAttempts', 'MaxLogonAttempts', 'failed phone logons before the mailbox is locked'),
  { option: 'reset-pin-text', exchange: 'ResetPINText', help: `text added to PIN reset mails, at most ${MAX_POLICY_TEXT} characters`, parse: (t) => ({ resetPinText: t }) },
  { option: 'um-enabled-text', exchange: 'UMEnabledText', help: `text added to welcome mails, at most ${MAX_POLICY_TEXT} characters`, parse: (t) => ({ umEnabledText: t }) },
];

const SETTING_OPTIONS = Object.fromEntries(POLICY_SETTINGS.map((s) => [s.option, { type: 'string' as const }]));
const SETTINGS_USAGE = '[--min-pin-length N] [--pin-lifetime N|Unlimited] [--pin-history-count N] [--allow-common-patterns true|false] [--strict-rules true|false] [--logon-failures-before-pin-reset N|Unlimited] [--max-logon-attempts N|Unlimited] [--reset-pin-text <text>] [--um-enabled-text <text>]';
const SETTINGS_HELP = POLICY_SETTINGS.map((s) => `  --${s.option.padEnd(33)} ${s.exchange}: ${s.help}`).join('\n');

/** Only the settings given on the command line, each parsed into its type. */
function policyChanges(options: ParsedArgs['options']): PolicyChanges {
  let changes: PolicyChanges = {};
  for (const setting of POLICY_SETTINGS) {
    const text = options[setting.option];
    if (typeof text === 'string') changes = { ...changes, ...setting.parse(text) };
  }
  return changes;
}

export function describePolicy(policy: PinPolicy): string {
  const limit = (value: number | null) => (value === null ? 'Unlimited' : String(value));
  return formatFields([
    ['Name', policy.name],
    ['MinPINLength', String(policy.minPinLength)],
    ['PINLifetime (days)', limit(policy.pinLifetimeDays)],
    ['PINHistoryCount', String(policy.pinHistoryCount)],
    ['AllowCommonPatterns', String(policy.allowCommonPatterns)],
    ['StrictRules', String(policy.strictRules)],
    ['LogonFailuresBeforePINReset', limit(policy.logonFailuresBeforePinReset)],
    ['MaxLogonAttempts', limit(policy.maxLogonAttempts)],
    ['ResetPINText', policy.resetPinText === '' ? '(none)' : policy.resetPinText],
    ['UMEnabledText', policy.umEnabledText === '' ? '(none)' : policy.umEnabledText],
  ]);
}

export const POLICY_COMMANDS: readonly Command[] = [
  {
    name: 'policy new',
    usage: `umpin policy new <name> ${SETTINGS_USAGE}`,
    summary: 'create a PIN policy (New-UMMailboxPolicy)',
    help: `Like New-UMMailboxPolicy: a new policy with Exchange's defaults, changed by the
settings given. "Unlimited" is accepted where Exchange accepts it.
LogonFailuresBeforePINReset must be less than MaxLogonAttempts (or Unlimited).
Settings:
${SETTINGS_HELP}`,
    examples: [
      'umpin policy new sales --min-pin-length 8 --pin-lifetime Unlimited',
      'umpin policy new lobby --strict-rules true --reset-pin-text "Call the help desk on 4400 if this was not you."',
    ],
    options: SETTING_OPTIONS,
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const name = positionals[0] as string;
      const changes = policyChanges(options);
      const policy = await withServices((services) => newPolicy(services, name, changes));
      print(`Created policy "${name}".\n\n${describePolicy(policy)}`);
    },
  },
  {
    name: 'policy set',
    usage: `umpin policy set <name> ${SETTINGS_USAGE}`,
    summary: 'change a PIN policy (Set-UMMailboxPolicy)',
    help: `Like Set-UMMailboxPolicy: changes only the settings given. Mailboxes under the
policy follow the new rules at their next PIN check; a PIN shorter than a raised
MinPINLength counts as expired.
Settings:
${SETTINGS_HELP}`,
    examples: ['umpin policy set default --pin-lifetime 90 --max-logon-attempts Unlimited'],
    options: SETTING_OPTIONS,
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const name = positionals[0] as string;
      const changes = policyChanges(options);
      if (Object.keys(changes).length === 0) throw new UsageError('give at least one setting to change; "umpin policy set --help" lists them.');
      const policy = await withServices((services) => setPolicy(services, name, changes));
      print(`Updated policy "${name}".\n\n${describePolicy(policy)}`);
    },
  },
  {
    name: 'policy show',
    usage: 'umpin policy show [<name>] [--json]',
    summary: 'show PIN policies (Get-UMMailboxPolicy)',
    help: 'Like Get-UMMailboxPolicy. Without a name, shows every policy. "Unlimited" is null in --json.',
    examples: ['umpin policy show', 'umpin policy show default --json'],
    options: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 1 },
    async run({ positionals, options }) {
      const policies = await withServices((services) => showPolicies(services, positionals[0]));
      print(options.json === true
        ? JSON.stringify(positionals[0] === undefined ? policies : policies[0])
        : policies.map(describePolicy).join('\n\n'));
    },
  },
  {
    name: 'policy remove',
    usage: 'umpin policy remove <name>',
    summary: 'remove an unused PIN policy (Remove-UMMailboxPolicy)',
    help: `Like Remove-UMMailboxPolicy. A policy that mailboxes still use is kept: move them
first with "umpin mailbox set <login> --policy <other>". The "default" policy
cannot be removed.`,
    examples: ['umpin policy remove sales'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const name = positionals[0] as string;
      await withServices((services) => removePolicy(services, name));
      print(`Removed policy "${name}".`);
    },
  },
];
