import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SoapVersionMismatch, UnsupportedMediaType } from '../errors.ts';
import { checkSoapContentType } from './content-type.ts';

describe('checkSoapContentType', () => {
  it('accepts text/xml with no charset or UTF-8, in any spelling clients use', () => {
    for (const header of ['text/xml', 'text/xml; charset=utf-8', 'text/xml;charset=utf-8', 'text/xml; charset="utf-8"', 'text/xml; charset=UTF-8', 'TEXT/XML ; Charset = "UTF-8"', 'text/xml; action=x; charset=utf-8']) {
      assert.doesNotThrow(() => checkSoapContentType(header), header);
    }
  });

  it('refuses another charset, another type, none, and SOAP 1.2 as a version mismatch', () => {
    for (const header of ['text/xml; charset=iso-8859-1', 'text/xml; charset=utf-16', 'application/xml', 'text/html', '', undefined]) {
      assert.throws(() => checkSoapContentType(header), UnsupportedMediaType, String(header));
    }
    assert.throws(() => checkSoapContentType('application/soap+xml; charset=utf-8'), SoapVersionMismatch);
  });
});
