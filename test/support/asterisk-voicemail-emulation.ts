/**
 * An EMULATION of how Asterisk's app_voicemail.c (asterisk/asterisk @f0c1c1a)
 * runs its PIN-change hooks, for tests: no Asterisk package exists for this
 * machine.
 *
 * - externpasscheck (check_password → vm_check_password_shell): the command
 *   `snprintf(cmd, 255, "%s %s %s %s %s", ext_pass_check_cmd, mailbox,
 *   context, oldpw, newpw)`, split on ' ' by AST_NONSTANDARD_APP_ARGS
 *   (__ast_app_separate_args: empty fields kept, quotes and backslashes
 *   removed, at most 19 words), fork + execv(argv[0], argv) — no shell, no
 *   PATH — and ONE read() of at most 255 bytes of the child's standard output.
 *   A prefix VALID accepts, FAILURE accepts too, anything else refuses.
 * - externpass (vm_change_password_shell): `snprintf(buf, 255, "%s %s %s %s",
 *   ext_pass_cmd, context, mailbox, newpw)` run by ast_safe_system, that is
 *   `/bin/sh -c buf`; exit status 0 means changed.
 */
import { spawn } from 'node:child_process';

/** __ast_app_separate_args with delim ' ' and remove_chars = 1, as AST_NONSTANDARD_APP_ARGS calls it (v[20]). */
export function separateAppArgs(input: string, arraylen = 20): string[] {
  const args: string[] = [];
  let current = '';
  let paren = 0;
  let bracket = 0;
  let quote = false;
  let i = 0;
  let endedOnDelimiter = false;
  while (i < input.length && args.length < arraylen - 1) {
    current = '';
    endedOnDelimiter = false;
    for (; i < input.length; i += 1) {
      const c = input[i] as string;
      if (c === '(') paren += 1;
      else if (c === ')') { if (paren) paren -= 1; }
      else if (c === '[') bracket += 1;
      else if (c === ']') { if (bracket) bracket -= 1; }
      else if (c === '"') { quote = !quote; continue; }
      else if (c === '\\') { i += 1; current += input[i] ?? ''; continue; }
      else if (c === ' ' && !paren && !quote && !bracket) { i += 1; endedOnDelimiter = true; break; }
      current += c;
    }
    args.push(current);
  }
  if (i < input.length) args.push(input.slice(i));
  else if (endedOnDelimiter) args.push('');
  return args;
}

export interface PassCheckVerdict {
  /** What Asterisk's one read() got. */
  readonly output: string;
  /** check_password's decision: true = the new PIN is accepted. */
  readonly accepted: boolean;
}

/** check_password's external step for mailbox@context holding `password`, the caller having typed `newPassword`. */
export function runExternPassCheck(command: string, vmu: { mailbox: string; context: string; password: string }, newPassword: string, env: NodeJS.ProcessEnv): Promise<PassCheckVerdict> {
  const line = `${command} ${vmu.mailbox} ${vmu.context} ${vmu.password} ${newPassword}`.slice(0, 254);
  const argv = separateAppArgs(line);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { argv0: argv[0], env, stdio: ['ignore', 'pipe', 'ignore'] });
    let output: string | undefined;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the check helper did not answer in 30 s')); }, 30_000);
    const decide = (text: string) => {
      if (output !== undefined) return;
      output = text.slice(0, 255);
      clearTimeout(timer);
      const accepted = /^valid/i.test(output) || /^failure/i.test(output);
      resolve({ output, accepted });
    };
    child.stdout.once('data', (chunk: Buffer) => decide(chunk.toString('latin1'))); // one read()
    child.once('error', (error) => decide(`FAILURE: ${error.message}`)); // execv failed: the child printf()s FAILURE
    child.once('close', () => decide(''));
  });
}

/** vm_change_password_shell: true when the command exited 0 (the in-memory PIN would then change). */
export function runExternPass(command: string, vmu: { context: string; mailbox: string }, newPassword: string, env: NodeJS.ProcessEnv): Promise<{ changed: boolean; stderr: string }> {
  const line = `${command} ${vmu.context} ${vmu.mailbox} ${newPassword}`.slice(0, 254);
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', line], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    child.once('close', (code) => resolve({ changed: code === 0, stderr }));
  });
}
