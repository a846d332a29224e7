/**
 * The one place where responses and errors become XML (STYLE 5).
 * The success response is a constant per namespace; a fault needs escaping only.
 */
import type { UmpinError } from '../errors.ts';
import { ERRORS_NS, MESSAGES_NS, MESSAGES_NS_HTTPS_ALIAS, TYPES_NS, type MessagesNamespace } from './namespaces.ts';

export const SOAP_CONTENT_TYPE = 'text/xml; charset=utf-8';

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="utf-8"?>\n' +
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
  '<soap:Body>';
const ENVELOPE_CLOSE = '</soap:Body></soap:Envelope>';

const RESET_PIN_RESPONSES: Readonly<Record<MessagesNamespace, string>> = {
  [MESSAGES_NS]: `${ENVELOPE_OPEN}<ResetPINResponse xmlns="${MESSAGES_NS}" />${ENVELOPE_CLOSE}`,
  [MESSAGES_NS_HTTPS_ALIAS]: `${ENVELOPE_OPEN}<ResetPINResponse xmlns="${MESSAGES_NS_HTTPS_ALIAS}" />${ENVELOPE_CLOSE}`,
};

export function renderResetPinResponse(namespace: MessagesNamespace): string {
  return RESET_PIN_RESPONSES[namespace];
}

/** The operations whose success answer is an empty element ("Can be Empty: True" in the REF pages). */
export type EmptyResponseOperation =
  | 'ResetPIN' | 'SetOofStatus' | 'SetMissedCallNotificationEnabled' | 'SetPlayOnPhoneDialString' | 'SetTelephoneAccessFolderEmail' | 'Disconnect';

const EMPTY_RESPONSES = new Map<string, string>();

/** `<XxxResponse xmlns="…" />`, built once per operation and namespace. */
export function renderEmptyResponse(operation: EmptyResponseOperation, namespace: MessagesNamespace): string {
  const key = `${operation} ${namespace}`;
  let body = EMPTY_RESPONSES.get(key);
  if (body === undefined) {
    body = `${ENVELOPE_OPEN}<${operation}Response xmlns="${namespace}" />${ENVELOPE_CLOSE}`;
    EMPTY_RESPONSES.set(key, body);
  }
  return body;
}

/**
 * The value-returning operations wrap their value in an inner element of the same name as the
 * outer one (REF examples of IsUMEnabled, GetUMProperties, PlayOnPhone, GetCallInfo).
 */
function wrapped(operation: string, namespace: MessagesNamespace, inner: string): string {
  return `${ENVELOPE_OPEN}<${operation}Response xmlns="${namespace}"><${operation}Response>${inner}</${operation}Response></${operation}Response>${ENVELOPE_CLOSE}`;
}

export function renderIsUmEnabledResponse(enabled: boolean, namespace: MessagesNamespace): string {
  return wrapped('IsUMEnabled', namespace, String(enabled));
}

export interface UmPropertiesAnswer {
  readonly oofStatus: boolean;
  readonly missedCallNotificationEnabled: boolean;
  readonly playOnPhoneDialString: string;
  readonly telephoneAccessNumbers: string;
  readonly telephoneAccessFolderEmail: string;
}

/** UMProperties: all five children, always, in the REF syntax block's order; an unset string is an empty element. */
export function renderUmPropertiesResponse(properties: UmPropertiesAnswer, namespace: MessagesNamespace): string {
  return wrapped('GetUMProperties', namespace,
    `<OofStatus>${properties.oofStatus}</OofStatus>` +
    `<MissedCallNotificationEnabled>${properties.missedCallNotificationEnabled}</MissedCallNotificationEnabled>` +
    `<PlayOnPhoneDialString>${escapeXml(properties.playOnPhoneDialString)}</PlayOnPhoneDialString>` +
    `<TelephoneAccessNumbers>${escapeXml(properties.telephoneAccessNumbers)}</TelephoneAccessNumbers>` +
    `<TelephoneAccessFolderEmail>${escapeXml(properties.telephoneAccessFolderEmail)}</TelephoneAccessFolderEmail>`);
}

/** PlayOnPhone / PlayOnPhoneGreeting: the call id, "MUST be used" by GetCallInfo and Disconnect (SPEC 3.1.4.9.2.2). */
export function renderCallIdResponse(operation: 'PlayOnPhone' | 'PlayOnPhoneGreeting', callId: string, namespace: MessagesNamespace): string {
  return wrapped(operation, namespace, escapeXml(callId));
}

/** GetCallInfo: UMCallInfo, CallState then EventCause (SPEC 3.1.4.3). */
export function renderCallInfoResponse(info: { readonly callState: string; readonly eventCause: string }, namespace: MessagesNamespace): string {
  return wrapped('GetCallInfo', namespace, `<CallState>${escapeXml(info.callState)}</CallState><EventCause>${escapeXml(info.eventCause)}</EventCause>`);
}

export function renderFault(error: UmpinError): string {
  const message = escapeXml(error.message);
  const { exceptionType } = error;
  // [MS-OXWUMS] 2.2.3.1 and 4.15: the spec's exceptions name themselves in the faultcode (a QName whose
  // prefix is bound here) and in detail/m:ExceptionType; the EWS ResponseCode and Message follow as for
  // every other Client/Server fault, so one parser reads them all.
  const faultcode = exceptionType === undefined
    ? `<faultcode>soap:${error.faultCode}</faultcode>`
    : `<faultcode xmlns:a="${TYPES_NS}">a:${exceptionType}</faultcode>`;
  // SOAP 1.1 §4.4: detail carries Body errors only, so VersionMismatch / MustUnderstand have none.
  const detail =
    error.responseCode === undefined
      ? ''
      : '<detail>' +
        (exceptionType === undefined ? '' : `<ExceptionType xmlns="${MESSAGES_NS}">${exceptionType}</ExceptionType>`) +
        `<e:ResponseCode xmlns:e="${ERRORS_NS}">${error.responseCode}</e:ResponseCode>` +
        `<e:Message xmlns:e="${ERRORS_NS}">${message}</e:Message></detail>`;
  return `${ENVELOPE_OPEN}<soap:Fault>${faultcode}<faultstring xml:lang="en">${message}</faultstring>${detail}</soap:Fault>${ENVELOPE_CLOSE}`;
}

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text and attribute values, and drops characters XML 1.0 cannot carry at all. */
export function escapeXml(value: string): string {
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}
