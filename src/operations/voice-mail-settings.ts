/**
 * [MS-OXWUMS] IsUMEnabled, GetUMProperties and the four setters: the
 * caller's own mailbox settings, behind the same sign-in, limits and audit as
 * ResetPIN (sign-in.ts). The administrator changes the same settings through
 * `umpin mailbox set`, checked by the same rules.
 *
 * Choices where the published sources are silent (docs/operations.md):
 * - a caller without a voice mail mailbox gets `false` from IsUMEnabled (its
 *   documented purpose) and ErrorUserNotUnifiedMessagingEnabled from every
 *   other operation, as from ResetPIN: no fake settings;
 * - TelephoneAccessNumbers is UMPIN_VOICE_ACCESS_NUMBER, the number the PIN
 *   mails name; umpin has one, so no list separator is ever sent;
 * - reads are not audited (a client reads on every opening of its options
 *   page); every change is, and so is every refused one.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { InvalidArgument, InvalidRequestValue, MailboxNotEnabled, MailboxNotFound } from '../errors.ts';
import type { AuditEvent, MailboxState, VoiceMailSettings } from '../store/index.ts';
import type { Actor, Services } from './services.ts';
import { admitRequest, signIn } from './sign-in.ts';

export const MAX_DIAL_STRING_LENGTH = 64;
export const MAX_FOLDER_ID_LENGTH = 512;

/**
 * A number to dial: digits with an optional leading +, the RFC 3966 visual
 * separators (- . ( )) and spaces between them, and * or # as a PBX may need.
 * Undefined when acceptable, else what is wrong (a phrase).
 */
export function describeDialStringProblem(value: string): string | undefined {
  if (value === '') return 'is empty; give the number to call, such as +1 555 0100';
  if (value.length > MAX_DIAL_STRING_LENGTH) return `is longer than ${MAX_DIAL_STRING_LENGTH} characters`;
  if (!/^\+?[0-9*#](?:[0-9*# ().-]*[0-9*#)])?$/.test(value)) {
    return 'is not a telephone number: use digits, an optional leading +, and spaces, dashes, dots or parentheses between them';
  }
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A folder's MAPI EntryID in base64 (REF base64folderid-um-web-service); umpin keeps it as given. */
export function describeFolderIdProblem(value: string): string | undefined {
  if (value === '') return 'is empty; give the base64 identifier of a folder';
  if (value.length > MAX_FOLDER_ID_LENGTH) return `is longer than ${MAX_FOLDER_ID_LENGTH} characters`;
  if (!BASE64.test(value)) return 'is not base64 text (A–Z, a–z, 0–9, + and /, padded with =)';
  return undefined;
}

/** What GetUMProperties answers. */
export interface UmProperties {
  readonly oofStatus: boolean;
  readonly missedCallNotificationEnabled: boolean;
  readonly playOnPhoneDialString: string;
  readonly telephoneAccessNumbers: string;
  readonly telephoneAccessFolderEmail: string;
}

export async function isUmEnabled(services: Services, credentials: Credentials | undefined, source: string): Promise<{ login: string; enabled: boolean }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, 'um.is-enabled');
  return { login, enabled: (await services.store.findMailbox(login)) !== undefined };
}

export async function getUmProperties(services: Services, credentials: Credentials | undefined, source: string): Promise<{ login: string; properties: UmProperties }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, 'um.get-properties');
  const mailbox = await findEnabledMailbox(services, login, 'um.get-properties', source);
  const { voiceMail } = mailbox;
  return {
    login,
    properties: {
      oofStatus: voiceMail.oofStatus,
      missedCallNotificationEnabled: voiceMail.missedCallNotificationEnabled,
      playOnPhoneDialString: voiceMail.playOnPhoneDialString,
      telephoneAccessNumbers: services.mail.accessNumber ?? '',
      telephoneAccessFolderEmail: voiceMail.telephoneAccessFolder,
    },
  };
}

/** One setter's request: which operation, and the argument as the envelope carried it. */
export type SettingRequest =
  | { readonly operation: 'SetOofStatus'; readonly status: boolean }
  | { readonly operation: 'SetMissedCallNotificationEnabled'; readonly status: boolean }
  | { readonly operation: 'SetPlayOnPhoneDialString'; readonly dialString: string }
  | { readonly operation: 'SetTelephoneAccessFolderEmail'; readonly base64FolderId: string };

const SETTING_EVENT = 'um.setting';

/**
 * SetOofStatus, SetMissedCallNotificationEnabled, SetPlayOnPhoneDialString,
 * SetTelephoneAccessFolderEmail on the caller's mailbox. A value umpin does
 * not accept is ErrorInvalidRequest and changes nothing.
 */
export async function setUmSetting(services: Services, credentials: Credentials | undefined, source: string, request: SettingRequest): Promise<{ login: string }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, SETTING_EVENT);
  const by = { actor: login, source };
  await findEnabledMailbox(services, login, SETTING_EVENT, source, request.operation);
  const change = settingChange(request);
  if ('problem' in change) {
    await services.store.appendAudit(settingAudit(services, login, by, 'invalid-value', change.setting));
    throw new InvalidRequestValue(`<${change.element}> ${change.problem}.`);
  }
  if (!(await services.store.updateVoiceMailSettings(login, change.settings, settingAudit(services, login, by, 'success', change.setting, change.settings)))) {
    throw new MailboxNotEnabled(); // disabled between the read and the write
  }
  return { login };
}

