/**
 * The administrator's CLI as a user runs it: `bin/umpin.js` in its own
 * process over a fresh data directory, checked by exit code, the text on
 * stdout and stderr, --json output, and the files it leaves behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SETTINGS } from '../../src/config.ts';
import { listMailFiles, makeDataDir, readPinMail, runUmpin, type CliResult, assertRun } from '../support/service.ts';

const COMMAND_NAMES = [
  'serve', 'user add', 'user password', 'mailbox enable', 'mailbox set', 'mailbox disable', 'mailbox show', 'mailbox list',
  'pin reset', 'pin show', 'pin unlock', 'pin lock', 'policy new', 'policy set', 'policy show', 'policy remove',
  'audit', 'apikey add', 'apikey list', 'apikey revoke',
];
const PASSWORD = 'pw-unique-marker-123';

const DEFAULT_POLICY_JSON = {
  name: 'default',
  minPinLength: 6,
  pinLifetimeDays: 60,
  pinHistoryCount: 5,
  allowCommonPatterns: false,
  strictRules: false,
  logonFailuresBeforePinReset: 5,
  maxLogonAttempts: 15,
  resetPinText: '',
  umEnabledText: '',
};


describe('umpin CLI', () => {
  let dataDir: string;
  let otherDir: string;
  let env: Record<string, string>;
  let pickupDir: string;
  const umpin = (args: readonly string[], input?: string, extraEnv: Record<string, string> = {}) => runUmpin(args, { ...env, ...extraEnv }, input);
  // Each test below 'first run' makes the users and mailboxes it needs, under
  // logins of its own, so each can run alone (--test-name-pattern) and none
  // depends on what another left. Their describes start from a data directory
  // that has had its first run (one CLI run, never several at once).
  const initialised = async () => {
    if (!existsSync(join(dataDir, 'secret.key'))) assertRun(await umpin(['policy', 'show']), 0);
  };
  const addUser = async (login: string, password = PASSWORD) => assertRun(await umpin(['user', 'add', login, '--password-stdin'], `${password}\n`), 0);
  let nextExtension = 36697;
  /** Enables `login`'s mailbox; answers the command's result and the one welcome mail it wrote. */
  const enableMailbox = async (login: string) => {
    const before = await listMailFiles(pickupDir);
    const result = await umpin(['mailbox', 'enable', login, '--email', `${login}@example.com`, '--extension', String(nextExtension++)]);
    const added = (await listMailFiles(pickupDir)).filter((f) => !before.includes(f));
    return { result, added, mail: added.length === 1 ? await readPinMail(join(pickupDir, added[0] as string)) : undefined };
  };

  before(async () => {
    dataDir = await makeDataDir();
    otherDir = await makeDataDir();
    pickupDir = join(dataDir, 'pickup');
    // Only the data directory decides where state goes; nothing from the outer environment.
    env = {
      UMPIN_DATA_DIR: dataDir,
      UMPIN_LOG_LEVEL: 'silent',
      UMPIN_DATABASE_URL: '',
      UMPIN_SECRET_FILE: '',
      UMPIN_PICKUP_DIR: '',
      UMPIN_BODY_LIMIT: '',
      UMPIN_LISTEN: '',
    };
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(otherDir, { recursive: true, force: true });
  });

  describe('help and usage', () => {
    // None of these touches state, so they run at once.
    let help: CliResult, bare: CliResult, unknown: CliResult, commandHelp: CliResult, tooFew: CliResult;
    before(async () => {
      [help, bare, unknown, commandHelp, tooFew] = await Promise.all([
        umpin(['--help']), umpin([]), umpin(['frobnicate']), umpin(['pin', 'show', '--help']), umpin(['pin', 'show']),
      ]);
    });

    it('--help exits 0 and lists every command; no arguments exit 2 with the same overview', () => {
      assertRun(help, 0, { stdout: /^umpin: a self-hosted Exchange Unified Messaging voice mail PIN service\./ });
      assert.equal(help.stderr, '');
      for (const name of COMMAND_NAMES) assert.match(help.stdout, new RegExp(`^  ${name} +\\S`, 'm'), `the overview lists ${name}`);
      assertRun(bare, 2);
      assert.equal(bare.stdout, help.stdout, 'no arguments print the overview');
    });

    it('an unknown command exits 2 naming it, with the overview', () => {
      assertRun(unknown, 2, { stderr: 'umpin: unknown command "frobnicate".' });
      for (const name of COMMAND_NAMES) assert.ok(unknown.stderr.includes(`  ${name} `), `the overview lists ${name}`);
      assert.equal(unknown.stdout, '');
    });

    it("<command> --help exits 0 with the command's usage line", () => {
      assertRun(commandHelp, 0, { stdout: /^Usage: umpin pin show <login> \[--json\]\n\nLike Get-UMMailboxPin/ });
      assert.equal(commandHelp.stderr, '');
    });

    it('a wrong number of arguments exits 2 with the usage line', () => {
      assertRun(tooFew, 2, { stderr: /^umpin pin show: expected 1 argument, got 0\.\nUsage: umpin pin show <login> \[--json\]\n$/ });
      assert.equal(tooFew.stdout, '');
    });

    it('help and usage errors leave the data directory untouched', () => {
      assert.deepEqual(readdirSync(dataDir), []);
    });
  });

  describe('first run', () => {
    it('creates the secret key (0600) and the database', async () => {
      const shown = await umpin(['policy', 'show']);
      assertRun(shown, 0, { stdout: /^Name +default$/m });
      assert.match(shown.stdout, /^StrictRules +false$/m, 'the human output shows StrictRules too');
      const secret = join(dataDir, 'secret.key');
      assert.ok(existsSync(secret), 'secret.key exists');
      assert.equal(statSync(secret).mode & 0o777, 0o600);
      assert.ok(statSync(join(dataDir, 'umpin.sqlite')).isFile(), 'umpin.sqlite exists');
    });
  });

  describe('user add', () => {
    before(initialised);

    it('adds a user from the password on standard input', async () => {
      const result = await umpin(['user', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`);
      assertRun(result, 0);
      assert.equal(result.stdout, 'Added user alice.\n');
      assert.equal(result.stderr, '');
    });

    it('refuses the same user again (exit 1), a missing --password-stdin (exit 2) and an empty password (exit 1)', async () => {
      await addUser('twice');
      const [again, noFlag, empty, onlyNewline] = await Promise.all([
        umpin(['user', 'add', 'twice', '--password-stdin'], 'another password\n'),
        umpin(['user', 'add', 'bob'], `${PASSWORD}\n`),
        umpin(['user', 'add', 'carol', '--password-stdin'], ''),
        umpin(['user', 'add', 'dave', '--password-stdin'], '\n'),
      ]);
      assertRun(again, 1, { stderr: 'umpin user add: The user "twice" exists already.' });
      assertRun(noFlag, 2, { stderr: /^umpin user add: Pass --password-stdin .*\nUsage: umpin user add <login> --password-stdin\n$/ });
      assertRun(empty, 1, { stderr: 'umpin user add: The password is empty' });
      assertRun(onlyNewline, 1, { stderr: 'umpin user add: The password is empty' });
      for (const result of [again, noFlag, empty, onlyNewline]) assert.equal(result.stdout, '');
    });

    it('user password replaces the password, audited, and refuses an unknown user and a missing --password-stdin', async () => {
      await addUser('pat');
      const changed = await umpin(['user', 'password', 'pat', '--password-stdin'], 'pw-new-marker-456\n');
      assertRun(changed, 0);
      assert.equal(changed.stdout, 'Changed the password of pat.\n');
      const unknown = await umpin(['user', 'password', 'nobody', '--password-stdin'], 'x\n');
      assertRun(unknown, 1, { stderr: 'umpin user password: There is no local user "nobody"; add one with: umpin user add nobody --password-stdin' });
      const noFlag = await umpin(['user', 'password', 'pat'], 'x\n');
      assertRun(noFlag, 2, { stderr: /^umpin user password: Pass --password-stdin / });
      const audit = await umpin(['audit', '--json']);
      assert.match(audit.stdout, /"event":"user.password".*"login":"pat"|"login":"pat".*"event":"user.password"/);
      const back = await umpin(['user', 'password', 'pat', '--password-stdin'], `${PASSWORD}\n`);
      assertRun(back, 0);
    });

    it('never stores the password itself', async () => {
      await addUser('kept');
      assert.ok(existsSync(join(dataDir, 'umpin.sqlite')), 'the database exists');
      for (const file of ['umpin.sqlite', 'umpin.sqlite-wal']) {
        const path = join(dataDir, file);
        if (!existsSync(path)) continue;
        const bytes = readFileSync(path);
        assert.ok(!bytes.includes(PASSWORD), `${file} does not contain the password`);
        assert.ok(!bytes.includes(Buffer.from(PASSWORD, 'utf16le')), `${file} does not contain the password (UTF-16)`);
      }
    });
  });

  describe('mailbox enable', () => {
    before(initialised);

    it('enables a mailbox and hands off the welcome mail with its PIN', async () => {
      await addUser('erin');
      const { result, added, mail } = await enableMailbox('erin');
      assertRun(result, 0, { stdout: /^Enabled erin for voice mail; the welcome mail with the PIN was handed off to erin@example\.com \(.+\)\.\n$/ });
      assert.equal(result.stderr, '');
      assert.equal(added.length, 1, 'exactly one mail is written');
      assert.ok(mail);
      assert.equal(mail.to, 'erin@example.com');
      assert.equal(mail.subject, 'Welcome to voice mail');
      assert.match(mail.pin, /^\d{6}$/, 'the PIN has the default MinPINLength');
      assert.ok(!result.stdout.includes(mail.pin), 'the PIN is never printed');
    });

    it('refuses to enable it again, and sends no mail', async () => {
      await addUser('enabled');
      const { result: first, added: welcome } = await enableMailbox('enabled');
      assertRun(first, 0);
      assert.equal(welcome.length, 1);
      const before = await listMailFiles(pickupDir);
      const result = await umpin(['mailbox', 'enable', 'enabled', '--email', 'enabled@example.com', '--extension', String(nextExtension - 1)]);
      assertRun(result, 1, { stderr: 'umpin mailbox enable: The mailbox "enabled" is already enabled for voice mail and has a PIN.' });
      assert.equal(result.stdout, '');
      assert.deepEqual(await listMailFiles(pickupDir), before);
    });

    it('refuses bad arguments, naming each, and enables nothing', async () => {
      const before = await listMailFiles(pickupDir);
      const enable = (...args: string[]) => umpin(['mailbox', 'enable', 'bob', ...args]);
      const [noEmail, extension, policy, language] = await Promise.all([
        enable('--extension', '36698'),
        enable('--email', 'bob@example.com', '--extension', '12ab'),
        enable('--email', 'bob@example.com', '--extension', '36698', '--policy', 'nosuch'),
        enable('--email', 'bob@example.com', '--extension', '36698', '--language', '!!'),
      ]);
      assertRun(noEmail, 2, { stderr: /^umpin mailbox enable: --email is required\.\nUsage: umpin mailbox enable <login> \(--email <address>/ });
      assertRun(extension, 1, { stderr: 'umpin mailbox enable: --extension "12ab" must be 1 to 20 digits.' });
      assertRun(policy, 1, { stderr: 'umpin mailbox enable: There is no policy "nosuch"; list them with: umpin policy show' });
      assertRun(language, 1, { stderr: /^umpin mailbox enable: --language "!!" is not a language tag/ });
      for (const result of [noEmail, extension, policy, language]) assert.equal(result.stdout, '');
      assert.deepEqual(await listMailFiles(pickupDir), before, 'no mail was written');
      assertRun(await umpin(['pin', 'show', 'bob']), 1, { stderr: 'There is no voice mail mailbox for "bob"' });
    });
  });

  describe('pin show', () => {
    // Set-up only: pin show changes nothing, so both tests read this one mailbox.
    let welcomePin: string;
    before(async () => {
      await initialised();
      await addUser('shown');
      const { result, mail } = await enableMailbox('shown');
      assertRun(result, 0);
      assert.ok(mail);
      welcomePin = mail.pin;
    });

    it('--json prints one object with the PIN state and never the PIN', async () => {
      const result = await umpin(['pin', 'show', 'shown', '--json']);
      assertRun(result, 0);
      assert.equal(result.stderr, '');
      assert.equal(result.stdout.trimEnd().split('\n').length, 1, 'one line');
      const state = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(state).sort(), ['failedLogons', 'firstTimeUser', 'hasPin', 'lastMail', 'lockedOut', 'login', 'pinExpired', 'pinSetAt', 'policy']);
      const { pinSetAt, lastMail, ...rest } = state;
      const mail = lastMail as { status: string; at: string; reply: string };
      assert.equal(mail.status, 'handed-off', 'the welcome mail (DESIGN §3.1 lastMail)');
      assert.match(mail.reply, /\.eml$/);
      assert.ok(!Number.isNaN(Date.parse(mail.at)));
      assert.deepEqual(rest, {
        login: 'shown',
        hasPin: true,
        pinExpired: true,
        firstTimeUser: true,
        lockedOut: false,
        failedLogons: 0,
        policy: 'default',
      });
      assert.equal(typeof pinSetAt, 'string');
      assert.match(pinSetAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, 'ISO 8601');
      const age = Date.now() - Date.parse(pinSetAt as string);
      assert.ok(age >= -5_000 && age < 10 * 60_000, `pinSetAt is recent (${pinSetAt})`);
      assert.ok(!result.stdout.includes(welcomePin), 'the PIN is never printed');
    });

    it('prints the state for people, and refuses a mailbox that does not exist', async () => {
      const [human, missing] = await Promise.all([umpin(['pin', 'show', 'shown']), umpin(['pin', 'show', 'nosuch'])]);
      assertRun(human, 0, { stdout: /^Locked out +no$/m });
      assert.match(human.stdout, /^Mailbox +shown$/m);
      assert.match(human.stdout, /^PIN expired +yes$/m);
      assert.match(human.stdout, /^Policy +default$/m);
      assert.ok(!human.stdout.includes(welcomePin), 'the PIN is never printed');
      assertRun(missing, 1, {
        stderr: 'umpin pin show: There is no voice mail mailbox for "nosuch"; enable one with: umpin mailbox enable nosuch --email <address> --extension <digits>\n',
      });
      assert.equal(missing.stdout, '');
    });
  });

  describe('policy show', () => {
    before(initialised);

    it('--json prints every policy, or the one named; an unknown name exits 1', async () => {
      const [all, one, missing] = await Promise.all([
        umpin(['policy', 'show', '--json']),
        umpin(['policy', 'show', 'default', '--json']),
        umpin(['policy', 'show', 'nosuch']),
      ]);
      assertRun(all, 0);
      assert.deepEqual(JSON.parse(all.stdout), [DEFAULT_POLICY_JSON]);
      assertRun(one, 0);
      assert.deepEqual(JSON.parse(one.stdout), DEFAULT_POLICY_JSON);
      assertRun(missing, 1, { stderr: 'umpin policy show: There is no policy "nosuch"; list them with: umpin policy show\n' });
      assert.equal(missing.stdout, '');
    });
  });

  describe('configuration', () => {
    before(initialised);

    it('refuses a missing secret file once the database has one, without leaving a new key behind (exit 2)', async () => {
      const missing = join(otherDir, 'typo.key');
      const result = await umpin(['pin', 'show', 'alice'], undefined, { UMPIN_SECRET_FILE: missing });
      assertRun(result, 2, { stderr: /^umpin: configuration: UMPIN_SECRET_FILE: .*does not exist, but this database was created with a secret/ });
      assert.ok(result.stderr.includes(missing), 'the message names the file');
      assert.equal(result.stdout, '');
      assert.equal(existsSync(missing), false, 'no stray key file');
    });

    it('refuses a secret file that is not the one the database was created with (exit 2)', async () => {
      const originalSecret = readFileSync(join(dataDir, 'secret.key'));
      const wrongSecret = join(otherDir, 'other.key');
      await writeFile(wrongSecret, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      const result = await umpin(['pin', 'show', 'alice'], undefined, { UMPIN_SECRET_FILE: wrongSecret });
      assertRun(result, 2, { stderr: /^umpin: configuration: UMPIN_SECRET_FILE: .*is not the secret this database was created with/ });
      assert.ok(result.stderr.includes(wrongSecret), 'the message names the file');
      assert.equal(result.stdout, '');
      assert.deepEqual(readFileSync(join(dataDir, 'secret.key')), originalSecret, 'the original secret is untouched');
    });

    it('refuses a secret file that does not hold a key as a configuration error (exit 2), without a stack trace', async () => {
      const badSecret = join(otherDir, 'garbage.key');
      await writeFile(badSecret, 'not a key\n', { mode: 0o600 });
      const result = await umpin(['policy', 'show'], undefined, { UMPIN_SECRET_FILE: badSecret });
      assertRun(result, 2, { stderr: /^umpin: configuration: .*UMPIN_SECRET_FILE/ });
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(result.stdout, '');
    });

    it('refuses a world-readable secret file (exit 2), saying which chmod fixes it, and changes nothing', async () => {
      const exposed = join(otherDir, 'exposed.key');
      await writeFile(exposed, readFileSync(join(dataDir, 'secret.key')), { mode: 0o644 });
      chmodSync(exposed, 0o644); // the umask may have narrowed the mode given above
      const result = await umpin(['pin', 'show', 'alice'], undefined, { UMPIN_SECRET_FILE: exposed });
      assertRun(result, 2, { stderr: new RegExp(`^umpin: configuration: UMPIN_SECRET_FILE: ${exposed} is open to every user on this machine \\(mode 0644\\); run chmod 600 ${exposed} and start again\\.\n$`) });
      assert.equal(result.stdout, '');
      assert.equal(statSync(exposed).mode & 0o777, 0o644, 'umpin does not change the mode itself: the admin decides');
    });

    it('refuses a bad setting (exit 2), naming it', async () => {
      const result = await umpin(['policy', 'show'], undefined, { UMPIN_BODY_LIMIT: 'abc' });
      assertRun(result, 2, { stderr: 'umpin: configuration: UMPIN_BODY_LIMIT: "abc" must be a whole number from 1024 to 10485760.\n' });
      assert.equal(result.stdout, '');
    });

    it('refuses a mistyped setting (exit 2), naming the one meant, before serving or touching the data directory', async () => {
      const fresh = mkdtempSync(join(tmpdir(), 'umpin-typo-'));
      try {
        const result = await runUmpin(['serve'], { UMPIN_DATA_DIR: fresh, UMPIN_LISTEN: '127.0.0.1:0', UMPIN_SMTP_ULR: 'smtp://relay.example.com:587' });
        assertRun(result, 2, { stderr: 'umpin: configuration: UMPIN_SMTP_ULR: is not a setting umpin knows; did you mean UMPIN_SMTP_URL?\n' });
        assert.equal(result.stdout, '');
        assert.deepEqual(readdirSync(fresh), [], 'no database, secret or pickup directory was created');
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    });

    it('lists every setting with its default in "umpin serve --help"', async () => {
      const result = await umpin(['serve', '--help']);
      assertRun(result, 0, { stderr: '' });
      for (const name of Object.keys(SETTINGS)) assert.match(result.stdout, new RegExp(`^  ${name} +\\S.*\\(default .+\\)$`, 'm'), name);
    });
  });
});
