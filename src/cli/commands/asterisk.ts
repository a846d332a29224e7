/**
 * Asterisk's own PIN-change hooks (app_voicemail.c; docs/pbx.md), so that a
 * PIN changed in VoiceMailMain's menu goes through umpin's policy and lands in
 * umpin, not in voicemail.conf:
 *
 * - `externpasscheck` runs `<cmd…> mailbox context oldpw newpw` by fork +
 *   execv (the setting split on spaces; no shell) and reads ONE read() of its
 *   standard output: a prefix VALID accepts, FAILURE *also accepts* (Asterisk
 *   takes it as "the script could not run"), anything else refuses. So this
 *   helper writes VALID or INVALID in one write, and never FAILURE, whatever
 *   goes wrong (umpin stopped, the file unreadable). `oldpw` is Asterisk's
 *   placeholder, not the caller's PIN, and is ignored.
 * - `externpass` runs `/bin/sh -c "<cmd> context mailbox newpw"` (note the
 *   other order) and trusts exit status 0 as "changed".
 */
import { DEFAULT_CLIENT_FILE, PbxClientError, postPhoneApi, readClientFile } from '../pbx-client.ts';
import { CommandFailed, type Command } from '../command.ts';

const CLIENT_FILE_OPTION = { 'client-file': { type: 'string' } } as const;

function clientFile(options: Readonly<Record<string, string | boolean | undefined>>): string {
  const file = options['client-file'];
  return typeof file === 'string' && file !== '' ? file : DEFAULT_CLIENT_FILE;
}

/** What umpin's answer says about the PIN, for Asterisk's log and the admin (never the PIN itself). */
function describeRefusal(body: Readonly<Record<string, unknown>>): string {
  const rules = Array.isArray(body.rules) ? body.rules.map((rule) => String((rule as { id?: unknown }).id)).join(' ') : '';
  return rules !== '' ? rules : String(body.error ?? 'refused');
}

export const ASTERISK_COMMANDS: readonly Command[] = [
  {
    name: 'asterisk-passcheck',
    usage: 'umpin asterisk-passcheck [--client-file <file>] <mailbox> <context> <oldpw> <newpw>',
    summary: "Asterisk's externpasscheck: VALID or INVALID from umpin's PIN policy and history",
    help: `For voicemail.conf [general]:
  externpasscheck=/usr/local/bin/umpin asterisk-passcheck --client-file /etc/asterisk/umpin-client.conf
Asterisk adds "mailbox context oldpw newpw". Asks umpin (POST /tui/v1/check-new-pin,
a dry run: every policy rule and the PIN history, nothing stored or counted) and
prints VALID, or INVALID and the failed rule ids. Anything that goes wrong (umpin
unreachable, the file unreadable) prints INVALID too: never FAILURE, which Asterisk
would take as a pass. The client file holds url= and key= lines and must be mode 0600.`,
    examples: ['umpin asterisk-passcheck --client-file /etc/asterisk/umpin-client.conf 2001 default 7f3kq9x 482916'],
    options: CLIENT_FILE_OPTION,
    // Asterisk keeps an empty oldpw as an empty word; three words are taken as mailbox, context, newpw.
    positionals: { min: 3, max: 4 },
    async run({ positionals, options }) {
      const [mailbox = '', context = ''] = positionals;
      const newPin = positionals[positionals.length - 1] ?? '';
      let verdict: string;
      try {
        const answer = await postPhoneApi(readClientFile(clientFile(options)), 'check-new-pin', { mailbox, context, newPin });
        if (answer.status === 200 && answer.body.result === 'valid') verdict = 'VALID';
        else verdict = `INVALID: ${describeRefusal(answer.body)}`;
      } catch (error) {
        // Fail closed: the caller hears "invalid password" and keeps the PIN they have.
        verdict = `INVALID: ${error instanceof PbxClientError ? error.message : 'the check failed'}`;
      }
      process.stdout.write(`${verdict.slice(0, 200)}\n`); // one write, under Asterisk's 255-byte read
      if (verdict !== 'VALID') throw new CommandFailed(verdict);
    },
  },
  {
    name: 'asterisk-setpin',
    usage: 'umpin asterisk-setpin [--client-file <file>] <context> <mailbox> <newpw>',
    summary: "Asterisk's externpass: commit a PIN chosen in VoiceMailMain's menu to umpin",
    help: `For voicemail.conf [general] (externpass, NOT externpassnotify, so the PIN is not
also written to voicemail.conf):
  externpass=/usr/local/bin/umpin asterisk-setpin --client-file /etc/asterisk/umpin-client.conf
Asterisk adds "context mailbox newpw" (context first). Sets the PIN in umpin
(POST /tui/v1/set-pin; every policy rule and the history apply) and exits 0 only
once umpin has committed it; otherwise exit 1 and the reason on standard error.`,
    examples: ['umpin asterisk-setpin --client-file /etc/asterisk/umpin-client.conf default 2001 482916'],
    options: CLIENT_FILE_OPTION,
    positionals: { min: 3, max: 3 },
    async run({ positionals, options }) {
      const [context = '', mailbox = '', newPin = ''] = positionals;
      let answer;
      try {
        answer = await postPhoneApi(readClientFile(clientFile(options)), 'set-pin', { mailbox, context, newPin });
      } catch (error) {
        throw new CommandFailed(`the PIN was not changed: ${error instanceof PbxClientError ? error.message : 'the request failed'}`);
      }
      if (answer.status !== 200 || answer.body.result !== 'ok') {
        throw new CommandFailed(`the PIN was not changed: ${answer.body.result === 'locked-out' ? 'the mailbox is locked out' : describeRefusal(answer.body)}`);
      }
    },
  },
];
