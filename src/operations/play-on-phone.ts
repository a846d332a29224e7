/**
 * [MS-OXWUMS] PlayOnPhone, PlayOnPhoneGreeting, GetCallInfo and Disconnect:
 * calls placed through the configured dialer (dialer.ts), behind the same
 * sign-in, limits and audit as every other operation.
 *
 * Order of checks: sign-in, the caller's mailbox, the arguments (the spec's
 * InvalidObjectIdException, DialingRulesException, or ErrorInvalidRequest for
 * a greeting type outside the two), then the dialer. Without a dialer the two
 * call operations answer TelephonyNotConfigured, and every call id is one
 * umpin never issued: InvalidCallIdException ([MS-OXWUMS] 2.2.3.1).
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { DialStringRejected, EntryIdRejected, InvalidCallId, InvalidRequestValue, TelephonyNotConfigured } from '../errors.ts';
import { GREETING_TYPES, type CallInfo, type CallRequest, type GreetingType } from './dialer.ts';
import type { Services } from './services.ts';
import { admitRequest, signIn } from './sign-in.ts';
import { describeDialStringProblem, findEnabledMailbox } from './voice-mail-settings.ts';

const CALL_EVENT = 'um.call';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type PlayRequest =
  | { readonly operation: 'PlayOnPhone'; readonly entryId: string; readonly dialString: string }
  | { readonly operation: 'PlayOnPhoneGreeting'; readonly greetingType: string; readonly dialString: string };

export async function playOnPhone(services: Services, credentials: Credentials | undefined, source: string, request: PlayRequest): Promise<{ login: string; callId: string }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, CALL_EVENT);
  await findEnabledMailbox(services, login, CALL_EVENT, source, request.operation);
  const refuse = async (outcome: string, error: Error): Promise<never> => {
    await audit(services, login, source, request.operation, outcome);
    throw error;
  };
  let play: CallRequest['play'];
  if (request.operation === 'PlayOnPhone') {
    const entryId = request.entryId.trim();
    if (entryId === '' || !BASE64.test(entryId)) await refuse('invalid-entry-id', new EntryIdRejected());
    play = { kind: 'item', entryId };
  } else {
    const greetingType = request.greetingType.trim();
    if (!(GREETING_TYPES as readonly string[]).includes(greetingType)) {
      await refuse('invalid-value', new InvalidRequestValue(`<GreetingType> must be NormalCustom or OofCustom, not "${greetingType.slice(0, 40)}".`));
    }
    play = { kind: 'greeting', greetingType: greetingType as GreetingType };
  }
  const dialString = request.dialString.trim();
  const problem = describeDialStringProblem(dialString);
  if (problem !== undefined) await refuse('invalid-dial-string', new DialStringRejected(`The dial string ${problem}.`));
  const { dialer } = services;
  if (dialer === undefined) return refuse('no-telephony', new TelephonyNotConfigured());
  const callId = await dialer.placeCall({ login, dialString, play });
  await audit(services, login, source, request.operation, 'success');
  return { login, callId };
}

export async function getCallInfo(services: Services, credentials: Credentials | undefined, source: string, callId: string): Promise<{ login: string; info: CallInfo }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, CALL_EVENT);
  await findEnabledMailbox(services, login, CALL_EVENT, source, 'GetCallInfo');
  const info = await services.dialer?.callInfo(login, callId);
  if (info === undefined) {
    await audit(services, login, source, 'GetCallInfo', 'invalid-call-id');
    throw new InvalidCallId();
  }
  return { login, info };
}

export async function disconnectCall(services: Services, credentials: Credentials | undefined, source: string, callId: string): Promise<{ login: string }> {
  await admitRequest(services, source);
  const { login } = await signIn(services, credentials, source, CALL_EVENT);
  await findEnabledMailbox(services, login, CALL_EVENT, source, 'Disconnect');
  if (!(await services.dialer?.disconnect(login, callId))) {
    await audit(services, login, source, 'Disconnect', 'invalid-call-id');
    throw new InvalidCallId();
  }
  await audit(services, login, source, 'Disconnect', 'success');
  return { login };
}

/** Never the dial string, the item or the call id: which operation and how it ended is what the trail needs. */
function audit(services: Services, login: string, source: string, operation: string, outcome: string): Promise<void> {
  return services.store.appendAudit({ at: services.now(), event: CALL_EVENT, outcome, login, actor: login, source, detail: { operation } });
}
