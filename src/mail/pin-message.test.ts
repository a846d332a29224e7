import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composePinMail } from './pin-message.ts';

const base = { pin: '284619', from: 'Voice Mail <vm@example.com>', to: 'alice@example.com', extension: '36697', policyText: '' };

describe('composePinMail', () => {
  it('puts the PIN in the body on a line of its own, never in the subject or headers', () => {
    const mail = composePinMail({ ...base, kind: 'reset' });
    assert.equal(mail.subject, 'Your voice mail PIN has been reset');
    assert.match(mail.text, /^ {4}284619$/m);
    assert.ok(!mail.subject.includes('284619'));
    assert.ok(!JSON.stringify(mail.headers).includes('284619'));
    assert.deepEqual(mail.headers, { 'Auto-Submitted': 'auto-generated' });
    assert.match(mail.text, /choose a new PIN/);
  });

  it('names the extension in the welcome mail', () => {
    const mail = composePinMail({ ...base, kind: 'welcome' });
    assert.equal(mail.subject, 'Welcome to voice mail');
    assert.match(mail.text, /extension 36697/);
  });

  it("appends the policy's text, with simple HTML reduced to its words", () => {
    const mail = composePinMail({ ...base, kind: 'reset', policyText: 'Call <b>+1 555 0100</b>.<br>Help: x&amp;y' });
    assert.match(mail.text, /\n\nCall \+1 555 0100\.\nHelp: x&y\n$/);
  });
});
