import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutodiscoverRequestInvalid } from '../errors.ts';
import { OUTLOOK_RESPONSE_SCHEMA, REQUEST_NS, parseAutodiscoverRequest } from './autodiscover-request.ts';
import { renderAutodiscoverError, renderUmUrlResponse } from './autodiscover-response.ts';

const parse = (xml: string | Uint8Array) => parseAutodiscoverRequest(typeof xml === 'string' ? Buffer.from(xml) : xml);
const request = (inner: string, root = `xmlns="${REQUEST_NS}"`) => `<?xml version="1.0" encoding="utf-8"?><Autodiscover ${root}><Request>${inner}</Request></Autodiscover>`;
const OUTLOOK = `<EMailAddress>user@contoso.com</EMailAddress><AcceptableResponseSchema>${OUTLOOK_RESPONSE_SCHEMA}</AcceptableResponseSchema>`;

describe('parseAutodiscoverRequest', () => {
  it("reads Outlook's request ([MS-OXDSCLI] 2.2.3), whitespace and a prefix aside", () => {
    assert.deepEqual(parse(request(OUTLOOK)), { emailAddress: 'user@contoso.com', acceptableResponseSchema: OUTLOOK_RESPONSE_SCHEMA });
    assert.deepEqual(parse(`<a:Autodiscover xmlns:a="${REQUEST_NS}">\n <a:Request>\n  <a:LegacyDN>/o=x</a:LegacyDN>\n  <a:EMailAddress> u@x </a:EMailAddress>` +
      `<a:AcceptableResponseSchema>${OUTLOOK_RESPONSE_SCHEMA}</a:AcceptableResponseSchema></a:Request></a:Autodiscover>`),
    { emailAddress: 'u@x', acceptableResponseSchema: OUTLOOK_RESPONSE_SCHEMA, legacyDn: '/o=x' });
  });

  const refused: Array<[string, string | Buffer, RegExp]> = [
    ['a DOCTYPE', `<!DOCTYPE a [<!ENTITY e "x">]>${request(OUTLOOK)}`, /DOCTYPE/],
    ['billion laughs', `<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>${request('<EMailAddress>&b;</EMailAddress>')}`, /DOCTYPE/],
    ['an undeclared entity', request('<EMailAddress>&x;</EMailAddress>'), /not well-formed XML/],
    ['a processing instruction', `<?xml version="1.0"?><?x y?>${request(OUTLOOK)}`, /processing instruction/],
    ['another encoding', `<?xml version="1.0" encoding="ISO-8859-1"?><Autodiscover xmlns="${REQUEST_NS}"/>`, /encoding "ISO-8859-1"/],
    ['bytes that are not UTF-8', Buffer.from([0x3c, 0xc3, 0x28, 0x3e]), /not valid UTF-8/],
    ['the wrong namespace', request(OUTLOOK, 'xmlns="urn:x"'), /namespace "urn:x"/],
    ['no namespace', request(OUTLOOK, ''), /namespace ""/],
    ['an unknown child', request(`${OUTLOOK}<Password>x</Password>`), /does not define/],
    ['a repeated child', request(`${OUTLOOK}<EMailAddress>b@x</EMailAddress>`), /twice/],
    ['two Requests', `<Autodiscover xmlns="${REQUEST_NS}"><Request>${OUTLOOK}</Request><Request/></Autodiscover>`, /one <Request>/],
    ['markup in a value', request('<EMailAddress><b>u</b></EMailAddress>'), /holds text only/],
    ['a huge value', request(`<EMailAddress>${'a'.repeat(2000)}</EMailAddress>`), /longer than 1024/],
    ['no e-mail address', request(`<AcceptableResponseSchema>${OUTLOOK_RESPONSE_SCHEMA}</AcceptableResponseSchema>`), /lacks <EMailAddress>/],
    ['no schema', request('<EMailAddress>u@x</EMailAddress>'), /lacks <AcceptableResponseSchema>/],
    ['an empty body', '', /not well-formed|no <Autodiscover>/],
    ['a SOAP envelope', '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>', /namespace/],
  ];
  for (const [name, xml, message] of refused) {
    it(`refuses ${name}`, () => assert.throws(() => parse(xml), (error: Error) => error instanceof AutodiscoverRequestInvalid && error.httpStatus === 400 && message.test(error.message)));
  }
});

describe('the POX answers', () => {
  it('escape what they echo', () => {
    assert.match(renderUmUrlResponse({ displayName: 'a<b', emailAddress: 'x&y', umUrl: 'https://h/EWS/UM2007Legacy.asmx' }), /<DisplayName>a&lt;b<\/DisplayName><AutoDiscoverSMTPAddress>x&amp;y</);
    assert.match(renderAutodiscoverError(600, '<x>'), /<ErrorCode>600<\/ErrorCode><Message>&lt;x&gt;<\/Message>/);
  });
});
