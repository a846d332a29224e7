/** The server secret's keyring: rotate it, see what each key protects, retire a key nothing uses (docs/secret-rotation.md). */
import { loadConfig } from '../../config.ts';
import { isKeyId } from '../../crypto/secret-key.ts';
import { describeSecret, describeUses, retireSecretKey, rotateSecret } from '../../operations/rotate-secret.ts';
import { print, UsageError, withServices, type Command } from '../command.ts';
import { formatTable } from '../io.ts';

export const SECRET_COMMANDS: readonly Command[] = [
  {
    name: 'secret rotate',
    usage: 'umpin secret rotate',
    summary: 'put a new server key in front of the secret file and move the database to it',
    help: `Makes a new random key and rewrites UMPIN_SECRET_FILE with it as the first
line, followed by the keys it held (the file is replaced whole; its mode is
kept). Every new password, PIN and API key verifier, and every PIN mail, is
then made under the new key; verifiers made before keep working under their
old key, and move to the new one when they are used. Queued PIN mails are
re-sealed under the new key at once. The database is then bound to the new key.

Afterwards, copy the new file to every instance that shares this database and
restart them. An instance started with the old file is refused; one still
running keeps working until it is restarted. "umpin secret retire" removes an
old key once nothing uses it.`,
    examples: ['umpin secret rotate', 'umpin secret rotate && umpin secret status'],
    options: {},
    positionals: { min: 0, max: 0 },
    async run() {
      const config = loadConfig();
      const result = await withServices((services) => rotateSecret(services, config.secretFile));
      print(`Rotated the server secret: key ${result.to} is now current, ${result.from} and any older keys are kept to verify what was made under them.`);
      print(`Wrote ${config.secretFile} (${result.keyIds.length} keys: ${result.keyIds.join(', ')}); re-sealed ${result.resealed} queued PIN mail${result.resealed === 1 ? '' : 's'}; the database is bound to ${result.to}.`);
      print('Next: copy this file to every instance that shares the database (keep its mode 0600) and restart them; an instance started with the old file is refused.');
      print('"umpin secret status" shows what each key still protects; "umpin secret retire <key-id>" removes an old key once nothing uses it.');
    },
  },
  {
    name: 'secret status',
    usage: 'umpin secret status [--json]',
    summary: 'the keys of the server secret and what each still protects',
    help: `Lists the keys of UMPIN_SECRET_FILE, the current one first, and for each how
many password, active PIN, remembered PIN, pending PIN change and active API
key verifiers were made under it, and how many queued PIN mails it seals. A key
marked "missing" is used by verifiers but is not in the file (it was retired
with --force): those cannot verify. Never shows a key.`,
    examples: ['umpin secret status', 'umpin secret status --json'],
    options: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const status = await withServices((services) => describeSecret(services));
      if (options.json === true) {
        print(JSON.stringify(status));
        return;
      }
      print(formatTable([
        ['KEY ID', 'ROLE', 'PASSWORDS', 'PINS', 'HISTORY', 'PENDING', 'API KEYS', 'QUEUED MAIL'],
        ...status.keys.map((k) => [k.keyId, k.role, k.passwords, k.pins, k.history, k.pending, k.apiKeys, k.sealedMail].map(String)),
      ]));
      print(`The database is bound to ${status.boundKeyId ?? 'no key yet'}.`);
    },
  },
  {
    name: 'secret retire',
    usage: 'umpin secret retire <key-id> [--force]',
    summary: 'remove a previous key from the secret file once nothing uses it',
    help: `Removes a previous key from UMPIN_SECRET_FILE. Refused while any verifier or
queued PIN mail still needs it, naming what does ("umpin secret status" shows
the same). --force removes it anyway: the passwords, PINs and API keys made
under it stop working (their users need a PIN reset, a new API key, or a new
password), and remembered PINs under it are no longer compared. Queued mail
sealed only by it always blocks. Copy the new file to every instance afterwards.`,
    examples: ['umpin secret retire 3f9c2a7d1b0e4c58', 'umpin secret retire 3f9c2a7d1b0e4c58 --force'],
    options: { force: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run({ positionals, options }) {
      const keyId = positionals[0] as string;
      if (!isKeyId(keyId)) throw new UsageError(`"${keyId}" is not a key id (16 hexadecimal digits, as "umpin secret status" shows them).`);
      const config = loadConfig();
      const { keyIds, usage } = await withServices((services) => retireSecretKey(services, config.secretFile, keyId, options.force === true));
      const forced = describeUses(usage);
      print(`Retired key ${keyId}${forced === '' ? '' : ` by force: ${forced} made under it no longer verify`}. ${config.secretFile} now holds ${keyIds.join(', ')}.`);
      print('Next: copy this file to every instance that shares the database and restart them.');
    },
  },
];
