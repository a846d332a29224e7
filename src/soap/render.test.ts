import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuthenticationFailed, InternalError, SoapMustUnderstand, SoapVersionMismatch } from '../errors.ts';
import { MESSAGES_NS, MESSAGES_NS_HTTPS_ALIAS } from './namespaces.ts';
import { escapeXml, renderFault, renderResetPinResponse } from './render.ts';

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
