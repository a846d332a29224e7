/** `umpin serve` and `umpin user add`: the service itself and who may sign in to it. */
import { describeSettings, loadConfig } from '../../config.ts';
import { addUser, setUserPassword } from '../../operations/admin/users.ts';
import { UsageError, print, withServices, type Command } from '../command.ts';
import { readStdin } from '../io.ts';

export const SERVICE_COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    usage: 'umpin serve',
    summary: 'run the web service (what `npm start` runs)',
    help: `Serves ResetPIN at /EWS/UM2007Legacy.asmx and /UnifiedMessaging/Service.asmx.
Settings come from the environment (docs/configuration.md); an UMPIN_* variable
that is none of these stops the start, naming the setting it is nearest to:
${describeSettings()}`,
    examples: ['UMPIN_LISTEN=0.0.0.0:8080 UMPIN_DATA_DIR=/var/lib/umpin umpin serve'],
    options: {},
    positionals: { min: 0, max: 0 },
    async run() {
      const config = loadConfig();
      const { serve } = await import('../../main.ts');
      await serve(config);
    },
  },
  {
    name: 'user add',
    usage: 'umpin user add <login> --password-stdin',
    summary: 'add a user who may sign in to the web service',
    help: `Reads the password from standard input (one trailing newline is dropped) and
stores only its argon2id verifier. Passwords are never taken as arguments:
they would show in ps and in the shell's history.`,
    examples: [`printf '%s' "$PASSWORD" | umpin user add alice --password-stdin`],
    options: { 'password-stdin': { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const password = await readPasswordFromStdin(options['password-stdin']);
      const login = positionals[0] as string;
      await withServices((services) => addUser(services, login, password));
      print(`Added user ${login}.`);
    },
  },
  {
    name: 'user password',
    usage: 'umpin user password <login> --password-stdin',
    summary: "set a local user's new password",
    help: `Reads the new password from standard input (one trailing newline is dropped),
as "user add" does. The user's self-service sessions end at their next request.`,
    examples: [`printf '%s' "$NEW_PASSWORD" | umpin user password alice --password-stdin`],
    options: { 'password-stdin': { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const password = await readPasswordFromStdin(options['password-stdin']);
      const login = positionals[0] as string;
      await withServices((services) => setUserPassword(services, login, password));
      print(`Changed the password of ${login}.`);
    },
  },
];

/** The password piped in with --password-stdin; never one given as an argument (ps and shell history would show it). */
async function readPasswordFromStdin(passwordStdin: unknown): Promise<string> {
  if (passwordStdin !== true) {
    throw new UsageError('Pass --password-stdin and pipe the password in; passwords are never taken as arguments (they would show in ps and shell history).');
  }
  return readStdin();
}
