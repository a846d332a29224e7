/**
 * The e-mail that carries a PIN, in the mailbox's language, as plain text
 * with an HTML alternative. The PIN is in the bodies only, never in the
 * subject or a header (mail systems log those). The template and its
 * language come from pin-mail-templates.ts, the policy's own text is
 * rendered by policy-text.ts.
 */
import type { MailMessage } from './transport.ts';
import { chooseTemplate, fillPlaceholders, type PinMailKind, type PinMailTemplate } from './pin-mail-templates.ts';
import { escapeHtml, policyToHtml, policyToText } from './policy-text.ts';

export interface PinMailInput {
  readonly kind: PinMailKind;
  readonly pin: string;
  readonly from: string;
  readonly to: string;
  readonly extension: string;
  /** The policy's ResetPINText or UMEnabledText, after the default text; simple HTML allowed. */
  readonly policyText: string;
  /** The mailbox's language, a BCP 47 tag such as `de`, `pt-BR`, `fr-CA`; English when absent. */
  readonly language?: string;
  /** The voice access number to call; the mail names it generically when absent. */
  readonly accessNumber?: string;
  /** A deployer's directory of templates that override the built-in ones file by file. */
  readonly templateDir?: string;
}

const RTL_LANGUAGES = new Set(['ar', 'ckb', 'dv', 'fa', 'he', 'ps', 'sd', 'ug', 'ur', 'yi']);
/** The access-number pattern of UMPIN_VOICE_ACCESS_NUMBER; only such a number becomes a tel: link. */
const PHONE_NUMBER = /^\+?[0-9][0-9 ()./-]{2,30}$/;

export function composePinMail(input: PinMailInput): MailMessage {
  const { language, template } = chooseTemplate(input.kind, input.language, input.templateDir);
  const number = input.accessNumber?.trim() || undefined;

  // eslint-disable-next-line no-control-regex -- a line break in a template's subject must not start a header line
  const subject = template.subject.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const text = fillPlaceholders(template.text, {
    pin: input.pin,
    extension: input.extension,
    accessNumber: accessNumberText(template, number),
    policyText: policyToText(input.policyText),
  });
  const body = fillPlaceholders(template.html, {
    pin: escapeHtml(input.pin),
    extension: escapeHtml(input.extension),
    accessNumber: accessNumberHtml(template, number),
    policyText: policyToHtml(input.policyText),
  });
  const dir = RTL_LANGUAGES.has(language.split('-')[0]!.toLowerCase()) ? ' dir="rtl"' : '';
  const html = [
    '<!DOCTYPE html>',
    `<html lang="${language}"${dir}>`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title>`,
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n');

  return {
    from: input.from,
    to: input.to,
    subject,
    text: tidyText(text),
    html,
    // RFC 3834: an automatic message, so auto-responders stay quiet. RFC 3282: the language of the bodies.
    headers: { 'Auto-Submitted': 'auto-generated', 'Content-Language': language },
  };
}

function accessNumberText(template: PinMailTemplate, number: string | undefined): string {
  if (!template.accessNumber) return number ?? '';
  return number === undefined ? template.accessNumber.unknown : template.accessNumber.known.replace('{{number}}', () => number);
}

function accessNumberHtml(template: PinMailTemplate, number: string | undefined): string {
  if (number === undefined) return escapeHtml(template.accessNumber?.unknown ?? '');
  const shown = escapeHtml(number);
  const link = PHONE_NUMBER.test(number) ? `<a href="tel:${number.replace(/[^0-9+]/g, '')}" style="white-space:nowrap">${shown}</a>` : shown;
  if (!template.accessNumber) return link;
  const [before = '', after = ''] = template.accessNumber.known.split('{{number}}');
  return `${escapeHtml(before)}${link}${escapeHtml(after)}`;
}

/** No trailing blanks, at most one empty line in a row (an empty policy text leaves none), one final newline. */
function tidyText(text: string): string {
  return `${text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').replace(/^\n+|\n+$/g, '')}\n`;
}
