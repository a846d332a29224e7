/**
 * The administrator's CLI with Exchange parity (policies, mailboxes, PINs one
 * at a time and from CSV, the audit trail, API keys), run as a user runs it:
 * `bin/umpin.js` in its own process. What the CLI changed is checked in the
 * store through services opened in this process. Each CLI run costs most of
 * a second, so runs that touch different things go at once.
 *
 * Each test stands alone (docs/testing.md): it makes a data directory of its
 * own and, in this process, the policies and mailboxes it reads, so it can
 * run on its own (--test-name-pattern) and an exact listing (mailbox list,
 * policy show, the audit trail) sees only what the test made.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { openServices } from '../../src/open-services.ts';
import { enableMailbox, type MailboxRequest } from '../../src/operations/admin/mailboxes.ts';
import { resetPinByAdmin } from '../../src/operations/admin/pins.ts';
import { newPolicy } from '../../src/operations/admin/policies.ts';
import { isValidApiKey } from '../../src/operations/api-keys.ts';
import type { Services } from '../../src/operations/services.ts';
import { isActivePin, listMailFiles, makeDataDir, newPinMails, runUmpin, type CliResult, assertRun } from '../support/service.ts';
import { findRememberedPinVerifiers } from '../support/store-readers.ts';

const ALL_COMMANDS = [
  'serve', 'user add',
  'mailbox enable', 'mailbox set', 'mailbox disable', 'mailbox show', 'mailbox list',
  'pin reset', 'pin show', 'pin unlock', 'pin lock',
  'policy new', 'policy set', 'policy show', 'policy remove',
  'audit', 'audit prune', 'apikey add', 'apikey list', 'apikey revoke',
];


const DEFAULT_POLICY_JSON = {
  name: 'default', minPinLength: 6, pinLifetimeDays: 60, pinHistoryCount: 5, allowCommonPatterns: false, strictRules: false,
  logonFailuresBeforePinReset: 5, maxLogonAttempts: 15, resetPinText: '', umEnabledText: '',
};

/** The settings `policy new sales …` below gives; the tests that only use the policy make it in process. */
const SALES_SETTINGS = {
  minPinLength: 8, pinLifetimeDays: null, pinHistoryCount: 10, allowCommonPatterns: true, strictRules: true,
  logonFailuresBeforePinReset: 3, maxLogonAttempts: 10, resetPinText: 'Call 4400, "the help desk".', umEnabledText: 'Welcome',
};
const SALES = { name: 'sales', ...SALES_SETTINGS };

/** carol as `mailbox enable carol …` below enables her (extension 36700); other tests enable her in process. */
const CAROL: MailboxRequest = {
  email: 'carol@example.com', policy: 'sales', language: 'de', firstName: 'Carol', lastName: 'Jones', notifyEmail: 'carol.private@example.net',
};

const ENV = { UMPIN_LOG_LEVEL: 'silent', UMPIN_DATABASE_URL: '', UMPIN_SECRET_FILE: '', UMPIN_PICKUP_DIR: '', UMPIN_LISTEN: '' };

/** An empty data directory of the test's own, removed when the test ends. */
async function emptyDataDir(t: TestContext): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await makeDataDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, env: { ...ENV, UMPIN_DATA_DIR: dir } };
}

interface DataDir {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly pickupDir: string;
  readonly services: Services;
  umpin(...args: string[]): Promise<CliResult>;
  umpinWithInput(input: string, ...args: string[]): Promise<CliResult>;
  verifiers(login: string): Promise<string[]>;
  /** Enables `login`'s mailbox in process (address login@example.com unless given); enabling by the CLI is the enable test's and cli.test.ts's. */
  enable(login: string, extension: string, request?: MailboxRequest): Promise<void>;
}

/**
 * A data directory of the test's own, with services opened on it in this
 * process (which makes the secret and the database, as a first CLI run
 * would); closed and removed when the test ends.
 */
async function ownDataDir(t: TestContext): Promise<DataDir> {
  const dir = await makeDataDir();
  const env = { ...ENV, UMPIN_DATA_DIR: dir };
  const opened = await openServices(loadConfig(env), pino({ level: 'silent' })).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  t.after(async () => {
    await opened.close();
    await rm(dir, { recursive: true, force: true });
  });
  const { services } = opened;
  return {
    dir, env, pickupDir: join(dir, 'pickup'), services,
    umpin: (...args) => runUmpin(args, env),
    umpinWithInput: (input, ...args) => runUmpin(args, env, input),
    verifiers: async (login) => (await findRememberedPinVerifiers(services.store, login)).map((v) => v.toString('hex')),
    async enable(login, extension, request = {}) {
      await enableMailbox(services, login, { email: `${login}@example.com`, extension, ...request });
    },
  };
}

