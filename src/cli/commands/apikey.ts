/** API keys for the phone-side API (the PBX). */
import { createApiKey, listApiKeys, revokeApiKey } from '../../operations/api-keys.ts';
import { print, withServices, type Command } from '../command.ts';
import { formatTable } from '../io.ts';

export const APIKEY_COMMANDS: readonly Command[] = [
  {
    name: 'apikey add',
    usage: 'umpin apikey add <name>',
    summary: 'create an API key for the phone-side API and print it once',
    help: `Creates a key for a PBX to call the phone-side API (/tui/v1/…) with. The key is
printed once, alone on standard output, and cannot be shown again: only an HMAC
of it is stored. Store it in the PBX's configuration right away; if it is lost,
revoke it and add another.`,
    examples: ['umpin apikey add asterisk-1', 'umpin apikey add asterisk-1 > /etc/asterisk/umpin.key'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const name = positionals[0] as string;
      const key = await withServices((services) => createApiKey(services, name));
      print(key);
      console.error(`Created the API key "${name}". This is the only time it is shown: store it now; it cannot be shown again.`);
    },
  },
  {
    name: 'apikey list',
    usage: 'umpin apikey list [--json]',
    summary: 'list API keys (never the keys themselves)',
    help: 'Each key: name, id (the part after "umpin_" in the key), when it was created and when it was revoked, if it was.',
    examples: ['umpin apikey list', 'umpin apikey list --json'],
    options: { json: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const keys = (await withServices((services) => listApiKeys(services))).map((k) => ({
        name: k.name, id: k.id, createdAt: k.createdAt.toISOString(), revokedAt: k.revokedAt?.toISOString() ?? null,
      }));
      if (options.json === true) print(JSON.stringify(keys));
      else if (keys.length === 0) print('No API keys; create one with: umpin apikey add <name>');
      else print(formatTable([['NAME', 'ID', 'CREATED', 'REVOKED'], ...keys.map((k) => [k.name, k.id, k.createdAt, k.revokedAt ?? '-'])]));
    },
  },
  {
    name: 'apikey revoke',
    usage: 'umpin apikey revoke <name>',
    summary: 'revoke an API key',
    help: 'The phone-side API refuses the key from now on. The key stays listed, marked revoked.',
    examples: ['umpin apikey revoke asterisk-1'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run({ positionals }) {
      const name = positionals[0] as string;
      await withServices((services) => revokeApiKey(services, name));
      print(`Revoked the API key "${name}"; the phone-side API refuses it from now on.`);
    },
  },
];
