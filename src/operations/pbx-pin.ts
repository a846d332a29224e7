/**
 * What a PBX integration needs beyond the phone logon (docs/pbx.md):
 * naming umpin's mailbox from the PBX's own `mailbox@context` (Asterisk) or
 * `id@domain` (FreeSWITCH), checking a new PIN without committing it (for
 * Asterisk's `externpasscheck`, which runs before the caller re-enters the
 * PIN), and setting a PIN the caller chose inside the PBX's own menu (for
 * `externpass`). The logon itself is `phoneLogon`, unchanged: one counter,
 * one lockout, whichever road a PIN comes in by.
 */
import { MailboxNotFound, PinPolicyViolated } from '../errors.ts';
import { acceptPin, changePin } from './change-pin.ts';
import type { PhoneSource, PhoneTarget } from './phone.ts';
import type { Services } from './services.ts';
import type { PinChangeEffects } from '../store/index.ts';

/**
 * The caller chose this PIN: it is current, the counter and the first-time flag are cleared (as
 * phoneChangePin). The lock state is kept: a lockout that lands between the check in setPinFromPbx
 * and the activation stays (docs/lockout.md), since choosing a PIN in the PBX's menu never unlocks.
 */
const CHOSEN_EFFECTS: PinChangeEffects = Object.freeze({
  pinExpired: false, lockedOut: 'keep', clearFailedLogons: true, clearFirstTimeUser: true,
});

/**
 * The documented mapping rule (docs/pbx.md, "Which umpin mailbox"): a PBX
 * mailbox `id` in context or domain `qualifier` is umpin's login
 * `id@qualifier` when such a mailbox exists; otherwise, when the qualifier is
 * one whose mailbox numbers are umpin extensions (`extensionQualifiers`, `*`
 * for any), the mailbox with extension `id`; otherwise nothing, which the
 * logon answers exactly like a wrong PIN (the login `id@qualifier` is unknown).
 */
export async function resolvePbxMailbox(services: Services, id: string, qualifier: string, extensionQualifiers: readonly string[]): Promise<PhoneTarget> {
  const qualified = `${id}@${qualifier}`;
  if (await services.store.findMailbox(qualified)) return { mailbox: qualified };
  if (extensionQualifiers.includes('*') || extensionQualifiers.includes(qualifier)) return { extension: id };
  return { mailbox: qualified };
}

async function requireLogin(services: Services, target: PhoneTarget): Promise<string> {
  const login = 'mailbox' in target ? target.mailbox : await services.store.findMailboxLoginByExtension(target.extension);
  if (login === undefined || !(await services.store.findMailbox(login))) throw new MailboxNotFound('mailbox' in target ? target.mailbox : `extension ${target.extension}`);
  return login;
}

/**
 * A dry run of a PIN change: every policy rule and the history, nothing
 * stored, nothing counted. Throws PinPolicyViolated naming every failed rule.
 */
export async function checkNewPin(services: Services, target: PhoneTarget, newPin: string): Promise<string> {
  const login = await requireLogin(services, target);
  const mailbox = await services.store.findMailbox(login);
  if (!mailbox) throw new MailboxNotFound(login);
  const accepted = await acceptPin(services, mailbox, newPin);
  if ('failures' in accepted) throw new PinPolicyViolated(accepted.failures);
  return login;
}

export type PbxSetPinResult = 'ok' | 'locked-out';

/**
 * Sets the PIN a caller chose in the PBX's own menu. The PBX proved who the
 * caller is (it let them into the mailbox after an umpin logon) and its API key
 * proves the PBX, so no old PIN is asked: the one Asterisk passes is its
 * placeholder, never the caller's PIN. A locked mailbox stays locked and
 * unchanged. Every policy rule and the history apply; audited as the user's change.
 */
export async function setPinFromPbx(services: Services, target: PhoneTarget, newPin: string, source: PhoneSource): Promise<PbxSetPinResult> {
  const login = await requireLogin(services, target);
  if ((await services.store.findMailbox(login))?.lockedOut) {
    await services.store.appendAudit({ at: services.now(), event: 'pin.change', outcome: 'locked-out', login, actor: login, source: `pbx:${source.address}` });
    return 'locked-out';
  }
  await changePin(services, login, {
    reason: 'change', by: { actor: login, source: `pbx:${source.address}` }, chosenPin: newPin, mailTo: null, effects: CHOSEN_EFFECTS,
  });
  return 'ok';
}
