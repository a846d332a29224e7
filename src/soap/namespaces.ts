export const SOAP11_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENVELOPE_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const MESSAGES_NS = 'http://schemas.microsoft.com/exchange/services/2006/messages';
/** Printed by several translated reference pages; accepted as an alias and echoed back (DESIGN §1.2). */
export const MESSAGES_NS_HTTPS_ALIAS = 'https://schemas.microsoft.com/exchange/services/2006/messages';
export const TYPES_NS = 'http://schemas.microsoft.com/exchange/services/2006/types';
export const ERRORS_NS = 'http://schemas.microsoft.com/exchange/services/2006/errors';

export type MessagesNamespace = typeof MESSAGES_NS | typeof MESSAGES_NS_HTTPS_ALIAS;

export function isMessagesNamespace(uri: string): uri is MessagesNamespace {
  return uri === MESSAGES_NS || uri === MESSAGES_NS_HTTPS_ALIAS;
}