type SettingName = 'OofStatus' | 'MissedCallNotificationEnabled' | 'PlayOnPhoneDialString' | 'TelephoneAccessFolderEmail';

function settingChange(request: SettingRequest):
  | { readonly setting: SettingName; readonly settings: Partial<VoiceMailSettings> }
  | { readonly setting: SettingName; readonly element: string; readonly problem: string } {
  switch (request.operation) {
    case 'SetOofStatus':
      return { setting: 'OofStatus', settings: { oofStatus: request.status } };
    case 'SetMissedCallNotificationEnabled':
      return { setting: 'MissedCallNotificationEnabled', settings: { missedCallNotificationEnabled: request.status } };
    case 'SetPlayOnPhoneDialString': {
      // Surrounding whitespace is layout (pretty-printed requests), not part of the number.
      const dialString = request.dialString.trim();
      const problem = describeDialStringProblem(dialString);
      return problem === undefined
        ? { setting: 'PlayOnPhoneDialString', settings: { playOnPhoneDialString: dialString } }
        : { setting: 'PlayOnPhoneDialString', element: 'dialString', problem };
    }
    case 'SetTelephoneAccessFolderEmail': {
      const folder = request.base64FolderId.trim();
      const problem = describeFolderIdProblem(folder);
      return problem === undefined
        ? { setting: 'TelephoneAccessFolderEmail', settings: { telephoneAccessFolder: folder } }
        : { setting: 'TelephoneAccessFolderEmail', element: 'base64FolderId', problem };
    }
  }
}

/** The audit record of a change: which setting, and a boolean's new value; never a number or folder id (personal data the trail does not need). */
function settingAudit(services: Services, login: string, by: Actor, outcome: string, setting: SettingName, settings?: Partial<VoiceMailSettings>): AuditEvent {
  const value = settings?.oofStatus ?? settings?.missedCallNotificationEnabled;
  return { at: services.now(), event: SETTING_EVENT, outcome, login, actor: by.actor, source: by.source, detail: { setting, ...(value === undefined ? {} : { value }) } };
}

/** The caller's mailbox, or MailboxNotEnabled (audited as ResetPIN audits it). */
export async function findEnabledMailbox(services: Services, login: string, event: string, source: string, operation?: string): Promise<MailboxState> {
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) {
    await services.store.appendAudit({
      at: services.now(), event, outcome: 'not-enabled', login, actor: login, source, ...(operation ? { detail: { operation } } : {}),
    });
    throw new MailboxNotEnabled();
  }
  return mailbox;
}

/** The administrator's change (`umpin mailbox set`): the same rules, messages naming the CLI's options. */
export interface AdminVoiceMailChange {
  readonly oofStatus?: boolean;
  readonly missedCallNotificationEnabled?: boolean;
  readonly playOnPhoneDialString?: string;
  readonly telephoneAccessFolder?: string;
}

/** The change as the store takes it, or InvalidArgument naming the option; writes nothing. */
export function checkVoiceMailChange(change: AdminVoiceMailChange): Partial<VoiceMailSettings> {
  const settings: { -readonly [K in keyof VoiceMailSettings]?: VoiceMailSettings[K] } = {};
  if (change.oofStatus !== undefined) settings.oofStatus = change.oofStatus;
  if (change.missedCallNotificationEnabled !== undefined) settings.missedCallNotificationEnabled = change.missedCallNotificationEnabled;
  if (change.playOnPhoneDialString !== undefined) {
    // The administrator may clear it (""), which a caller's SetPlayOnPhoneDialString cannot ("Can be Empty: False").
    const problem = change.playOnPhoneDialString === '' ? undefined : describeDialStringProblem(change.playOnPhoneDialString);
    if (problem !== undefined) throw new InvalidArgument(`--play-on-phone-dial-string "${change.playOnPhoneDialString}" ${problem}.`);
    settings.playOnPhoneDialString = change.playOnPhoneDialString;
  }
  if (change.telephoneAccessFolder !== undefined) {
    const problem = change.telephoneAccessFolder === '' ? undefined : describeFolderIdProblem(change.telephoneAccessFolder);
    if (problem !== undefined) throw new InvalidArgument(`--telephone-access-folder ${problem}.`);
    settings.telephoneAccessFolder = change.telephoneAccessFolder;
  }
  return settings;
}

export async function setVoiceMailSettings(services: Services, login: string, change: AdminVoiceMailChange, by: Actor): Promise<void> {
  const settings = checkVoiceMailChange(change);
  if (Object.keys(settings).length === 0) return;
  const audit: AuditEvent = {
    at: services.now(), event: SETTING_EVENT, outcome: 'success', login, actor: by.actor, source: by.source,
    detail: { setting: Object.keys(settings).join(' ') },
  };
  if (!(await services.store.updateVoiceMailSettings(login, settings, audit))) throw new MailboxNotFound(login);
}
