/** A mailbox's PIN as the administrator handles it: Set-UMMailboxPIN, Get-UMMailboxPin's last mail, locking (`umpin pin …`). */
import { InvalidArgument, MailboxNotFound } from '../../errors.ts';
import { auditAdminChange } from '../audit.ts';
import { changePin, type PinChangeOutcome } from '../change-pin.ts';
import { ADMIN, type Services } from '../services.ts';
import { validateEmailAddress } from './arguments.ts';
import { showMailbox } from './mailboxes.ts';

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
  if (options.notifyEmail !== undefined) validateEmailAddress('--notify-email', options.notifyEmail);
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
  await auditAdminChange(services, 'pin.unlock', login);
}

export async function lockMailbox(services: Services, login: string): Promise<void> {
  if (!(await services.store.setLockedOut(login, true))) throw new MailboxNotFound(login);
  await auditAdminChange(services, 'pin.lock', login);
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
