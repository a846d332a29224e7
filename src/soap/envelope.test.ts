import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InvalidRequest, InvalidRequestValue, SoapMustUnderstand, SoapSchemaViolation, SoapVersionMismatch } from '../errors.ts';
import { MAX_ARGUMENT_LENGTH, MAX_DEPTH, parseSoapRequest, type SoapRequest } from './envelope.ts';
import { MESSAGES_NS, MESSAGES_NS_HTTPS_ALIAS } from './namespaces.ts';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url));
const parse = (xml: string | Uint8Array, soapAction?: string) =>
  parseSoapRequest(typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml, soapAction);
const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const envelope = (body: string, head = '') =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP}">${head}<soap:Body>${body}</soap:Body></soap:Envelope>`;

describe('parseSoapRequest accepts every shape of DESIGN §1.2', () => {
  const accepted: Array<[string, string | Buffer, string]> = [
    ['the reference request, byte for byte', fixture('resetpin-request.xml'), MESSAGES_NS],
    ['the https alias of the reference pages', fixture('resetpin-request-https-variant.xml'), MESSAGES_NS_HTTPS_ALIAS],
    ['an m: prefix on the element', envelope(`<m:ResetPIN xmlns:m="${MESSAGES_NS}"/>`), MESSAGES_NS],
    ['a prefix declared on the Envelope', `<s:Envelope xmlns:s="${SOAP}" xmlns:um="${MESSAGES_NS}"><s:Body><um:ResetPIN></um:ResetPIN></s:Body></s:Envelope>`, MESSAGES_NS],
    ['a Header with RequestServerVersion (mustUnderstand)', envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`,
      '<soap:Header><t:RequestServerVersion xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" Version="Exchange2010" soap:mustUnderstand="1"/></soap:Header>'), MESSAGES_NS],
    ['an unknown header block without mustUnderstand', envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`, '<soap:Header><x:Trace xmlns:x="urn:x"><x:id>7</x:id></x:Trace></soap:Header>'), MESSAGES_NS],
    ['a mustUnderstand block meant for another actor', envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`, '<soap:Header><x:Hop xmlns:x="urn:x" soap:actor="urn:other" soap:mustUnderstand="1"/></soap:Header>'), MESSAGES_NS],
    ["SOAP::Lite's xsi:nil and encodingStyle", `<soap:Envelope xmlns:soap="${SOAP}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" soap:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><soap:Body><ResetPIN xmlns="${MESSAGES_NS}" xsi:nil="true"/></soap:Body></soap:Envelope>`, MESSAGES_NS],
    ['whitespace and a comment inside ResetPIN', envelope(`<ResetPIN xmlns="${MESSAGES_NS}">\n  <!-- empty -->\n</ResetPIN>`), MESSAGES_NS],
    ['a UTF-8 byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fixture('resetpin-request.xml')]), MESSAGES_NS],
  ];
  for (const [name, xml, namespace] of accepted) {
    it(name, () => assert.deepEqual(parse(xml), { operation: 'ResetPIN', namespace, arguments: {} }));
  }

  it("accepts SOAPAction absent, empty, quoted, unquoted and in SOAP::Lite's uri#method form", () => {
    const xml = fixture('resetpin-request.xml');
    for (const action of [undefined, '', '""', `"${MESSAGES_NS}/ResetPIN"`, `${MESSAGES_NS}/ResetPIN`, `"${MESSAGES_NS}#ResetPIN"`]) {
      assert.equal(parse(xml, action).operation, 'ResetPIN');
    }
  });
});

describe('parseSoapRequest rejects', () => {
  const rejected: Array<[string, string | Buffer, new (...args: never[]) => Error, RegExp]> = [
    ['malformed XML', envelope(`<ResetPIN xmlns="${MESSAGES_NS}">`), SoapSchemaViolation, /^The request is not well-formed XML: /],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY a "b">]>${envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`)}`, SoapSchemaViolation, /DOCTYPE declaration/],
    ['a processing instruction', `<?xml version="1.0"?><?evil x?>${envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`)}`, SoapSchemaViolation, /processing instruction/],
    ['a SOAP 1.2 envelope', `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><ResetPIN xmlns="${MESSAGES_NS}"/></e:Body></e:Envelope>`, SoapVersionMismatch, /SOAP 1\.2 envelope/],
    ['a root that is not an Envelope', `<ResetPIN xmlns="${MESSAGES_NS}"/>`, SoapVersionMismatch, /not a SOAP 1\.1 Envelope/],
    ['an unbound prefix', envelope('<m:ResetPIN/>'), SoapSchemaViolation, /not well-formed XML: .*prefix/i],
    ['the wrong namespace', envelope('<ResetPIN xmlns="http://example.com/ns"/>'), SoapSchemaViolation, /namespace "http:\/\/example\.com\/ns"/],
    ['no namespace', envelope('<ResetPIN/>'), SoapSchemaViolation, /namespace ""/],
    ['two Body children', envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/><ResetPIN xmlns="${MESSAGES_NS}"/>`), SoapSchemaViolation, /exactly one element/],
    ['an element inside ResetPIN', envelope(`<ResetPIN xmlns="${MESSAGES_NS}"><Pin>1234</Pin></ResetPIN>`), SoapSchemaViolation, /must be empty, but it holds the element <Pin>/],
    ['text inside ResetPIN', envelope(`<ResetPIN xmlns="${MESSAGES_NS}">1234</ResetPIN>`), SoapSchemaViolation, /must be empty, but it holds text/],
    ['an empty Body', envelope(''), SoapSchemaViolation, /Body is empty/],
    ['no Body', `<soap:Envelope xmlns:soap="${SOAP}"/>`, SoapSchemaViolation, /no Body/],
    ['an element after the Body', `<soap:Envelope xmlns:soap="${SOAP}"><soap:Body><ResetPIN xmlns="${MESSAGES_NS}"/></soap:Body><x/></soap:Envelope>`, SoapSchemaViolation, /<x> is not allowed/],
    ['two roots', `${envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`)}<x/>`, SoapSchemaViolation, /not well-formed|more than one root/],
    ['an empty body', '', SoapSchemaViolation, /must contain a root element/],
    ['an unknown mustUnderstand header', envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`, '<soap:Header><x:Tx xmlns:x="urn:x" soap:mustUnderstand="1"/></soap:Header>'), SoapMustUnderstand, /\{urn:x\}Tx is marked mustUnderstand/],
    ['an encoding other than UTF-8', `<?xml version="1.0" encoding="ISO-8859-1"?>${envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`).slice(38)}`, InvalidRequest, /encoding "ISO-8859-1"/],
    ['bytes that are not UTF-8', Buffer.concat([Buffer.from(envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/><!--`)), Buffer.from([0xc3, 0x28]), Buffer.from('-->')]), InvalidRequest, /not valid UTF-8/],
    ['an unknown element in the messages namespace', envelope(`<DeleteEverything xmlns="${MESSAGES_NS}"/>`), SoapSchemaViolation, /not an operation of this service/],
  ];
  for (const [name, xml, type, message] of rejected) {
    it(name, () => assert.throws(() => parse(xml), (error: Error) => error instanceof type && message.test(error.message)));
  }

  it('nesting deeper than the bound, even inside an ignored header block', () => {
    const deep = `${'<x:a xmlns:x="urn:x">'.repeat(MAX_DEPTH)}${'</x:a>'.repeat(MAX_DEPTH)}`;
    assert.throws(() => parse(envelope(`<ResetPIN xmlns="${MESSAGES_NS}"/>`, `<soap:Header>${deep}</soap:Header>`)), SoapSchemaViolation);
  });

  it('a SOAPAction that names another operation', () => {
    assert.throws(() => parse(fixture('resetpin-request.xml'), `"${MESSAGES_NS}/IsUMEnabled"`),
      (error: Error) => error instanceof InvalidRequest && /does not match the operation in the body \(ResetPIN\)/.test(error.message));
  });

  it('a billion-laughs payload, in linear time and without expanding anything', () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')}]>` +
      envelope(`<ResetPIN xmlns="${MESSAGES_NS}">&lol9;</ResetPIN>`);
    const started = process.hrtime.bigint();
    assert.throws(() => parse(lol), SoapSchemaViolation);
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
  });
});

describe('parseSoapRequest reads every operation of [MS-OXWUMS] by namespace and local name', () => {
  const M = MESSAGES_NS;
  const accepted: Array<[string, string, SoapRequest]> = [
    ['IsUMEnabled (the REF example)', `<IsUMEnabled xmlns="${M}" />`, { operation: 'IsUMEnabled', namespace: M, arguments: {} }],
    ['GetUMProperties', `<GetUMProperties xmlns="${M}"/>`, { operation: 'GetUMProperties', namespace: M, arguments: {} }],
    ['SetOofStatus true', `<SetOofStatus xmlns="${M}">\n  <status>true</status>\n</SetOofStatus>`, { operation: 'SetOofStatus', namespace: M, arguments: { status: true } }],
    ['SetOofStatus 0 (xs:boolean allows 1 and 0)', `<m:SetOofStatus xmlns:m="${M}"><m:status> 0 </m:status></m:SetOofStatus>`, { operation: 'SetOofStatus', namespace: M, arguments: { status: false } }],
    ['SetMissedCallNotificationEnabled with xsi:type (SOAP::Lite)', `<SetMissedCallNotificationEnabled xmlns="${M}"><status xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:boolean">false</status></SetMissedCallNotificationEnabled>`,
      { operation: 'SetMissedCallNotificationEnabled', namespace: M, arguments: { status: false } }],
    ['SetPlayOnPhoneDialString, text kept as sent', `<SetPlayOnPhoneDialString xmlns="${M}"><dialString>+1 555 0100</dialString></SetPlayOnPhoneDialString>`,
      { operation: 'SetPlayOnPhoneDialString', namespace: M, arguments: { dialString: '+1 555 0100' } }],
    ['SetTelephoneAccessFolderEmail, base64FolderId', `<SetTelephoneAccessFolderEmail xmlns="${M}"><base64FolderId>AAAA</base64FolderId></SetTelephoneAccessFolderEmail>`,
      { operation: 'SetTelephoneAccessFolderEmail', namespace: M, arguments: { base64FolderId: 'AAAA' } }],
    ['SetTelephoneAccessFolderEmail, base64FolderID as the REF example spells it', `<SetTelephoneAccessFolderEmail xmlns="${M}"><base64FolderID>AAAA</base64FolderID></SetTelephoneAccessFolderEmail>`,
      { operation: 'SetTelephoneAccessFolderEmail', namespace: M, arguments: { base64FolderId: 'AAAA' } }],
    ['PlayOnPhone', `<PlayOnPhone xmlns="${M}"><entryId>AAAA</entryId><DialString>12345</DialString></PlayOnPhone>`,
      { operation: 'PlayOnPhone', namespace: M, arguments: { entryId: 'AAAA', dialString: '12345' } }],
    ['PlayOnPhoneGreeting', `<PlayOnPhoneGreeting xmlns="${M}"><GreetingType>OofCustom</GreetingType><DialString>12345</DialString></PlayOnPhoneGreeting>`,
      { operation: 'PlayOnPhoneGreeting', namespace: M, arguments: { greetingType: 'OofCustom', dialString: '12345' } }],
    ['GetCallInfo, CDATA text', `<GetCallInfo xmlns="${M}"><CallId><![CDATA[abc]]></CallId></GetCallInfo>`, { operation: 'GetCallInfo', namespace: M, arguments: { callId: 'abc' } }],
    ['Disconnect, https alias namespace echoed', `<Disconnect xmlns="${MESSAGES_NS_HTTPS_ALIAS}"><CallId>abc</CallId></Disconnect>`,
      { operation: 'Disconnect', namespace: MESSAGES_NS_HTTPS_ALIAS, arguments: { callId: 'abc' } }],
  ];
  for (const [name, body, request] of accepted) {
    it(name, () => assert.deepEqual(parse(envelope(body), `"${M}/${request.operation}"`), request));
  }

  const rejected: Array<[string, string, RegExp]> = [
    ['a child inside IsUMEnabled', `<IsUMEnabled xmlns="${M}"><x/></IsUMEnabled>`, /<IsUMEnabled> must be empty, but it holds the element <x>/],
    ['text inside GetUMProperties', `<GetUMProperties xmlns="${M}">yes</GetUMProperties>`, /<GetUMProperties> must be empty, but it holds text/],
    ['a missing child', `<SetOofStatus xmlns="${M}"/>`, /^<SetOofStatus> lacks <status>; it takes <status>\.$/],
    ['an extra child', `<SetOofStatus xmlns="${M}"><status>true</status><status>false</status></SetOofStatus>`, /unexpected element <status>/],
    ['a wrong type (xs:boolean)', `<SetOofStatus xmlns="${M}"><status>yes</status></SetOofStatus>`, /^<status> must be true or false \(xs:boolean\), not "yes"\.$/],
    ['an empty boolean', `<SetMissedCallNotificationEnabled xmlns="${M}"><status/></SetMissedCallNotificationEnabled>`, /must be true or false/],
    ['a child in no namespace', `<SetOofStatus xmlns="${M}"><status xmlns="">true</status></SetOofStatus>`, /holds <status> in namespace ""/],
    ['a child in another namespace', `<SetOofStatus xmlns="${M}"><x:status xmlns:x="urn:x">true</x:status></SetOofStatus>`, /holds <status> in namespace "urn:x"/],
    ['the wrong case (DialString in SetPlayOnPhoneDialString)', `<SetPlayOnPhoneDialString xmlns="${M}"><DialString>1</DialString></SetPlayOnPhoneDialString>`, /where <dialString>/],
    ['children out of order', `<PlayOnPhone xmlns="${M}"><DialString>1</DialString><entryId>AA</entryId></PlayOnPhone>`, /where <entryId>/],
    ['an element inside an argument', `<SetOofStatus xmlns="${M}"><status><b>true</b></status></SetOofStatus>`, /<status> holds text only/],
    ['text between arguments', `<GetCallInfo xmlns="${M}">x<CallId>1</CallId></GetCallInfo>`, /must hold elements only/],
    ['a huge string', `<SetPlayOnPhoneDialString xmlns="${M}"><dialString>${'1'.repeat(MAX_ARGUMENT_LENGTH + 1)}</dialString></SetPlayOnPhoneDialString>`, /more than 1024 characters/],
    ['IsUMEnabled in another namespace', `<IsUMEnabled xmlns="urn:x"/>`, /IsUMEnabled must be in namespace/],
  ];
  for (const [name, body, message] of rejected) {
    it(`rejects ${name}`, () => {
      // The operation element itself in a wrong namespace is the envelope's error (as for ResetPIN); anything inside it is ErrorInvalidRequest.
      const expected = name.startsWith('IsUMEnabled') ? SoapSchemaViolation : InvalidRequestValue;
      assert.throws(() => parse(envelope(body)), (error: Error) => error instanceof expected && message.test(error.message), name);
    });
  }

  it('a SOAPAction naming ResetPIN on a SetOofStatus body is refused', () => {
    assert.throws(() => parse(envelope(`<SetOofStatus xmlns="${M}"><status>true</status></SetOofStatus>`), `"${M}/ResetPIN"`),
      (error: Error) => error instanceof InvalidRequest && /operation in the body \(SetOofStatus\)/.test(error.message));
  });
});
