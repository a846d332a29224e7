/**
 * The POX Autodiscover answers ([MS-OXDSCLI] 2.2.4): the settings answer
 * carrying only UMUrl (2.2.4.1.1.2.6.47), and the Error answer (2.2.4.1.1.3)
 * with its ErrorCode: 600 Invalid Request, 601 the requested schema cannot be
 * provided, 603 an internal error.
 */
import { escapeXml } from '../soap/render.ts';

export const AUTODISCOVER_CONTENT_TYPE = 'text/xml; charset=utf-8';
const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
const OUTLOOK_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';

/**
 * UMUrl in an EXCH (internal access) and an EXPR (external access) Protocol, as Exchange's own
 * answers carry it (REF pox-autodiscover-response-for-exchange); umpin knows no other setting.
 */
export function renderUmUrlResponse(answer: { readonly displayName: string; readonly emailAddress: string; readonly umUrl: string }): string {
  const url = escapeXml(answer.umUrl);
  const protocol = (type: string) => `<Protocol><Type>${type}</Type><UMUrl>${url}</UMUrl></Protocol>`;
  return `${DECLARATION}<Autodiscover xmlns="${RESPONSE_NS}"><Response xmlns="${OUTLOOK_NS}">` +
    `<User><DisplayName>${escapeXml(answer.displayName)}</DisplayName><AutoDiscoverSMTPAddress>${escapeXml(answer.emailAddress)}</AutoDiscoverSMTPAddress></User>` +
    `<Account><AccountType>email</AccountType><Action>settings</Action>${protocol('EXCH')}${protocol('EXPR')}</Account>` +
    '</Response></Autodiscover>';
}

export type AutodiscoverErrorCode = 600 | 601 | 603;

export function renderAutodiscoverError(code: AutodiscoverErrorCode, message: string): string {
  return `${DECLARATION}<Autodiscover xmlns="${RESPONSE_NS}"><Response>` +
    `<Error><ErrorCode>${code}</ErrorCode><Message>${escapeXml(message)}</Message><DebugData /></Error>` +
    '</Response></Autodiscover>';
}
