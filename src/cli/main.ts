/**
 * `umpin`: argv → one command of the table in commands.ts. Exit codes:
 * 0 done, 1 the operation failed (the message says why), 2 the command line
 * or the configuration is wrong.
 */
import { parseArgs } from 'node:util';
import { UmpinError } from '../errors.ts';
import { COMMANDS, ConfigError, UsageError, type Command } from './commands.ts';

const OVERVIEW = `umpin: a self-hosted Exchange Unified Messaging voice mail PIN service.

Usage: umpin <command> [options]     (from a checkout: npx umpin …)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join('\n')}

Run "umpin <command> --help" for a command's options and examples.
State lives in UMPIN_DATA_DIR (default ./var); see "umpin serve --help" for all settings.`;

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(OVERVIEW);
    return argv.length === 0 ? 2 : 0;
  }
  const command = findCommand(argv);
  if (!command) {
    console.error(`umpin: unknown command "${argv.slice(0, 2).join(' ')}".\n\n${OVERVIEW}`);
    return 2;
  }
  const rest = argv.slice(command.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`Usage: ${command.usage}\n\n${command.help}`);
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

function findCommand(argv: readonly string[]): Command | undefined {
  const two = argv.slice(0, 2).join(' ');
  return COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === argv[0]);
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
  if (error instanceof UmpinError) {
    console.error(`umpin ${command.name}: ${error.message}`);
    return 1;
  }
  console.error(`umpin ${command.name}: unexpected failure:`, error);
  return 1;
}

// Everything umpin writes (database, secret, mails with PINs) is for its own user only.
process.umask(0o077);
process.exitCode = await main(process.argv.slice(2));
