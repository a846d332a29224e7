/** What the PIN mail tests of src/mail/ share: one input and the check that the PIN is only where it belongs. */
import assert from 'node:assert/strict';
import type { MailMessage } from '../../src/mail/transport.ts';

export const basePinMail = { pin: '284619', from: 'Voice Mail <vm@example.com>', to: 'alice@example.com', extension: '36697', policyText: '' };

/** The PIN is in both bodies, on its own line in the text, and nowhere in the subject or headers. */
export function assertPinOnlyInBodies(mail: MailMessage, pin = basePinMail.pin): void {
  assert.match(mail.text, new RegExp(`^ {4}${pin}$`, 'm'));
  assert.ok(mail.html?.includes(`>${pin}<`), 'the HTML part shows the PIN in an element of its own');
  assert.ok(!mail.subject.includes(pin));
  assert.ok(!JSON.stringify(mail.headers).includes(pin));
  assert.ok(!`${mail.text}${mail.html}`.includes('{{'), 'no placeholder left unfilled');
}
