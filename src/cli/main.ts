/**
 * `umpin`: argv → one command of the table in commands.ts. Exit codes:
 * 0 done, 1 the operation failed (the message says why), 2 the command line
 * or the configuration is wrong.
 */
import { parseArgs } from 'node:util';
import { PinPolicyViolated, UmpinError } from '../errors.ts';
import { CommandFailed, ConfigError, UsageError, loadAllCommands, loadCommandsFor, type Command } from './commands.ts';

/** One line per command, names padded to the longest of the list. */
function listCommands(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n');
}

async function overview(): Promise<string> {
  return `umpin: a self-hosted Exchange Unified Messaging voice mail PIN service.

Usage: umpin <command> [options]     (from a checkout: npx umpin …)

Commands:
${listCommands(await loadAllCommands())}

Run "umpin <command> --help" for a command's options and examples.
State lives in UMPIN_DATA_DIR (default ./var); see "umpin serve --help" for all settings.`;
}

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || isHelp(argv[0]) || argv[0] === 'help') {
    console.log(await overview());
    return argv.length === 0 ? 2 : 0;
  }
  const commands = await loadCommandsFor(argv[0] as string);
  const command = findCommand(commands, argv);
  if (!command) return unknownCommand(commands, argv);
  const rest = argv.slice(command.name.split(' ').length);
  if (rest.some(isHelp)) {
    console.log(describeCommand(command));
    return 0;
  }
  try {
    const { positionals, values } = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
    if (positionals.length < command.positionals.min || positionals.length > command.positionals.max) {
      throw new UsageError(`expected ${describeCount(command)}, got ${positionals.length}.`);
    }
    await command.run({ positionals, options: values });
    return 0;
  } catch (error) {
    return report(error, command);
  }
}

function findCommand(commands: readonly Command[], argv: readonly string[]): Command | undefined {
  const two = argv.slice(0, 2).join(' ');
  return commands.find((c) => c.name === two) ?? commands.find((c) => c.name === argv[0]);
}

/** `umpin policy` (or `umpin policy --help`) lists that noun's commands; anything else is unknown. */
async function unknownCommand(commands: readonly Command[], argv: readonly string[]): Promise<number> {
  const noun = argv[0] as string;
  const family = commands.filter((c) => c.name.startsWith(`${noun} `));
  if (family.length > 0 && (argv.length === 1 || isHelp(argv[1]))) {
    const list = `Commands for ${noun}:\n${listCommands(family)}\n\nRun "umpin ${noun} <command> --help" for its options and examples.`;
    if (argv.length > 1) {
      console.log(list);
      return 0;
    }
    console.error(`umpin ${noun}: choose a command.\n\n${list}`);
    return 2;
  }
  const named = family.length > 0 ? argv.slice(0, 2).join(' ') : noun;
  console.error(`umpin: unknown command "${named}".\n\n${await overview()}`);
  return 2;
}

function describeCommand(command: Command): string {
  const examples = command.examples.length === 0 ? '' : `\n\nExample${command.examples.length === 1 ? '' : 's'}:\n${command.examples.map((e) => `  ${e}`).join('\n')}`;
  return `Usage: ${command.usage}\n\n${command.help}${examples}`;
}

function describeCount(command: Command): string {
  const { min, max } = command.positionals;
  return min === max ? `${min} argument${min === 1 ? '' : 's'}` : `${min} to ${max} arguments`;
}

function report(error: unknown, command: Command): number {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`umpin ${command.name}: ${(error as Error).message}\nUsage: ${command.usage}`);
    return 2;
  }
  if (error instanceof ConfigError) {
    console.error(`umpin: configuration: ${error.message}`);
    return 2;
  }
  if (error instanceof PinPolicyViolated) {
    // Every broken rule on its own line, with the id the README's table explains.
    const width = Math.max(...error.failures.map((f) => f.id.length));
    console.error(`umpin ${command.name}: The PIN does not meet the PIN policy, so nothing was changed:\n${error.failures.map((f) => `  ${f.id.padEnd(width)}  ${f.message}`).join('\n')}`);
    return 1;
  }
  if (error instanceof UmpinError || error instanceof CommandFailed) {
    console.error(`umpin ${command.name}: ${error.message}`);
    return 1;
  }
  console.error(`umpin ${command.name}: unexpected failure:`, error);
  return 1;
}

// Everything umpin writes (database, secret, mails with PINs) is for its own user only.
process.umask(0o077);
process.exitCode = await main(process.argv.slice(2));
