import { SoapVersionMismatch, UnsupportedMediaType } from '../errors.ts';

/**
 * DESIGN §1.1: SOAP 1.1 travels as `text/xml`, with no charset or UTF-8.
 * A SOAP 1.2 client announces itself with `application/soap+xml`, which gets
 * a VersionMismatch fault (SOAP 1.1 §4.4.1) with HTTP 415.
 */
/** What nearly every client sends, accepted without splitting the header (the split was 2 % of a rejected request). */
const COMMON_GOOD = new Set(['text/xml', 'text/xml; charset=utf-8', 'text/xml;charset=utf-8', 'text/xml; charset="utf-8"', 'text/xml; charset=UTF-8']);

export function checkSoapContentType(header: string | undefined): void {
  if (header !== undefined && COMMON_GOOD.has(header)) return;
  const [mediaType = '', ...params] = (header ?? '').split(';').map((part) => part.trim());
  const type = mediaType.toLowerCase();
  if (type === 'application/soap+xml') {
    throw new SoapVersionMismatch('This service speaks SOAP 1.1 only; send the envelope as text/xml, not application/soap+xml (SOAP 1.2).', 415);
  }
  if (type !== 'text/xml') {
    throw new UnsupportedMediaType(
      header === undefined || header === ''
        ? 'The request has no Content-Type; send the SOAP 1.1 envelope as text/xml; charset=utf-8.'
        : `The Content-Type "${mediaType}" is not accepted; send the SOAP 1.1 envelope as text/xml; charset=utf-8.`,
    );
  }
  for (const param of params) {
    const [name = '', value = ''] = param.split('=', 2).map((part) => part.trim());
    if (name.toLowerCase() !== 'charset') continue;
    const charset = value.replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8') {
      throw new UnsupportedMediaType(`The charset "${charset}" is not accepted; this service reads UTF-8 only.`);
    }
  }
}
