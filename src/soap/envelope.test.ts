import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InvalidRequest, SoapMustUnderstand, SoapSchemaViolation, SoapVersionMismatch } from '../errors.ts';
import { MAX_DEPTH, parseSoapRequest } from './envelope.ts';
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
    it(name, () => assert.deepEqual(parse(xml), { operation: 'ResetPIN', namespace }));
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
    ['an operation this service does not implement', envelope(`<IsUMEnabled xmlns="${MESSAGES_NS}"/>`), InvalidRequest, /IsUMEnabled is not supported/],
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