describe('umpin administrator CLI', () => {
  describe('help', () => {
    const helped = ['policy new', 'pin reset', 'audit'];

    it('--help lists every command with a one-line summary', async (t) => {
      const { env } = await emptyDataDir(t);
      const overview = await runUmpin(['--help'], env);
      assertRun(overview, 0);
      for (const name of ALL_COMMANDS) assert.match(overview.stdout, new RegExp(`^  ${name} +\\S.*$`, 'm'), `the overview lists ${name}`);
    });

    it('<command> --help shows the usage, an explanation and an example', async (t) => {
      const { env } = await emptyDataDir(t);
      const helps = await Promise.all(helped.map((name) => runUmpin([...name.split(' '), '--help'], env)));
      for (const [i, name] of helped.entries()) {
        const result = helps[i] as CliResult;
        assertRun(result, 0, { stdout: new RegExp(`^Usage: umpin ${name}`) });
        assert.match(result.stdout, /\n\n[A-Z].+\n/, `${name}: an explanation`);
        assert.match(result.stdout, new RegExp(`\\nExamples?:\\n  (\\S+ )*umpin ${name}`), `${name}: an example`);
        assert.equal(result.stderr, '');
      }
      assert.match(helps[1]?.stdout ?? '', /login, pin, expired, locked_out, notify_email/, 'pin reset --help names the CSV columns');
      assert.match(helps[1]?.stdout ?? '', /lines starting\s+with # are skipped/, 'and what is skipped');
    });

    it('a noun alone lists its commands (exit 2; with --help exit 0); an unknown verb is an unknown command', async (t) => {
      const { env } = await emptyDataDir(t);
      const [noun, nounHelp, unknownVerb] = await Promise.all([
        runUmpin(['policy'], env), runUmpin(['policy', '--help'], env), runUmpin(['mailbox', 'frobnicate'], env),
      ]);
      assertRun(noun, 2, { stderr: /^umpin policy: choose a command\.\n\nCommands for policy:\n {2}policy new +create/ });
      for (const verb of ['new', 'set', 'show', 'remove']) assert.ok(noun.stderr.includes(`  policy ${verb} `));
      assertRun(nounHelp, 0, { stdout: /^Commands for policy:/ });
      assertRun(unknownVerb, 2, { stderr: /^umpin: unknown command "mailbox frobnicate"\./ });
    });
  });

  describe('usage errors', () => {
    it('are refused (exit 2, naming the option) before anything is opened or created', async (t) => {
      const { dir: emptyDir, env: envEmpty } = await emptyDataDir(t);
      const run = (...args: string[]) => runUmpin(args, envEmpty);
      const [notNumber, fraction, negative, notBoolean, since, limit, csvAndLogin, contradiction, setNothing] = await Promise.all([
        run('policy', 'new', 'x', '--min-pin-length', 'abc'),
        run('policy', 'new', 'x', '--pin-lifetime', '1.5'),
        run('policy', 'set', 'x', '--max-logon-attempts=-1'),
        run('policy', 'new', 'x', '--strict-rules', 'yes'),
        run('audit', '--since', 'yesterday'),
        run('audit', '--limit', 'ten'),
        run('pin', 'reset', 'alice', '--csv', 'x.csv'),
        run('pin', 'reset', 'alice', '--no-email', '--notify-email', 'a@example.com'),
        run('policy', 'set', 'default'),
      ]);
      assertRun(notNumber, 2, { stderr: /^umpin policy new: --min-pin-length "abc" is not a whole number\.\nUsage: umpin policy new <name> / });
      assertRun(fraction, 2, { stderr: 'umpin policy new: --pin-lifetime "1.5" is not a whole number or Unlimited.' });
      assertRun(negative, 2, { stderr: 'umpin policy set: --max-logon-attempts "-1" is not a whole number or Unlimited.' });
      assertRun(notBoolean, 2, { stderr: 'umpin policy new: --strict-rules "yes" is not true or false.' });
      assertRun(since, 2, { stderr: 'umpin audit: --since "yesterday" is neither an ISO time' });
      assertRun(limit, 2, { stderr: 'umpin audit: --limit "ten" is not a whole number.' });
      assertRun(csvAndLogin, 2, { stderr: 'umpin pin reset: give either a login or --csv <file>, not both.' });
      assertRun(contradiction, 2, { stderr: 'umpin pin reset: --no-email and --notify-email contradict each other' });
      assertRun(setNothing, 2, { stderr: 'umpin policy set: give at least one setting to change' });
      assert.deepEqual(readdirSync(emptyDir), [], 'nothing was created');
    });

    it('audit prune needs --before and a time it can read, checked before anything is opened', async (t) => {
      const { dir: emptyDir, env: envEmpty } = await emptyDataDir(t);
      assertRun(await runUmpin(['audit', 'prune'], envEmpty), 2, { stderr: 'umpin audit prune: --before <time> is required: which events to delete is never a default.\nUsage: umpin audit prune --before <time>\n' });
      assertRun(await runUmpin(['audit', 'prune', '--before', 'last year'], envEmpty), 2, { stderr: 'umpin audit prune: --before "last year" is neither an ISO time' });
      assert.deepEqual(readdirSync(emptyDir), [], 'nothing was created');
    });
  });

  describe('policy new / set / show', () => {
    it('creates a policy from every setting, and refuses each setting out of range with Exchange-style messages (exit 1)', async (t) => {
      const { umpin } = await ownDataDir(t);
      const [created, strict, temp, low, high, unlimitedAndLong, again] = await Promise.all([
        umpin('policy', 'new', 'sales', '--min-pin-length', '8', '--pin-lifetime', 'Unlimited', '--pin-history-count', '10',
          '--allow-common-patterns', 'true', '--strict-rules', 'TRUE', '--logon-failures-before-pin-reset', '3', '--max-logon-attempts', '10',
          '--reset-pin-text', SALES.resetPinText, '--um-enabled-text', 'Welcome'),
        umpin('policy', 'new', 'strict', '--strict-rules', 'true'),
        umpin('policy', 'new', 'temp'),
        umpin('policy', 'new', 'r1', '--min-pin-length', '3', '--pin-history-count', '0', '--max-logon-attempts', '0'),
        umpin('policy', 'new', 'r2', '--min-pin-length', '25', '--pin-history-count', 'Unlimited'),
        umpin('policy', 'new', 'r3', '--min-pin-length', 'unlimited', '--reset-pin-text', 'x'.repeat(513), '--um-enabled-text', 'y'.repeat(512)),
        umpin('policy', 'new', 'default'),
      ]);
      assertRun(created, 0, { stdout: /^Created policy "sales"\.\n\nName +sales\n/ });
      assert.match(created.stdout, /^StrictRules +true$/m);
      assert.match(created.stdout, /^PINLifetime \(days\) +Unlimited$/m);
      assertRun(strict, 0);
      assertRun(temp, 0);
      assertRun(low, 1, {
        stderr: 'umpin policy new: MinPINLength must be a whole number from 4 to 24. PINHistoryCount must be a whole number from 1 to 20. ' +
          'MaxLogonAttempts must be a whole number from 1 to 999 or Unlimited. LogonFailuresBeforePINReset must be less than MaxLogonAttempts (or Unlimited).\n',
      });
      assertRun(high, 1, { stderr: 'umpin policy new: MinPINLength must be a whole number from 4 to 24. PINHistoryCount cannot be Unlimited.\n' });
      assertRun(unlimitedAndLong, 1, { stderr: 'umpin policy new: MinPINLength cannot be Unlimited. ResetPINText may be at most 512 characters.\n' });
      assertRun(again, 1, { stderr: 'umpin policy new: A policy named "default" exists already.' });
      for (const refused of [low, high, unlimitedAndLong, again]) assert.equal(refused.stdout, '');

      const all = await umpin('policy', 'show', '--json');
      assertRun(all, 0);
      const policies = JSON.parse(all.stdout) as Array<{ name: string }>;
      assert.deepEqual(policies.map((p) => p.name).sort(), ['default', 'sales', 'strict', 'temp'], 'no refused policy was created');
      assert.deepEqual(policies.find((p) => p.name === 'sales'), SALES);
      assert.deepEqual(policies.find((p) => p.name === 'temp'), { ...DEFAULT_POLICY_JSON, name: 'temp' }, "a new policy has Exchange's defaults");
    });

    it('set changes only the settings given, and refuses a change that breaks a rule without changing anything', async (t) => {
      const { umpin, services } = await ownDataDir(t);
      await newPolicy(services, 'sales', SALES_SETTINGS);
      await newPolicy(services, 'strict', { strictRules: true });
      const [set, crossRule, missing] = await Promise.all([
        umpin('policy', 'set', 'sales', '--pin-lifetime', '90', '--max-logon-attempts', 'Unlimited', '--allow-common-patterns', 'false'),
        umpin('policy', 'set', 'strict', '--logon-failures-before-pin-reset', '20', '--max-logon-attempts', '10'),
        umpin('policy', 'set', 'nosuch', '--pin-lifetime', '90'),
      ]);
      assertRun(set, 0, { stdout: /^Updated policy "sales"\./ });
      assertRun(crossRule, 1, { stderr: 'umpin policy set: LogonFailuresBeforePINReset must be less than MaxLogonAttempts (or Unlimited).' });
      assertRun(missing, 1, { stderr: 'umpin policy set: There is no policy "nosuch"; list them with: umpin policy show' });
      const [sales, human] = await Promise.all([umpin('policy', 'show', 'sales', '--json'), umpin('policy', 'show', 'sales')]);
      assert.deepEqual(JSON.parse(sales.stdout), { ...SALES, pinLifetimeDays: 90, maxLogonAttempts: null, allowCommonPatterns: false });
      assert.deepEqual(await services.store.findPolicy('strict'), { ...DEFAULT_POLICY_JSON, name: 'strict', strictRules: true }, 'the refused change changed nothing');
      assertRun(human, 0, { stdout: /^MaxLogonAttempts +Unlimited$/m });
      assert.match(human.stdout, /^StrictRules +true$/m);
      assert.match(human.stdout, /^ResetPINText +Call 4400, "the help desk"\.$/m);
    });
  });

  describe('mailbox enable / set / show / list / disable', () => {
    it('enables a mailbox with names, language, policy and a notify address; the welcome mail goes to the notify address', async (t) => {
      const { umpin, services, pickupDir } = await ownDataDir(t);
      await newPolicy(services, 'sales', SALES_SETTINGS);
      const before = await listMailFiles(pickupDir);
      const result = await umpin('mailbox', 'enable', 'carol', '--email', 'carol@example.com', '--extension', '36700', '--policy', 'sales',
        '--language', 'de', '--first-name', 'Carol', '--last-name', 'Jones', '--notify-email', 'carol.private@example.net');
      assertRun(result, 0, { stdout: 'the welcome mail with the PIN was handed off to carol.private@example.net' });
      const mails = await newPinMails(pickupDir, before);
      assert.deepEqual(mails.map((m) => m.to), ['carol.private@example.net']);
      assert.match(mails[0]?.pin ?? '', /^\d{8}$/, "the sales policy's MinPINLength");
      assert.ok(await isActivePin(services, 'carol', mails[0]?.pin ?? ''));
    });

    it('show --json gives the settings and PIN state, never the salt or a verifier', async (t) => {
      const { umpin, services, enable } = await ownDataDir(t);
      await newPolicy(services, 'sales', SALES_SETTINGS);
      await enable('carol', '36700', CAROL);
      const [json, human] = await Promise.all([umpin('mailbox', 'show', 'carol', '--json'), umpin('mailbox', 'show', 'carol')]);
      assertRun(json, 0);
      const { pinSetAt, ...rest } = JSON.parse(json.stdout) as Record<string, unknown>;
      assert.deepEqual(rest, {
        login: 'carol', email: 'carol@example.com', notifyEmail: 'carol.private@example.net', extension: '36700', language: 'de',
        firstName: 'Carol', lastName: 'Jones', policy: 'sales', hasPin: true, pinExpired: true, firstTimeUser: true, lockedOut: false, failedLogons: 0,
        oofStatus: false, missedCallNotificationEnabled: true, playOnPhoneDialString: '', telephoneAccessFolder: '',
      });
      assert.equal(typeof pinSetAt, 'string');
      assertRun(human, 0, { stdout: /^Notify e-mail +carol\.private@example\.net$/m });
      assert.match(human.stdout, /^Policy +sales$/m);
    });

    it('set changes only what is given, refuses a taken extension and an unknown policy, and clears the notify address with ""', async (t) => {
      const { umpin, services, enable } = await ownDataDir(t);
      await newPolicy(services, 'sales', SALES_SETTINGS);
      await enable('alice', '36697');
      await enable('carol', '36700', CAROL);
      const [taken, policy, nothing, missing] = await Promise.all([
        umpin('mailbox', 'set', 'carol', '--extension', '36697'),
        umpin('mailbox', 'set', 'carol', '--policy', 'nosuch'),
        umpin('mailbox', 'set', 'carol'),
        umpin('mailbox', 'set', 'nosuch', '--language', 'fr'),
      ]);
      assertRun(taken, 1, { stderr: 'umpin mailbox set: The extension 36697 belongs to the mailbox "alice".\n' });
      assertRun(policy, 1, { stderr: 'umpin mailbox set: There is no policy "nosuch"' });
      assertRun(nothing, 2, { stderr: 'umpin mailbox set: give at least one setting to change' });
      assertRun(missing, 1, { stderr: 'There is no voice mail mailbox for "nosuch"' });
      assert.equal((await services.store.findMailbox('carol'))?.extension, '36700', 'the refused change changed nothing');

      const set = await umpin('mailbox', 'set', 'carol', '--email', 'carol.jones@example.com', '--notify-email', '', '--extension', '36701');
      assertRun(set, 0, { stdout: 'Updated mailbox carol: --email, --extension, --notify-email.\n' });
      const mailbox = await services.store.findMailbox('carol');
      assert.deepEqual(
        { email: mailbox?.email, notifyEmail: mailbox?.notifyEmail, extension: mailbox?.extension, language: mailbox?.language, policy: mailbox?.policy.name, firstName: mailbox?.firstName },
        { email: 'carol.jones@example.com', notifyEmail: null, extension: '36701', language: 'de', policy: 'sales', firstName: 'Carol' },
      );
    });

    it('set and show the voice mail settings a mail client changes; a bad value is refused, naming the option, and changes nothing', async (t) => {
      const { umpin, services, enable } = await ownDataDir(t);
      await enable('dave', '36699');
      const folder = 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==';
      const [badNumber, badBool, badFolder] = await Promise.all([
        umpin('mailbox', 'set', 'dave', '--play-on-phone-dial-string', 'home', '--language', 'fr'),
        umpin('mailbox', 'set', 'dave', '--oof-status', 'maybe'),
        umpin('mailbox', 'set', 'dave', '--telephone-access-folder', 'not base64'),
      ]);
      assertRun(badNumber, 1, { stderr: 'umpin mailbox set: --play-on-phone-dial-string "home" is not a telephone number' });
      assertRun(badBool, 2, { stderr: '--oof-status "maybe" is not true or false.' });
      assertRun(badFolder, 1, { stderr: '--telephone-access-folder is not base64' });
      const untouched = await services.store.findMailbox('dave');
      assert.deepEqual(untouched?.voiceMail, { oofStatus: false, missedCallNotificationEnabled: true, playOnPhoneDialString: '', telephoneAccessFolder: '' });
      assert.equal(untouched?.language, 'en', 'the language given beside the bad number was not written either');

      const set = await umpin('mailbox', 'set', 'dave', '--oof-status', 'true', '--missed-call-notification', 'false',
        '--play-on-phone-dial-string', '+1 555 0100', '--telephone-access-folder', folder);
      assertRun(set, 0, { stdout: 'Updated mailbox dave: --oof-status, --missed-call-notification, --play-on-phone-dial-string, --telephone-access-folder.\n' });
      const [json, human] = await Promise.all([umpin('mailbox', 'show', 'dave', '--json'), umpin('mailbox', 'show', 'dave')]);
      const shown = JSON.parse(json.stdout) as Record<string, unknown>;
      assert.deepEqual([shown.oofStatus, shown.missedCallNotificationEnabled, shown.playOnPhoneDialString, shown.telephoneAccessFolder], [true, false, '+1 555 0100', folder]);
      assert.match(human.stdout, /^Away greeting \(OOF\) +yes$/m);
      assert.match(human.stdout, /^Play on Phone number +\+1 555 0100$/m);
      const audit = (await services.store.listAudit({ login: 'dave' })).filter((e) => e.event === 'um.setting');
      assert.deepEqual(audit.map((e) => [e.actor, e.source, e.detail]), [['admin', 'cli', { setting: 'oofStatus missedCallNotificationEnabled playOnPhoneDialString telephoneAccessFolder' }]]);

      assertRun(await umpin('mailbox', 'set', 'dave', '--play-on-phone-dial-string', ''), 0);
      assert.equal((await services.store.findMailbox('dave'))?.voiceMail.playOnPhoneDialString, '', 'the administrator may clear it');
    });

    it('list prints one line per mailbox with its flags; --json an array', async (t) => {
      const { umpin, services, enable } = await ownDataDir(t);
      await newPolicy(services, 'sales', SALES_SETTINGS);
      for (const [login, extension] of [['alice', '36697'], ['bob', '36698'], ['dave', '36699']] as const) await enable(login, extension);
      await enable('carol', '36701', { ...CAROL, email: 'carol.jones@example.com', notifyEmail: null });
      await services.store.setLockedOut('bob', true);
      const [human, json] = await Promise.all([umpin('mailbox', 'list'), umpin('mailbox', 'list', '--json')]);
      assertRun(human, 0);
      const lines = human.stdout.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^LOGIN +EXTENSION +EMAIL +POLICY +FLAGS$/);
      assert.deepEqual(lines.slice(1).map((l) => l.split(/ {2,}/)), [
        ['alice', '36697', 'alice@example.com', 'default', 'expired'],
        ['bob', '36698', 'bob@example.com', 'default', 'locked,expired'],
        ['carol', '36701', 'carol.jones@example.com', 'sales', 'expired'],
        ['dave', '36699', 'dave@example.com', 'default', 'expired'],
      ]);
      assertRun(json, 0);
      const mailboxes = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      assert.deepEqual(mailboxes.map((m) => [m.login, m.lockedOut]), [['alice', false], ['bob', true], ['carol', false], ['dave', false]]);
      assert.ok(mailboxes.every((m) => !('pinSalt' in m)));
    });

    it('disable removes the mailbox and its PINs; a second disable exits 1', async (t) => {
      const { umpin, services, enable, verifiers } = await ownDataDir(t);
      await enable('dave', '36699');
      const disabled = await umpin('mailbox', 'disable', 'dave');
      assertRun(disabled, 0, { stdout: 'Disabled voice mail for dave' });
      assert.equal(await services.store.findMailbox('dave'), undefined);
      assert.deepEqual(await verifiers('dave'), []);
      assertRun(await umpin('mailbox', 'disable', 'dave'), 1, { stderr: 'umpin mailbox disable: There is no voice mail mailbox for "dave"' });
    });
  });

  describe('policy remove', () => {
    it('removes an unused policy, and refuses one in use, the default policy and an unknown one (exit 1)', async (t) => {
      const { umpin, services, enable } = await ownDataDir(t);
      for (const name of ['sales', 'strict', 'temp']) await newPolicy(services, name, {});
      await enable('carol', '36700', { policy: 'sales' });
      const [inUse, unused, builtIn, missing] = await Promise.all([
        umpin('policy', 'remove', 'sales'), umpin('policy', 'remove', 'temp'), umpin('policy', 'remove', 'default'), umpin('policy', 'remove', 'nosuch'),
      ]);
      assertRun(inUse, 1, { stderr: 'umpin policy remove: The policy "sales" is in use; move its mailboxes with: umpin mailbox set <login> --policy <other>\n' });
      assertRun(unused, 0, { stdout: 'Removed policy "temp".\n' });
      assertRun(builtIn, 1, { stderr: 'umpin policy remove: The "default" policy cannot be removed' });
      assertRun(missing, 1, { stderr: 'umpin policy remove: There is no policy "nosuch"' });
      assert.deepEqual((await services.store.listPolicies()).map((p) => p.name).sort(), ['default', 'sales', 'strict']);
    });
  });

  describe('pin reset / show / unlock / lock', () => {
    /** sam lives under the strict rules, with an extension whose end is a repeated digit. */
    const enableSam = async ({ services, enable }: DataDir) => {
      await newPolicy(services, 'strict', { strictRules: true });
      await enable('sam', '52222', { policy: 'strict' });
    };

    it('sets a chosen PIN without mail: it is active at once, expired as asked', async (t) => {
      const { umpinWithInput, services, pickupDir, enable } = await ownDataDir(t);
      await enable('alice', '36697');
      const before = await listMailFiles(pickupDir);
      const result = await umpinWithInput('48151623\n', 'pin', 'reset', 'alice', '--pin-stdin', '--expired', 'false', '--no-email');
      assertRun(result, 0, { stdout: 'Set the PIN of alice (expired: no, locked out: no); no mail was sent.\n' });
      assert.equal(result.stderr, '');
      assert.ok(!result.stdout.includes('48151623'), 'the PIN is never printed');
      assert.ok(await isActivePin(services, 'alice', '48151623'), 'the chosen PIN is active');
      assert.deepEqual(await listMailFiles(pickupDir), before, 'no mail was written');
      assert.equal((await services.store.findMailbox('alice'))?.pinExpired, false);
    });

    it('refuses a PIN that breaks several rules, listing every rule id on its own line, and changes nothing', async (t) => {
      const d = await ownDataDir(t);
      const { umpin, services, pickupDir, verifiers, dir: dataDir } = d;
      await enableSam(d);
      const before = { mailbox: await services.store.findMailbox('sam'), verifiers: await verifiers('sam'), mails: await listMailFiles(pickupDir) };
      const pinFile = join(dataDir, 'sam.pin');
      await writeFile(pinFile, '2222\n', { mode: 0o600 });
      const result = await umpin('pin', 'reset', 'sam', '--pin-file', pinFile);
      assertRun(result, 1, { stderr: /^umpin pin reset: The PIN does not meet the PIN policy, so nothing was changed:\n/ });
      assert.equal(result.stdout, '');
      const ids = result.stderr.split('\n').slice(1).filter(Boolean).map((line) => /^ {2}(pin\.[a-z-]+) +\S/.exec(line)?.[1]);
      assert.deepEqual(ids, ['pin.too-short', 'pin.repeated', 'pin.extension', 'pin.repeated-group', 'pin.two-digits', 'pin.triple']);
      assert.match(result.stderr, /^ {2}pin\.too-short +A PIN must have at least 6 digits\.$/m);
      assert.deepEqual({ mailbox: await services.store.findMailbox('sam'), verifiers: await verifiers('sam'), mails: await listMailFiles(pickupDir) }, before);
      assert.equal(await isActivePin(services, 'sam', '2222'), false);
    });

    it('refuses a PIN given as an argument, or from two places, before reading or changing anything', async (t) => {
      const { umpin, umpinWithInput, services, pickupDir, verifiers, enable, dir: dataDir } = await ownDataDir(t);
      await enable('alice', '36697');
      const before = { mailbox: await services.store.findMailbox('alice'), verifiers: await verifiers('alice'), mails: await listMailFiles(pickupDir) };
      const [argument, both, missingFile, withCsv] = await Promise.all([
        umpin('pin', 'reset', 'alice', '--pin', '73951842', '--no-email'),
        umpinWithInput('73951842', 'pin', 'reset', 'alice', '--pin-stdin', '--pin-file', join(dataDir, 'x.pin'), '--no-email'),
        umpin('pin', 'reset', 'alice', '--pin-file', join(dataDir, 'nosuch.pin'), '--no-email'),
        umpinWithInput('73951842', 'pin', 'reset', '--csv', join(dataDir, 'x.csv'), '--pin-stdin'),
      ]);
      assertRun(argument, 2, { stderr: "umpin pin reset: --pin is not taken: a PIN given as an argument shows in ps and in the shell's history. Pipe it in with --pin-stdin, or name a file with --pin-file.\n" });
      assertRun(both, 2, { stderr: 'umpin pin reset: give --pin-stdin or --pin-file, not both.\n' });
      assertRun(missingFile, 2, { stderr: `umpin pin reset: --pin-file: cannot read ${join(dataDir, 'nosuch.pin')}: ENOENT\n` });
      assertRun(withCsv, 2, { stderr: 'umpin pin reset: --pin-stdin cannot be combined with --csv; set it per line in the pin column.\n' });
      for (const result of [argument, both, missingFile, withCsv]) assert.ok(!`${result.stdout}${result.stderr}`.includes('73951842'), 'the PIN is never echoed');
      assert.deepEqual({ mailbox: await services.store.findMailbox('alice'), verifiers: await verifiers('alice'), mails: await listMailFiles(pickupDir) }, before, 'nothing changed');
    });

    it('mails the PIN to --notify-email; --locked-out true locks; unlock and lock follow', async (t) => {
      const d = await ownDataDir(t);
      const { umpin, services, pickupDir } = d;
      await enableSam(d);
      await d.enable('bob', '36698');
      const before = await listMailFiles(pickupDir);
      const [notify, noPin, badFlag, missing] = await Promise.all([
        umpin('pin', 'reset', 'sam', '--notify-email', 'helpdesk@example.com', '--locked-out', 'true'),
        umpin('pin', 'reset', 'bob', '--no-email'),
        umpin('pin', 'reset', 'bob', '--expired', 'maybe'),
        umpin('pin', 'reset', 'nosuch'),
      ]);
      assertRun(notify, 0, { stdout: /^Reset the PIN of sam \(expired: yes, locked out: yes\); the mail with the PIN was handed off to helpdesk@example\.com \(.+\)\.\n$/ });
      assertRun(noPin, 1, { stderr: 'umpin pin reset: --no-email needs a chosen PIN (--pin-stdin, --pin-file, or the pin column of a CSV line): a generated PIN that is not mailed would be known to nobody.\n' });
      assertRun(badFlag, 2, { stderr: 'umpin pin reset: --expired "maybe" is not true or false.' });
      assertRun(missing, 1, { stderr: 'umpin pin reset: There is no voice mail mailbox for "nosuch"' });
      const mails = await newPinMails(pickupDir, before);
      assert.deepEqual(mails.map((m) => m.to), ['helpdesk@example.com'], 'one mail, to the notify address; none for bob');
      assert.ok(await isActivePin(services, 'sam', mails[0]?.pin ?? ''), 'the mailed PIN is active');

      const locked = JSON.parse((await umpin('pin', 'show', 'sam', '--json')).stdout) as Record<string, unknown>;
      assert.equal(locked.lockedOut, true);
      assertRun(await umpin('pin', 'unlock', 'sam'), 0, { stdout: 'Unlocked sam' });
      assert.equal((await services.store.findMailbox('sam'))?.lockedOut, false);
      const [lock, unlockMissing] = await Promise.all([umpin('pin', 'lock', 'sam'), umpin('pin', 'unlock', 'nosuch')]);
      assertRun(lock, 0, { stdout: 'Locked sam out of phone logons; undo with: umpin pin unlock sam\n' });
      assertRun(unlockMissing, 1, { stderr: 'There is no voice mail mailbox for "nosuch"' });
      assert.equal((await services.store.findMailbox('sam'))?.lockedOut, true);
    });
  });

  describe('pin reset --csv', () => {
    /** erin, frank and grace, as the CSV files below name them. */
    const enableTheTeam = async ({ enable }: DataDir) => {
      for (const [login, extension] of [['erin', '40001'], ['frank', '40002'], ['grace', '40003']] as const) await enable(login, extension);
    };

    it('resets the good lines, reports every line, and exits 1 when any line failed', async (t) => {
      const d = await ownDataDir(t);
      const { umpin, services, pickupDir, verifiers, dir: dataDir } = d;
      await enableTheTeam(d);
      await d.enable('bob', '36698');
      const csv = [
        '# help desk, batch 7',
        'Login,PIN,expired,locked_out,notify_email',
        'erin,,,,',
        'nosuch,,,,',
        'frank,1234,false,,',
        '',
        '"x,""y""",,,,',
        'grace,86420975,"false",,"help, desk <helpdesk@example.com>"',
        'grace,86420975,false,,"helpdesk@example.com"',
        'bob,,maybe,,',
      ].join('\r\n');
      const file = join(dataDir, 'resets.csv');
      await writeFile(file, `\uFEFF${csv}\r\n`);
      const before = { mails: await listMailFiles(pickupDir), frank: await verifiers('frank'), bob: await services.store.findMailbox('bob') };
      const result = await umpin('pin', 'reset', '--csv', file);
      assertRun(result, 1, { stderr: 'umpin pin reset: 5 of 8 lines failed; the other lines were done. Fix the failed lines and run them again.\n' });
      assert.deepEqual(result.stdout.split('\n'), [
        'line 3   reset    erin  mailed to erin@example.com',
        'line 4   failed   nosuch  There is no voice mail mailbox for "nosuch"; enable one with: umpin mailbox enable nosuch --email <address> --extension <digits>',
        'line 5   failed   frank  The PIN does not meet the PIN policy: [pin.too-short] A PIN must have at least 6 digits. [pin.sequential] A PIN may not be a run of consecutive digits, such as 123456 or 654321.',
        'line 6   skipped  -  blank line',
        'line 7   failed   x,"y"  There is no voice mail mailbox for "x,"y""; enable one with: umpin mailbox enable x,"y" --email <address> --extension <digits>',
        'line 8   failed   grace  --notify-email "help, desk <helpdesk@example.com>" is not an e-mail address such as user@example.com.',
        'line 9   reset    grace  mailed to helpdesk@example.com',
        'line 10  failed   bob  The expired column must be true or false (or empty for the default).',
        '2 reset, 1 skipped, 5 failed',
        '',
      ]);
      assert.ok(!result.stdout.includes('86420975') && !result.stdout.includes('1234 '), 'no PIN is printed');

      const mails = await newPinMails(pickupDir, before.mails);
      assert.deepEqual(mails.map((m) => m.to).sort(), ['erin@example.com', 'helpdesk@example.com']);
      const erinMail = mails.find((m) => m.to === 'erin@example.com');
      assert.ok(await isActivePin(services, 'erin', erinMail?.pin ?? ''), "erin's new PIN is active");
      assert.ok(await isActivePin(services, 'grace', '86420975'), "grace's chosen PIN is active");
      assert.equal((await services.store.findMailbox('grace'))?.pinExpired, false, 'expired false applied');
      assert.deepEqual(await verifiers('frank'), before.frank, "frank's refused line changed nothing");
      assert.deepEqual(await services.store.findMailbox('bob'), before.bob, "bob's bad line changed nothing");
    });

    it('reads standard input with -, and --no-email makes the default for every line', async (t) => {
      const d = await ownDataDir(t);
      const { umpinWithInput, services, pickupDir } = d;
      await enableTheTeam(d);
      const before = await listMailFiles(pickupDir);
      const result = await umpinWithInput('login,pin,notify_email\nerin,97531864,\nfrank,,\ngrace,97531864,a@example.com\n', 'pin', 'reset', '--csv', '-', '--no-email', '--expired', 'false');
      assertRun(result, 1);
      assert.deepEqual(result.stdout.split('\n'), [
        'line 2  reset    erin  no mail sent',
        'line 3  failed   frank  --no-email needs a chosen PIN (--pin-stdin, --pin-file, or the pin column of a CSV line): a generated PIN that is not mailed would be known to nobody.',
        'line 4  failed   grace  The notify_email column names an address, but no mail is to be sent (--no-email); leave one of them out.',
        '1 reset, 0 skipped, 2 failed',
        '',
      ]);
      assert.ok(await isActivePin(services, 'erin', '97531864'));
      assert.deepEqual(await listMailFiles(pickupDir), before, 'no mail was written');
    });

    it("reads a file Excel saved in a de or fr locale as it is: BOM, semicolons, CRLF", async (t) => {
      const { umpin, services, enable, dir: dataDir } = await ownDataDir(t);
      await enable('erin', '40001');
      const excel = join(dataDir, 'excel-de.csv');
      await writeFile(excel, '\uFEFFlogin;pin;expired\r\nerin;31847265;false\r\n');
      const result = await umpin('pin', 'reset', '--csv', excel, '--no-email');
      assertRun(result, 0, { stdout: 'line 2  reset    erin  no mail sent\n1 reset, 0 skipped, 0 failed\n' });
      assert.ok(await isActivePin(services, 'erin', '31847265'));
      assert.equal((await services.store.findMailbox('erin'))?.pinExpired, false);
    });

    it('refuses a file without a login column, with an unknown column, or with an unclosed quote (exit 2), before any reset', async (t) => {
      const own = await ownDataDir(t);
      const { umpin, umpinWithInput, pickupDir, verifiers, dir: dataDir } = own;
      await enableTheTeam(own);
      const noLogin = join(dataDir, 'no-login.csv');
      const unknownColumn = join(dataDir, 'unknown.csv');
      const unclosed = join(dataDir, 'unclosed.csv');
      await Promise.all([
        writeFile(noLogin, '# no login here\npin,expired\n1,true\n'),
        writeFile(unknownColumn, 'login,pinn\nerin,\n'),
        writeFile(unclosed, 'login,pin\nerin,\n"frank,\n'),
      ]);
      const before = { mails: await listMailFiles(pickupDir), erin: await verifiers('erin') };
      const [a, b, c, d, empty, user] = await Promise.all([
        umpin('pin', 'reset', '--csv', noLogin),
        umpin('pin', 'reset', '--csv', unknownColumn),
        umpin('pin', 'reset', '--csv', unclosed),
        umpin('pin', 'reset', '--csv', join(dataDir, 'nosuch.csv')),
        umpinWithInput('login\n# nobody today\n', 'pin', 'reset', '--csv', '-'),
        umpinWithInput('user,pin\nerin,\n', 'pin', 'reset', '--csv', '-'),
      ]);
      assertRun(a, 2, { stderr: /^umpin pin reset: --csv: the file has no login column; its first line must name the columns, such as: login,pin,expired,locked_out,notify_email\n/ });
      assertRun(user, 2, { stderr: /^umpin pin reset: --csv: the header names an unknown column "user"/ });
      assertRun(b, 2, { stderr: 'umpin pin reset: --csv: the header names an unknown column "pinn"; the columns are login, pin, expired, locked_out, notify_email.' });
      assertRun(c, 2, { stderr: 'umpin pin reset: --csv: line 3: a quoted field is not closed' });
      assertRun(d, 2, { stderr: /^umpin pin reset: --csv: cannot read .*nosuch\.csv: ENOENT/ });
      for (const refused of [a, b, c, d, user]) assert.equal(refused.stdout, '');
      assertRun(empty, 0, { stdout: 'line 2  skipped  -  comment\n0 reset, 1 skipped, 0 failed\n' });
      assert.deepEqual({ mails: await listMailFiles(pickupDir), erin: await verifiers('erin') }, before, 'nothing changed');
    });
  });

  describe('audit', () => {
    it('--json --login prints one object per line for that mailbox, oldest first; --limit keeps the newest', async (t) => {
      const { umpin, services, enable } = await ownDataDir(t);
      // grace's trail as `pin reset --csv` leaves it: enabled, a line with a bad notify address, then a reset mailed to the help desk.
      await enable('grace', '40003');
      await assert.rejects(resetPinByAdmin(services, 'grace', { pin: '86420975', expired: false, notifyEmail: 'help, desk <helpdesk@example.com>' }), /is not an e-mail address/);
      await resetPinByAdmin(services, 'grace', { pin: '86420975', expired: false, notifyEmail: 'helpdesk@example.com' });
      const [json, limited, human, future] = await Promise.all([
        umpin('audit', '--json', '--login', 'grace'),
        umpin('audit', '--login', 'grace', '--limit', '1', '--json'),
        umpin('audit', '--login', 'grace', '--since', '1h'),
        umpin('audit', '--since', '2999-01-01'),
      ]);
      assertRun(json, 0);
      const events = json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(events.map((e) => [e.event, e.outcome]), [
        ['mailbox.enable', 'success'], ['pin.welcome', 'success'], ['pin.admin-reset', 'success'],
      ], 'the bad notify address was refused before the PIN change began, so it is not an audited PIN event');
      for (const event of events) {
        assert.deepEqual(Object.keys(event), ['id', 'at', 'event', 'outcome', 'login', 'actor', 'source', 'detail']);
        assert.equal(event.login, 'grace');
        assert.equal(event.actor, 'admin');
        assert.equal(event.source, 'cli');
      }
      assert.ok(!json.stdout.includes('86420975'), 'no PIN in the audit trail');
      assertRun(limited, 0);
      assert.deepEqual(JSON.parse(limited.stdout), events.at(-1));
      assertRun(human, 0);
      const lines = human.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[2] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}pin\.admin-reset {2}success {2}grace {2}by admin from cli {2}\{"messageId":.*"to":"helpdesk@example\.com".*\}$/);
      assert.match(lines[0] ?? '', /^\S+ {2}mailbox\.enable {2}success {2}grace {2}by admin from cli$/, 'no detail, no braces');
      assertRun(future, 0, { stdout: /^$/ });
    });

    it('prune --before deletes the older events only, says how many, and is itself audited', async (t) => {
      const { umpin, services } = await ownDataDir(t);
      const now = Date.now();
      for (const days of [400, 40, 10]) {
        await services.store.appendAudit({ at: new Date(now - days * 86_400_000), event: 'pin.logon', outcome: 'ok', login: 'zoe', actor: 'phone', source: '192.0.2.1' });
      }
      const pruned = await umpin('audit', 'prune', '--before', '30d');
      assertRun(pruned, 0, { stdout: /^Deleted 2 audit events from before \d{4}-\d\d-\d\dT[\d:.]+Z\.\n$/ });
      const left = await umpin('audit', '--json');
      assertRun(left, 0);
      const events = left.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string; login: string | null; actor: string; detail: Record<string, unknown> });
      assert.deepEqual(events.map((e) => [e.event, e.login, e.actor, e.detail.deleted]), [['pin.logon', 'zoe', 'phone', undefined], ['audit.prune', null, 'admin', 2]]);
      const again = await umpin('audit', 'prune', '--before', '30d');
      assertRun(again, 0, { stdout: /^Deleted 0 audit events from before / });
      assert.equal((await umpin('audit', '--json')).stdout, left.stdout, 'nothing to delete: nothing changed, not even the trail');
    });

    it('shows refused PIN changes with the rules they broke', async (t) => {
      const { umpin, services, enable } = await ownDataDir(t);
      // sam under the strict rules, extension 52222, and the PIN 2222 refused, as `pin reset sam --pin-file` refuses it.
      await newPolicy(services, 'strict', { strictRules: true });
      await enable('sam', '52222', { policy: 'strict' });
      await assert.rejects(resetPinByAdmin(services, 'sam', { pin: '2222' }), /does not meet the PIN policy/);
      const result = await umpin('audit', '--login', 'sam', '--json');
      const refused = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.outcome === 'policy-violated');
      assert.deepEqual(refused.map((e) => e.detail), [{ rules: 'pin.too-short pin.repeated pin.extension pin.repeated-group pin.two-digits pin.triple' }]);
    });
  });

  describe('apikey add / list / revoke', () => {
    it('prints a new key once, lists keys without it, and revokes it', async (t) => {
      const { umpin, services } = await ownDataDir(t);
      const added = await umpin('apikey', 'add', 'asterisk-1');
      assertRun(added, 0, { stdout: /^umpin_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/, stderr: 'it cannot be shown again' });
      const key = added.stdout.trim();
      const [, id, secret] = /^umpin_([0-9a-f]{16})_(.+)$/.exec(key) ?? [];
      assert.ok(await isValidApiKey(services, key), 'the printed key works');

      const [list, json, duplicate, badName] = await Promise.all([
        umpin('apikey', 'list'), umpin('apikey', 'list', '--json'), umpin('apikey', 'add', 'asterisk-1'), umpin('apikey', 'add', 'no spaces'),
      ]);
      assertRun(list, 0, { stdout: new RegExp(`^NAME +ID +CREATED +REVOKED\\nasterisk-1 +${id} +\\d{4}-\\d\\d-\\d\\dT\\S+ +-\\n$`) });
      assertRun(json, 0);
      const keys = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      assert.deepEqual(keys.map((k) => Object.keys(k)), [['name', 'id', 'createdAt', 'revokedAt']]);
      assert.deepEqual([keys[0]?.name, keys[0]?.id, keys[0]?.revokedAt], ['asterisk-1', id, null]);
      for (const output of [list.stdout, json.stdout]) assert.ok(!output.includes(secret as string), 'the key is never shown again');
      assertRun(duplicate, 1, { stderr: 'An API key named "asterisk-1" exists already' });
      assertRun(badName, 1, { stderr: 'An API key name is 1–64 letters' });

      assertRun(await umpin('apikey', 'revoke', 'asterisk-1'), 0, { stdout: 'Revoked the API key "asterisk-1"' });
      assert.equal(await isValidApiKey(services, key), false, 'a revoked key no longer works');
      const [afterRevoke, again] = await Promise.all([umpin('apikey', 'list', '--json'), umpin('apikey', 'revoke', 'asterisk-1')]);
      assert.equal(typeof (JSON.parse(afterRevoke.stdout) as Array<Record<string, unknown>>)[0]?.revokedAt, 'string');
      assertRun(again, 1, { stderr: 'umpin apikey revoke: There is no active API key named "asterisk-1"' });
    });
  });
});
