/**
 * The administrator's operations behind the CLI, with Exchange's cmdlets as
 * the model. Each validates its arguments into InvalidArgument errors that
 * name the argument and what it accepts, and audits what it changed.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgument, MailboxAlreadyEnabled, MailboxNotFound } from '../errors.ts';
import { DEFAULT_POLICY, DEFAULT_POLICY_NAME, validatePolicy, type PinPolicy } from '../pin/index.ts';
import type { MailboxSettings, MailboxState, StoredAuditEvent } from '../store/index.ts';
import { RESET_EFFECTS, changePin, type PinChangeOutcome } from './change-pin.ts';
import type { Actor, Services } from './services.ts';
import { MAX_LOGIN_LENGTH } from './sign-in.ts';

export const ADMIN: Actor = Object.freeze({ actor: 'admin', source: 'cli' });

const LOGIN_PATTERN = new RegExp(`^[^\\s:\\p{Cc}]{1,${MAX_LOGIN_LENGTH}}$`, 'u');
const EMAIL_PATTERN = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

export function validateLogin(login: string): string {
  if (!LOGIN_PATTERN.test(login)) {
    throw new InvalidArgument('A login is 1 to 256 characters without spaces, colons or control characters.');
  }
  return login;
}

function audit(services: Services, event: string, login: string | null, detail?: Record<string, string | number | boolean>) {
  return services.store.appendAudit({ at: services.now(), event, outcome: 'success', login, ...ADMIN, ...(detail ? { detail } : {}) });
}

// ---- users -----------------------------------------------------------------

export async function addUser(services: Services, login: string, password: string): Promise<void> {
  validateLogin(login);
  if (password.length === 0) throw new InvalidArgument('The password is empty; pipe it on standard input with --password-stdin.');
  const verifier = await services.kdf.hashPassword(password);
  if (!(await services.store.addUser(login, verifier, services.now(), services.kdf.currentKeyId))) {
    throw new InvalidArgument(`The user "${login}" exists already.`);
  }
  await audit(services, 'user.add', login);
}

/**
 * A new password for a local user. The verifier is replaced only if it is still the one read (a
 * sign-in's re-hash in between makes this fail loudly rather than be lost); every self-service
 * session of the user ends at its next request, since its stamp names the old verifier.
 */
export async function setUserPassword(services: Services, login: string, password: string): Promise<void> {
  validateLogin(login);
  if (password.length === 0) throw new InvalidArgument('The password is empty; pipe it on standard input with --password-stdin.');
  const current = await services.store.findPassword(login);
  if (current === undefined) throw new InvalidArgument(`There is no local user "${login}"; add one with: umpin user add ${login} --password-stdin`);
  const verifier = await services.kdf.hashPassword(password);
  if (!(await services.store.replacePasswordVerifier(login, current.verifier, { verifier, keyId: services.kdf.currentKeyId }, services.now()))) {
    throw new InvalidArgument(`The password of "${login}" changed while this command ran; run it again.`);
  }
  await audit(services, 'user.password', login);
}

// ---- policies (New-/Set-/Get-/Remove-UMMailboxPolicy) -----------------------

export type PolicyChanges = Partial<Omit<PinPolicy, 'name'>>;

/** Only the keys actually given: an explicit `undefined` must not erase a setting. */
function given<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function checkPolicy(policy: PinPolicy): PinPolicy {
  const problems = validatePolicy(policy);
  if (problems.length > 0) throw new InvalidArgument(problems.map((p) => p.message).join(' '));
  return policy;
}

/** New-UMMailboxPolicy: Exchange's defaults, with the given changes. */
export async function newPolicy(services: Services, name: string, changes: PolicyChanges): Promise<PinPolicy> {
  const policy = checkPolicy({ ...DEFAULT_POLICY, ...given(changes), name });
  if (!(await services.store.createPolicy(policy))) throw new InvalidArgument(`A policy named "${name}" exists already.`);
  await audit(services, 'policy.new', null, { policy: name });
  return policy;
}

/** Set-UMMailboxPolicy: applies to the policy's mailboxes at their next PIN check. */
export async function setPolicy(services: Services, name: string, changes: PolicyChanges): Promise<PinPolicy> {
  const [current] = await showPolicies(services, name);
  const policy = checkPolicy({ ...(current as PinPolicy), ...given(changes), name });
  await services.store.updatePolicy(policy);
  await audit(services, 'policy.set', null, { policy: name, changed: Object.keys(given(changes)).join(' ') });
  return policy;
}

export async function removePolicy(services: Services, name: string): Promise<void> {
  if (name === DEFAULT_POLICY_NAME) throw new InvalidArgument(`The "${DEFAULT_POLICY_NAME}" policy cannot be removed; new mailboxes use it.`);
  const result = await services.store.deletePolicy(name);
  if (result === 'missing') throw new InvalidArgument(`There is no policy "${name}"; list them with: umpin policy show`);
  if (result === 'in-use') throw new InvalidArgument(`The policy "${name}" is in use; move its mailboxes with: umpin mailbox set <login> --policy <other>`);
  await audit(services, 'policy.remove', null, { policy: name });
}

export async function showPolicies(services: Services, name?: string): Promise<PinPolicy[]> {
  if (name === undefined) return services.store.listPolicies();
  const policy = await services.store.findPolicy(name);
  if (!policy) throw new InvalidArgument(`There is no policy "${name}"; list them with: umpin policy show`);
  return [policy];
}

