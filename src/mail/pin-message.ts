/**
 * The e-mail that carries a PIN. The PIN is in the body only, never in the
 * subject or a header (mail systems log those). English for now; the
 * languages of issue 5 will choose a template by `mailbox.language`.
 */
import type { MailMessage } from './mail-message.ts';

export type PinMailKind = 'reset' | 'welcome';

export interface PinMailInput {
  readonly kind: PinMailKind;
  readonly pin: string;
  readonly from: string;
  readonly to: string;
  readonly extension: string;
  /** The policy's ResetPINText or UMEnabledText, appended after the default text. */
  readonly policyText: string;
}

const SUBJECTS: Readonly<Record<PinMailKind, string>> = {
  reset: 'Your voice mail PIN has been reset',
  welcome: 'Welcome to voice mail',
};

export function composePinMail(input: PinMailInput): MailMessage {
  const opening =
    input.kind === 'reset'
      ? 'Your voice mail PIN has been reset. Your new PIN is:'
      : `Your mailbox has been enabled for voice mail (extension ${input.extension}). Your PIN is:`;
  const lines = [
    opening,
    '',
    `    ${input.pin}`,
    '',
    'Call your voice mail access number and sign in with this PIN. You will be',
    'asked to choose a new PIN of your own.',
    '',
    'If you did not ask for this, tell your administrator.',
  ];
  if (input.policyText.trim() !== '') lines.push('', stripHtml(input.policyText));
  return {
    from: input.from,
    to: input.to,
    subject: SUBJECTS[input.kind],
    text: `${lines.join('\n')}\n`,
    // RFC 3834: an automatic message, so auto-responders stay quiet.
    headers: { 'Auto-Submitted': 'auto-generated' },
  };
}

/** Policy texts may hold simple HTML (Exchange allows it); a text body shows only their words. */
function stripHtml(text: string): string {
  return text
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}
