import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVICE_PAGE_CONTENT_TYPE, renderServicePage } from './service-page.ts';

describe('renderServicePage', () => {
  it('names the service and links the description of the path asked for', () => {
    assert.equal(SERVICE_PAGE_CONTENT_TYPE, 'text/html; charset=utf-8');
    assert.equal(renderServicePage('/UnifiedMessaging/Service.asmx'),
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>umpin voice mail service</title></head>' +
      '<body><h1>umpin</h1><p>This is the Exchange Unified Messaging voice mail settings web service ([MS-OXWUMS]). ' +
      'It answers SOAP 1.1 requests for its eleven operations, ResetPIN among them. The service description is at ' +
      '<a href="/UnifiedMessaging/Service.asmx?wsdl">/UnifiedMessaging/Service.asmx?wsdl</a>.</p></body></html>\n');
  });

  it('escapes the path, which comes from the request line', () => {
    const page = renderServicePage('/EWS/UM2007Legacy.asmx"><script>alert(1)</script>&');
    assert.ok(page.includes('<a href="/EWS/UM2007Legacy.asmx&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;?wsdl">'), page);
    assert.doesNotMatch(page, /<script>/);
  });
});
