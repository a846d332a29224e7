/**
 * The administrator's operations behind the CLI (Exchange parity grows
 * here with issue 4). Each validates its arguments into InvalidArgument
 * errors that name the argument and what it accepts.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgument, MailboxAlreadyEnabled, MailboxNotFound } from '../errors.ts';
import type { PinPolicy } from '../pin/index.ts';
import { DEFAULT_POLICY_NAME } from '../pin/index.ts';
import type { MailboxState } from '../store/index.ts';
import { changePinByMail, type PinChangeOutcome } from './change-pin-by-mail.ts';
import type { Actor, Services } from './services.ts';

export const ADMIN: Actor = Object.freeze({ actor: 'admin', source: 'cli' });

const LOGIN_PATTERN = /^[^\s:\p{Cc}]{1,256}$/u;

export function validateLogin(login: string): string {
  if (!LOGIN_PATTERN.test(login)) {
    throw new InvalidArgument('A login is 1 to 256 characters without spaces, colons or control characters.');
  }
  return login;
}

export async function addUser(services: Services, login: string, password: string): Promise<void> {
  validateLogin(login);
  if (password.length === 0) throw new InvalidArgument('The password is empty; pipe it on standard input with --password-stdin.');
  const verifier = await services.kdf.hashPassword(password);
  if (!(await services.store.addUser(login, verifier, services.now()))) {
    throw new InvalidArgument(`The user "${login}" exists already.`);
  }
  await services.store.appendAudit({ at: services.now(), event: 'user.add', outcome: 'success', login, ...ADMIN });
}

export interface EnableMailboxRequest {
  readonly login: string;
  readonly email: string;
  readonly extension: string;
  readonly language?: string;
  readonly policy?: string;
}

/**
 * Enable-UMMailbox: the mailbox becomes UM-enabled and its first PIN is
 * mailed in a welcome message, by the same path as a reset. If the mail
 * fails the mailbox stays enabled without a PIN, and running enable again
 * sends a new welcome mail.
 */
export async function enableMailbox(services: Services, request: EnableMailboxRequest): Promise<PinChangeOutcome> {
  validateLogin(request.login);
  if (!/^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(request.email)) {
    throw new InvalidArgument(`--email "${request.email}" is not an e-mail address such as user@example.com.`);
  }
  if (!/^[0-9]{1,20}$/.test(request.extension)) {
    throw new InvalidArgument(`--extension "${request.extension}" must be 1 to 20 digits.`);
  }
  const language = request.language ?? 'en';
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(language)) {
    throw new InvalidArgument(`--language "${language}" is not a language tag such as en, de or pt-BR.`);
  }
  const policyName = request.policy ?? DEFAULT_POLICY_NAME;
  if (!(await services.store.findPolicy(policyName))) {
    throw new InvalidArgument(`There is no policy "${policyName}"; list them with: umpin policy show`);
  }
  const created = await services.store.createMailbox(
    { login: request.login, email: request.email, extension: request.extension, language, policyName, pinSalt: randomBytes(16) },
    services.now(),
  );
  const mailbox = await showMailbox(services, request.login);
  if (!created && mailbox.hasPin) throw new MailboxAlreadyEnabled(request.login);
  if (created) await services.store.appendAudit({ at: services.now(), event: 'mailbox.enable', outcome: 'success', login: request.login, ...ADMIN });
  return changePinByMail(services, mailbox, 'welcome', ADMIN);
}

export async function showMailbox(services: Services, login: string): Promise<MailboxState> {
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) throw new MailboxNotFound(login);
  return mailbox;
}

export async function showPolicies(services: Services, name?: string): Promise<PinPolicy[]> {
  if (name === undefined) return services.store.listPolicies();
  const policy = await services.store.findPolicy(name);
  if (!policy) throw new InvalidArgument(`There is no policy "${name}"; list them with: umpin policy show`);
  return [policy];
}
