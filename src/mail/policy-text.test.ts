import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertPinOnlyInBodies, basePinMail as base } from '../../test/support/pin-mail.ts';
import { composePinMail } from './compose-pin-mail.ts';
import { policyToHtml, policyToText } from './policy-text.ts';

describe('entities in a policy text', () => {
  it('leaves what is not an entity as text: unknown names, a missing semicolon, a bare &', () => {
    const written = 'R&D &notanentity; AT&T &eacute caf&eacute;';
    assert.equal(policyToText(written), 'R&D &notanentity; AT&T &eacute café');
    assert.equal(policyToHtml(written), 'R&amp;D &amp;notanentity; AT&amp;T &amp;eacute café');
  });
});

describe("the policy's text", () => {
  const hostile = [
    '<b>Bold</b> <i>it</i>',
    '<script>alert("s")</script>',
    '<a href="javascript:alert(1)">js</a>',
    '<a href="JaVa&#x09;ScRiPt:alert(2)">js2</a>',
    '<img src=x onerror="alert(3)">',
    '<a href="https://help.example.com/pin?a=1&amp;b=2" onclick="alert(4)" target="_blank">help</a>',
    '<p style="color:red" onmouseover="alert(5)">para</p>',
    '<ul><li>one<li>two</ul>',
    '<a href="mailto:help@example.com">help@example.com</a>',
    '<iframe src="https://evil.example"></iframe><style>body{display:none}</style><!-- note -->',
    '1 < 2 & <b>unclosed',
  ].join(' ');

  it('keeps only allowlisted tags, safe links and escaped words in the HTML part', () => {
    const html = policyToHtml(hostile);
    assert.equal(html, [
      '<b>Bold</b> <i>it</i>',
      '',
      'js',
      'js2',
      '',
      '<a href="https://help.example.com/pin?a=1&amp;b=2">help</a>',
      '<p>para</p>',
      '<ul><li>one<li>two</li></li></ul>',
      '<a href="mailto:help@example.com">help@example.com</a>',
      '',
      '1 &lt; 2 &amp; <b>unclosed</b>',
    ].join(' '));
    for (const bad of ['script', 'javascript', 'alert', 'onerror', 'onclick', '<img', 'style=', 'iframe', 'target', 'note']) {
      assert.ok(!html.toLowerCase().includes(bad.toLowerCase()), bad);
    }
  });

  it('keeps the words in the text part, with the address of a link', () => {
    const text = policyToText(hostile);
    assert.doesNotMatch(text, /<(?!https:)\w|alert|onerror|display:none/);
    assert.match(text, /^Bold it js js2 help <https:\/\/help\.example\.com\/pin\?a=1&b=2>/);
    assert.match(text, /\n\npara\n\n/);
    assert.match(text, /\n- one\n- two\n/);
    assert.match(text, /\n\nhelp@example\.com 1 < 2 & unclosed$/);
  });

  it('is sanitised inside the composed mail, in both parts', () => {
    const mail = composePinMail({ ...base, kind: 'welcome', language: 'fr', policyText: hostile });
    assert.ok(mail.html?.includes('<div><b>Bold</b> <i>it</i>'));
    assert.doesNotMatch(mail.html ?? '', /javascript|onerror|<script|<img/i);
    assert.doesNotMatch(mail.text, /<b>|<script|alert/);
    assertPinOnlyInBodies(mail);
  });

});
