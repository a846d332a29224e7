import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { html } from './html.ts';

describe('html', () => {
  it('escapes every interpolated value, in text and in quoted attributes', () => {
    const hostile = `<script>alert("x")</script>' onmouseover='x`;
    assert.equal(String(html`<p title="${hostile}">${hostile}</p>`),
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&apos; onmouseover=&apos;x">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&apos; onmouseover=&apos;x</p>');
  });

  it('keeps markup the tag made, joins lists and drops empty values', () => {
    const items = ['a&b', 'c'].map((item) => html`<li>${item}</li>`);
    assert.equal(String(html`<ul>${items}</ul>${false}${undefined}${null}${0}`), '<ul><li>a&amp;b</li><li>c</li></ul>0');
  });
});
