import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuthenticationFailed, InternalError, InvalidCallId, SoapMustUnderstand, SoapVersionMismatch, TelephonyNotConfigured } from '../errors.ts';
import { MESSAGES_NS, MESSAGES_NS_HTTPS_ALIAS } from './namespaces.ts';
import {
  escapeXml, renderCallIdResponse, renderCallInfoResponse, renderEmptyResponse, renderFault, renderIsUmEnabledResponse, renderResetPinResponse, renderUmPropertiesResponse,
} from './render.ts';

/** Whitespace between tags and before `?>` / `/>` is insignificant (DESIGN §1.3); remove it on both sides. */
const normalise = (xml: string) => xml.replace(/\s*\?>/, '?>').replace(/>\s+</g, '><').replace(/"\s*\/>/g, '"/>').trim();
const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');

describe('renderResetPinResponse', () => {
  it('is the reference response, but for whitespace', () => {
    assert.equal(normalise(renderResetPinResponse(MESSAGES_NS)), normalise(fixture('resetpin-response.xml')));
  });
  it('echoes the https alias', () => {
    assert.equal(normalise(renderResetPinResponse(MESSAGES_NS_HTTPS_ALIAS)), normalise(fixture('resetpin-response-https-variant.xml')));
  });
});

describe('renderFault', () => {
  it('carries faultcode, faultstring and the EWS response code in detail', () => {
    const xml = renderFault(new AuthenticationFailed('umpin'));
    assert.match(xml, /<soap:Fault><faultcode>soap:Client<\/faultcode><faultstring xml:lang="en">The user name or password is incorrect; sign in with your mailbox credentials\.<\/faultstring>/);
    assert.match(xml, /<detail><e:ResponseCode xmlns:e="http:\/\/schemas\.microsoft\.com\/exchange\/services\/2006\/errors">ErrorAccessDenied<\/e:ResponseCode><e:Message xmlns:e="[^"]+">The user name or password is incorrect; sign in with your mailbox credentials\.<\/e:Message><\/detail>/);
  });

  it('gives VersionMismatch and MustUnderstand no detail (SOAP 1.1 §4.4)', () => {
    for (const error of [new SoapVersionMismatch(), new SoapMustUnderstand('{urn:x}Tx')]) {
      const xml = renderFault(error);
      assert.match(xml, new RegExp(`<faultcode>soap:${error.faultCode}</faultcode>`));
      assert.doesNotMatch(xml, /<detail>/);
    }
  });

  it('escapes what it echoes', () => {
    const xml = renderFault(new SoapMustUnderstand('<evil attr="&">'));
    assert.match(xml, /&lt;evil attr=&quot;&amp;&quot;&gt;/);
  });

  it('never shows the cause of an internal error', () => {
    const xml = renderFault(new InternalError({ cause: new Error('SQLITE_CORRUPT at /var/lib/umpin/umpin.sqlite') }));
    assert.doesNotMatch(xml, /SQLITE|\/var\/lib/);
    assert.match(xml, /<faultcode>soap:Server<\/faultcode>.*ErrorInternalServerError/);
  });

  it('replaces characters XML cannot carry', () => {
    assert.equal(escapeXml('a\u0000b\u0007c'), 'a\uFFFDb\uFFFDc');
  });
});

/** The REF examples' envelope, as ms-oxwums-examples.md copies them, whitespace aside. */
const REF_OPEN = '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>';
const REF_CLOSE = '</soap:Body></soap:Envelope>';

describe('the other operations answer in the REF examples\' shapes', () => {
  it('an empty response per void operation, echoing the namespace', () => {
    assert.equal(normalise(renderEmptyResponse('SetOofStatus', MESSAGES_NS)), `${REF_OPEN}<SetOofStatusResponse xmlns="${MESSAGES_NS}"/>${REF_CLOSE}`);
    assert.equal(normalise(renderEmptyResponse('Disconnect', MESSAGES_NS_HTTPS_ALIAS)), `${REF_OPEN}<DisconnectResponse xmlns="${MESSAGES_NS_HTTPS_ALIAS}"/>${REF_CLOSE}`);
    assert.equal(renderEmptyResponse('ResetPIN', MESSAGES_NS), renderResetPinResponse(MESSAGES_NS));
  });

  it('IsUMEnabled: the value in an inner IsUMEnabledResponse', () => {
    assert.equal(normalise(renderIsUmEnabledResponse(false, MESSAGES_NS)),
      `${REF_OPEN}<IsUMEnabledResponse xmlns="${MESSAGES_NS}"><IsUMEnabledResponse>false</IsUMEnabledResponse></IsUMEnabledResponse>${REF_CLOSE}`);
  });

  it('GetUMProperties: the REF example, byte for byte but whitespace', () => {
    const xml = renderUmPropertiesResponse({
      oofStatus: false, missedCallNotificationEnabled: true, playOnPhoneDialString: '12345', telephoneAccessNumbers: '54321',
      telephoneAccessFolderEmail: 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==',
    }, MESSAGES_NS);
    assert.equal(normalise(xml), `${REF_OPEN}<GetUMPropertiesResponse xmlns="${MESSAGES_NS}"><GetUMPropertiesResponse><OofStatus>false</OofStatus>` +
      '<MissedCallNotificationEnabled>true</MissedCallNotificationEnabled><PlayOnPhoneDialString>12345</PlayOnPhoneDialString>' +
      '<TelephoneAccessNumbers>54321</TelephoneAccessNumbers><TelephoneAccessFolderEmail>AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==</TelephoneAccessFolderEmail>' +
      `</GetUMPropertiesResponse></GetUMPropertiesResponse>${REF_CLOSE}`);
  });

  it('GetUMProperties: unset strings are empty elements, never left out, and text is escaped', () => {
    const xml = renderUmPropertiesResponse({ oofStatus: true, missedCallNotificationEnabled: false, playOnPhoneDialString: '', telephoneAccessNumbers: '<1>&', telephoneAccessFolderEmail: '' }, MESSAGES_NS);
    assert.match(xml, /<PlayOnPhoneDialString><\/PlayOnPhoneDialString><TelephoneAccessNumbers>&lt;1&gt;&amp;<\/TelephoneAccessNumbers><TelephoneAccessFolderEmail><\/TelephoneAccessFolderEmail>/);
  });

  it('PlayOnPhone and GetCallInfo, for a dialer', () => {
    assert.match(renderCallIdResponse('PlayOnPhoneGreeting', 'id&1', MESSAGES_NS), /<PlayOnPhoneGreetingResponse xmlns="[^"]+"><PlayOnPhoneGreetingResponse>id&amp;1<\/PlayOnPhoneGreetingResponse><\/PlayOnPhoneGreetingResponse>/);
    assert.match(renderCallInfoResponse({ callState: 'Connected', eventCause: 'None' }, MESSAGES_NS), /<GetCallInfoResponse><CallState>Connected<\/CallState><EventCause>None<\/EventCause><\/GetCallInfoResponse>/);
  });
});

describe('renderFault for the spec\'s exceptions ([MS-OXWUMS] 2.2.3.1, 4.15)', () => {
  it('InvalidCallIdException: in the faultcode (prefix bound) and in detail/ExceptionType, then the EWS code', () => {
    const xml = renderFault(new InvalidCallId());
    assert.equal(normalise(xml), `${REF_OPEN}<soap:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:InvalidCallIdException</faultcode>` +
      '<faultstring xml:lang="en">The call identifier is not valid: this server issued no such call to you, or the call has ended.</faultstring>' +
      `<detail><ExceptionType xmlns="${MESSAGES_NS}">InvalidCallIdException</ExceptionType>` +
      '<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorInvalidPhoneCallId</e:ResponseCode>' +
      '<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The call identifier is not valid: this server issued no such call to you, or the call has ended.</e:Message>' +
      `</detail></soap:Fault>${REF_CLOSE}`);
  });

  it('no telephony back end: a plain soap:Server fault, no ExceptionType (it blames no input)', () => {
    const xml = renderFault(new TelephonyNotConfigured());
    assert.match(xml, /<faultcode>soap:Server<\/faultcode>/);
    assert.match(xml, /no telephony back end is configured/);
    assert.doesNotMatch(xml, /ExceptionType/);
    assert.match(xml, />ErrorUnifiedMessagingRequestFailed</);
  });
});
