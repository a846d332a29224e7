/**
 * The administrator's commands: one typed table, assembled from one file per
 * noun under commands/. Each command has its usage, help, examples and
 * action; actions get the parsed arguments and open services only when they
 * need them.
 *
 * A command line loads only the file of its first word: a CLI command's
 * time is mostly module loading, and `umpin pin show` has no use for the
 * modules behind `umpin import` or `umpin serve`. The overview and an
 * unknown word load them all. Each file lists the first words of its
 * commands here (src/cli/commands.test.ts checks the lists against the files).
 */
import type { Command } from './command.ts';

interface CommandFile {
  /** The first words of the file's command names. */
  readonly words: readonly string[];
  readonly load: () => Promise<readonly Command[]>;
}

export const COMMAND_FILES: readonly CommandFile[] = [
  { words: ['serve', 'user'], load: async () => (await import('./commands/serve.ts')).SERVICE_COMMANDS },
  { words: ['mailbox'], load: async () => (await import('./commands/mailbox.ts')).MAILBOX_COMMANDS },
  { words: ['pin'], load: async () => (await import('./commands/pin.ts')).PIN_COMMANDS },
  { words: ['policy'], load: async () => (await import('./commands/policy.ts')).POLICY_COMMANDS },
  { words: ['outbox'], load: async () => (await import('./commands/outbox.ts')).OUTBOX_COMMANDS },
  { words: ['audit'], load: async () => (await import('./commands/audit.ts')).AUDIT_COMMANDS },
  { words: ['apikey'], load: async () => (await import('./commands/apikey.ts')).APIKEY_COMMANDS },
  { words: ['migrate'], load: async () => (await import('./commands/migrate.ts')).MIGRATE_COMMANDS },
  { words: ['export', 'import'], load: async () => (await import('./commands/transfer.ts')).TRANSFER_COMMANDS },
  { words: ['secret'], load: async () => (await import('./commands/secret.ts')).SECRET_COMMANDS },
  { words: ['asterisk-passcheck', 'asterisk-setpin'], load: async () => (await import('./commands/asterisk.ts')).ASTERISK_COMMANDS },
];

/** Every command, in the overview's order. */
export async function loadAllCommands(): Promise<readonly Command[]> {
  return (await Promise.all(COMMAND_FILES.map((file) => file.load()))).flat();
}

/** The commands whose name starts with `word`, loading only their file; every command when no file claims the word. */
export async function loadCommandsFor(word: string): Promise<readonly Command[]> {
  const files = COMMAND_FILES.filter((file) => file.words.includes(word));
  if (files.length === 0) return loadAllCommands();
  return (await Promise.all(files.map((file) => file.load()))).flat();
}

export { ConfigError } from '../config.ts';
export { CommandFailed, UsageError, type Command, type ParsedArgs } from './command.ts';
