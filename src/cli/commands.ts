/**
 * The administrator's commands: one typed table, assembled from one file per
 * noun under commands/. Each command has its usage, help, examples and
 * action; actions get the parsed arguments and open services only when they
 * need them.
 */
import { APIKEY_COMMANDS } from './commands/apikey.ts';
import { ASTERISK_COMMANDS } from './commands/asterisk.ts';
import { AUDIT_COMMANDS } from './commands/audit.ts';
import { MAILBOX_COMMANDS } from './commands/mailbox.ts';
import { MIGRATE_COMMANDS } from './commands/migrate.ts';
import { OUTBOX_COMMANDS } from './commands/outbox.ts';
import { PIN_COMMANDS } from './commands/pin.ts';
import { POLICY_COMMANDS } from './commands/policy.ts';
import { SECRET_COMMANDS } from './commands/secret.ts';
import { SERVICE_COMMANDS } from './commands/serve.ts';
import { TRANSFER_COMMANDS } from './commands/transfer.ts';
import type { Command } from './command.ts';

export const COMMANDS: readonly Command[] = [
  ...SERVICE_COMMANDS,
  ...MAILBOX_COMMANDS,
  ...PIN_COMMANDS,
  ...POLICY_COMMANDS,
  ...OUTBOX_COMMANDS,
  ...AUDIT_COMMANDS,
  ...APIKEY_COMMANDS,
  ...MIGRATE_COMMANDS,
  ...TRANSFER_COMMANDS,
  ...SECRET_COMMANDS,
  ...ASTERISK_COMMANDS,
];

export { ConfigError } from '../config.ts';
export { CommandFailed, UsageError, type Command, type ParsedArgs } from './command.ts';
