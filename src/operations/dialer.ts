/**
 * Placing calls for PlayOnPhone and PlayOnPhoneGreeting (DESIGN §5: "dialer").
 *
 * umpin has no telephony of its own. A back end (an Asterisk originate, a
 * FreeSWITCH `originate`, a SIP trunk's API) plugs in here; with none
 * configured the call operations answer TelephonyNotConfigured, and
 * GetCallInfo / Disconnect find no call id, as umpin issued none.
 *
 * The contract is the spec's call model ([MS-OXWUMS] 3.1.1.1, 3.2.4): a call
 * id is an opaque string, valid for GetCallInfo and Disconnect of the caller
 * who placed it; states and causes are the UMCallState / UMEventCause values.
 */

/** REF greetingtype-um-web-service. */
export const GREETING_TYPES = ['NormalCustom', 'OofCustom'] as const;
export type GreetingType = (typeof GREETING_TYPES)[number];

/** SPEC 3.1.4.3.4.1; this protocol reports Connecting, Connected and Disconnected. */
export type CallState = 'Idle' | 'Connecting' | 'Alerted' | 'Connected' | 'Disconnected' | 'Incoming' | 'Transferring' | 'Forwarding';
/** SPEC 3.1.4.3.4.2; `None` while the call is not Disconnected. */
export type EventCause = 'None' | 'UserBusy' | 'NoAnswer' | 'Unavailable' | 'Other';

export interface CallInfo {
  readonly callState: CallState;
  readonly eventCause: EventCause;
}

export interface CallRequest {
  /** Whose mailbox the call plays from; the only one allowed to ask about or end it. */
  readonly login: string;
  readonly dialString: string;
  /** A mailbox item (its base64 EntryID) or one of the two greetings. */
  readonly play: { readonly kind: 'item'; readonly entryId: string } | { readonly kind: 'greeting'; readonly greetingType: GreetingType };
}

export interface Dialer {
  /** Starts the call; resolves to its id once the back end has accepted it. */
  placeCall(request: CallRequest): Promise<string>;
  /** Undefined when `callId` is not a call this dialer placed for `login`. */
  callInfo(login: string, callId: string): Promise<CallInfo | undefined>;
  /** False when `callId` is not a call this dialer placed for `login`. */
  disconnect(login: string, callId: string): Promise<boolean>;
}