// ---- mailboxes (Enable-/Disable-/Set-/Get-UMMailbox) -------------------------

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
  if (!EMAIL_PATTERN.test(settings.email)) throw new InvalidArgument(`--email "${settings.email}" is not an e-mail address such as user@example.com.`);
  if (settings.notifyEmail !== null && !EMAIL_PATTERN.test(settings.notifyEmail)) {
    throw new InvalidArgument(`--notify-email "${settings.notifyEmail}" is not an e-mail address such as user@example.com.`);
  }
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
  if (existing && Object.keys(given(request)).length > 0) {
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
    await audit(services, 'mailbox.enable', login);
  }
  return changePin(services, login, { reason: 'welcome', by: ADMIN, effects: RESET_EFFECTS });
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
  await audit(services, 'mailbox.set', login, { changed: Object.keys(given(request)).join(' ') });
  return showMailbox(services, login);
}

/** Disable-UMMailbox: the mailbox, its PIN and its PIN history are removed; the audit trail stays. */
export async function disableMailbox(services: Services, login: string): Promise<void> {
  if (!(await services.store.deleteMailbox(login))) throw new MailboxNotFound(login);
  await audit(services, 'mailbox.disable', login);
}

export async function showMailbox(services: Services, login: string): Promise<MailboxState> {
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) throw new MailboxNotFound(login);
  return mailbox;
}

export function listMailboxes(services: Services): Promise<MailboxState[]> {
  return services.store.listMailboxes();
}

// ---- PINs (Set-UMMailboxPIN, Get-UMMailboxPin) ------------------------------

export interface AdminPinReset {
  /** A PIN the administrator chose; checked against the policy. Generated when absent. */
  readonly pin?: string;
  /** Default: true (the user must choose their own PIN at the next logon). */
  readonly expired?: boolean;
  /** Default: false — a reset unlocks the mailbox, as Set-UMMailboxPIN's -LockedOut $false default does. */
  readonly lockedOut?: boolean;
  /** Send the PIN here instead of the mailbox's notify address or e-mail. */
  readonly notifyEmail?: string;
  /** Default: true. A generated PIN must be mailed. */
  readonly sendEmail?: boolean;
}

export async function resetPinByAdmin(services: Services, login: string, options: AdminPinReset): Promise<PinChangeOutcome> {
  await showMailbox(services, login);
  const sendEmail = options.sendEmail ?? true;
  if (!sendEmail && options.pin === undefined) {
    throw new InvalidArgument('--no-email needs a chosen PIN (--pin-stdin, --pin-file, or the pin column of a CSV line): a generated PIN that is not mailed would be known to nobody.');
  }
  if (options.notifyEmail !== undefined && !EMAIL_PATTERN.test(options.notifyEmail)) {
    throw new InvalidArgument(`--notify-email "${options.notifyEmail}" is not an e-mail address such as user@example.com.`);
  }
  const lockedOut = options.lockedOut ?? false;
  return changePin(services, login, {
    reason: 'admin-reset',
    by: ADMIN,
    ...(options.pin === undefined ? {} : { chosenPin: options.pin }),
    ...(sendEmail ? (options.notifyEmail === undefined ? {} : { mailTo: options.notifyEmail }) : { mailTo: null }),
    effects: { pinExpired: options.expired ?? true, lockedOut: lockedOut ? 'lock' : 'unlock', clearFailedLogons: !lockedOut, clearFirstTimeUser: false },
  });
}

/** Unlocks the mailbox and clears its failed-logon counter; the PIN stays. */
export async function unlockMailbox(services: Services, login: string): Promise<void> {
  if (!(await services.store.setLockedOut(login, false))) throw new MailboxNotFound(login);
  await audit(services, 'pin.unlock', login);
}

export async function lockMailbox(services: Services, login: string): Promise<void> {
  if (!(await services.store.setLockedOut(login, true))) throw new MailboxNotFound(login);
  await audit(services, 'pin.lock', login);
}

// ---- audit -------------------------------------------------------------------

export function listAudit(services: Services, filter: { login?: string; since?: Date; limit?: number }): Promise<StoredAuditEvent[]> {
  return services.store.listAudit(filter);
}

export interface LastMail {
  readonly status: 'handed-off' | 'failed' | 'queued' | 'retrying';
  readonly at: string;
  readonly reply: string;
}

/** The mailbox's most recent PIN mail: one waiting in the outbox, else the last the audit trail records (one indexed row). */
export async function findLastMail(services: Services, login: string): Promise<LastMail | undefined> {
  const queued = (await services.store.listQueuedMail(services.now())).find((mail) => mail.login === login);
  if (queued) {
    return { status: queued.lastReply === null ? 'queued' : 'retrying', at: queued.createdAt.toISOString(), reply: queued.lastReply ?? '' };
  }
  const event = await services.store.findLastMailEvent(login);
  if (event === undefined) return undefined;
  return event.outcome === 'mail-failed'
    ? { status: 'failed', at: event.at.toISOString(), reply: String(event.detail?.reply ?? '') }
    : { status: 'handed-off', at: event.at.toISOString(), reply: String(event.detail?.handOff ?? '') };
}
