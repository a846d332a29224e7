/**
 * The one place where responses and errors become XML (STYLE 5).
 * The success response is a constant per namespace; a fault needs escaping only.
 */
import type { UmpinError } from '../errors.ts';
import { ERRORS_NS, MESSAGES_NS, MESSAGES_NS_HTTPS_ALIAS, type MessagesNamespace } from './namespaces.ts';

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

export function renderFault(error: UmpinError): string {
  const message = escapeXml(error.message);
  // SOAP 1.1 §4.4: detail carries Body errors only, so VersionMismatch / MustUnderstand have none.
  const detail =
    error.responseCode === undefined
      ? ''
      : `<detail><e:ResponseCode xmlns:e="${ERRORS_NS}">${error.responseCode}</e:ResponseCode>` +
        `<e:Message xmlns:e="${ERRORS_NS}">${message}</e:Message></detail>`;
  return (
    `${ENVELOPE_OPEN}<soap:Fault><faultcode>soap:${error.faultCode}</faultcode>` +
    `<faultstring xml:lang="en">${message}</faultstring>${detail}</soap:Fault>${ENVELOPE_CLOSE}`
  );
}

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text and attribute values, and drops characters XML 1.0 cannot carry at all. */
export function escapeXml(value: string): string {
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}
