/** Voice mail mailboxes: Enable-, Set-, Disable- and Get-UMMailbox (`umpin mailbox …`). */
import { randomBytes } from 'node:crypto';
import { ConfigError, InvalidArgument, MailboxAlreadyEnabled, MailboxNotFound } from '../../errors.ts';
import { DEFAULT_POLICY_NAME } from '../../pin/index.ts';
import type { MailboxSettings, MailboxState } from '../../store/index.ts';
import { auditAdminChange } from '../audit.ts';
import { RESET_EFFECTS, changePin, type PinChangeOutcome } from '../change-pin.ts';
import { ADMIN, type Services } from '../services.ts';
import { validateEmailAddress, validateLogin, withoutUndefined } from './arguments.ts';

export interface MailboxRequest {
  readonly email?: string;
  readonly notifyEmail?: string | null;
  readonly extension?: string;
  readonly language?: string;
  readonly policy?: string;
  readonly firstName?: string;
  readonly lastName?: string;
}

async function checkMailboxSettings(services: Services, login: string, settings: MailboxSettings): Promise<MailboxSettings> {
  validateEmailAddress('--email', settings.email);
  if (settings.notifyEmail !== null) validateEmailAddress('--notify-email', settings.notifyEmail);
  if (!/^[0-9]{1,20}$/.test(settings.extension)) throw new InvalidArgument(`--extension "${settings.extension}" must be 1 to 20 digits.`);
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(settings.language)) {
    throw new InvalidArgument(`--language "${settings.language}" is not a language tag such as en, de or pt-BR.`);
  }
  for (const [option, value] of [['--first-name', settings.firstName], ['--last-name', settings.lastName]] as const) {
    if (value.length > 64 || /\p{Cc}/u.test(value)) throw new InvalidArgument(`${option} may have at most 64 characters and no control characters.`);
  }
  if (!(await services.store.findPolicy(settings.policyName))) {
    throw new InvalidArgument(`There is no policy "${settings.policyName}"; list them with: umpin policy show`);
  }
  await checkExtensionFree(services, login, settings.extension);
  return settings;
}

/** Refuses an extension another mailbox holds, naming it. */
async function checkExtensionFree(services: Services, login: string, extension: string): Promise<void> {
  const owner = await services.store.findMailboxLoginByExtension(extension);
  if (owner !== undefined && owner !== login) throw new InvalidArgument(`The extension ${extension} belongs to the mailbox "${owner}".`);
}

/**
 * Enable-UMMailbox: the mailbox becomes UM-enabled and its first PIN is
 * mailed in a welcome message, by the same path as a reset. If the mail
 * fails the mailbox stays enabled without a PIN, and running enable again
 * sends a new welcome mail.
 */
export async function enableMailbox(services: Services, login: string, request: MailboxRequest): Promise<PinChangeOutcome> {
  validateLogin(login);
  const existing = await services.store.findMailbox(login);
  if (existing?.hasPin) throw new MailboxAlreadyEnabled(login);
  if (existing && Object.keys(withoutUndefined(request)).length > 0) {
    // Enabled before, but its welcome mail never went out: take the corrected settings.
    await setMailbox(services, login, request);
  } else if (!existing) {
    if (request.email === undefined) throw new InvalidArgument('--email is required to enable a mailbox.');
    if (request.extension === undefined) throw new InvalidArgument('--extension is required to enable a mailbox.');
    const settings = await checkMailboxSettings(services, login, {
      email: request.email,
      notifyEmail: request.notifyEmail ?? null,
      extension: request.extension,
      language: request.language ?? 'en',
      policyName: request.policy ?? DEFAULT_POLICY_NAME,
      firstName: request.firstName ?? '',
      lastName: request.lastName ?? '',
    });
    if (!(await services.store.createMailbox({ login, ...settings, pinSalt: randomBytes(16) }, services.now()))) {
      // Someone else won a race since the check above: the database's unique indexes decided which.
      await checkExtensionFree(services, login, settings.extension);
      throw new MailboxAlreadyEnabled(login);
    }
    await auditAdminChange(services, 'mailbox.enable', login);
  }
  return changePin(services, login, { reason: 'welcome', by: ADMIN, effects: RESET_EFFECTS });
}

/**
 * `--from-directory`: the request with the e-mail address and extension the
 * directory holds for the login (UMPIN_LDAP_MAIL_ATTRIBUTE,
 * UMPIN_LDAP_EXTENSION_ATTRIBUTE) where the request has none. A telephone
 * number written with spaces, dashes, dots, parentheses or a leading + becomes
 * its digits.
 */
export async function withDirectoryDefaults(services: Services, login: string, request: MailboxRequest): Promise<MailboxRequest> {
  const { directory } = services;
  if (directory === undefined) throw new ConfigError('UMPIN_LDAP_URL', '--from-directory needs a directory; set UMPIN_LDAP_URL and UMPIN_LDAP_BASE_DN.');
  const user = await directory.findUser(login);
  if (user === undefined) throw new InvalidArgument(`The directory has no single entry whose ${directory.loginAttribute} is "${login}"; check the login, or give --email and --extension instead of --from-directory.`);
  if (user.login !== login) throw new InvalidArgument(`The directory spells this login "${user.login}"; enable that login, which is the one sign-ins arrive as.`);
  const email = request.email ?? user.mail;
  if (email === undefined) throw new InvalidArgument(`The directory entry of ${login} has no ${directory.mailAttribute}; give --email.`);
  const extension = request.extension ?? user.extension?.replace(/^\+|[\s().-]/g, '');
  if (extension === undefined || extension === '') throw new InvalidArgument(`The directory entry of ${login} has no ${directory.extensionAttribute}; give --extension.`);
  return { ...request, email, extension };
}

/** Set-UMMailbox: changes only what is given. A new policy applies at the next PIN check. */
export async function setMailbox(services: Services, login: string, request: MailboxRequest): Promise<MailboxState> {
  const current = await showMailbox(services, login);
  const settings = await checkMailboxSettings(services, login, {
    email: request.email ?? current.email,
    notifyEmail: request.notifyEmail === undefined ? current.notifyEmail : request.notifyEmail,
    extension: request.extension ?? current.extension,
    language: request.language ?? current.language,
    policyName: request.policy ?? current.policy.name,
    firstName: request.firstName ?? current.firstName,
    lastName: request.lastName ?? current.lastName,
  });
  await services.store.updateMailbox(login, settings).catch(async (error: unknown) => {
    // The extension's unique index refused a mailbox that took it since the check above: say whose it is.
    await checkExtensionFree(services, login, settings.extension);
    throw error;
  });
  await auditAdminChange(services, 'mailbox.set', login, { changed: Object.keys(withoutUndefined(request)).join(' ') });
  return showMailbox(services, login);
}

/** Disable-UMMailbox: the mailbox, its PIN and its PIN history are removed; the audit trail stays. */
export async function disableMailbox(services: Services, login: string): Promise<void> {
  if (!(await services.store.deleteMailbox(login))) throw new MailboxNotFound(login);
  await auditAdminChange(services, 'mailbox.disable', login);
}

export async function showMailbox(services: Services, login: string): Promise<MailboxState> {
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) throw new MailboxNotFound(login);
  return mailbox;
}

export function listMailboxes(services: Services): Promise<MailboxState[]> {
  return services.store.listMailboxes();
}
