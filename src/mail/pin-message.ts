/**
 * The e-mail that carries a PIN, in the mailbox's language, as plain text
 * with an HTML alternative. The PIN is in the bodies only, never in the
 * subject or a header (mail systems log those).
 *
 * Templates are JSON files, `<dir>/<language tag>/{reset,welcome}.json`; the
 * built-in ones are in `./templates/` (format: ./templates/README.md). A
 * deployer's `templateDir` with the same layout overrides them file by file.
 *
 * Language choice (RFC 4647 "lookup", plus two defaults), case-insensitive:
 *   1. the tag itself, then the tag with its last subtag removed, and so on
 *      down to the primary subtag (`fr-CA` → `fr`; `zh-Hans-CN` → `zh-Hans`
 *      → `zh`); a prefix that ends in a singleton (`x`, `u`) is skipped;
 *   2. the default region of the primary language: `pt` → `pt-BR`,
 *      `zh` → `zh-CN` (so `pt-PT`, `zh-Hans` and also `zh-TW` get those);
 *   3. `en`.
 *   An absent, empty or malformed tag (not `ll[-xxxx]*`, `_` read as `-`) goes to `en`.
 *   At each step the deployer's file for that language and kind is taken if
 *   it exists and is valid, else the built-in one, else the next step; so a
 *   deployer may also add languages (`it/reset.json`). Content-Language and
 *   `<html lang>` name the template's language, not the requested tag.
 *
 * Override rules, decided so that a deployer's mistake can never stop a PIN
 * mail nor leak a PIN into a header:
 *   - a missing override file is normal: the built-in file is used;
 *   - an override that cannot be read, is not JSON, or breaks a rule below is
 *     ignored with one process warning (code UMPIN_MAIL_TEMPLATE) naming the
 *     file and the reason, and the built-in file of the same language is used;
 *   - rules: `subject` a non-empty string with no placeholder at all (so no
 *     `{{pin}}`, structurally); `text` and `html` strings or arrays of lines,
 *     each containing `{{pin}}`, with no placeholders other than `{{pin}}`,
 *     `{{extension}}`, `{{accessNumber}}`, `{{policyText}}` (`{{ pin }}` or a
 *     typo is an error, not literal text); when a body uses `{{accessNumber}}`,
 *     `accessNumber.known` (with `{{number}}`) and `accessNumber.unknown`.
 *   - files are read once per process and cached, valid or not: a changed
 *     template takes effect at the next start.
 * Only a broken built-in English template (a damaged installation) throws.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeHTMLAttribute, decodeHTMLStrict } from 'entities';
import type { MailMessage } from './mail-message.ts';

export type PinMailKind = 'reset' | 'welcome';

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

export const BUILT_IN_TEMPLATE_DIR = fileURLToPath(new URL('./templates/', import.meta.url));
const FALLBACK_LANGUAGE = 'en';
/** Where a primary language has no template of its own, its region that has one. */
const PRIMARY_DEFAULTS: Readonly<Record<string, string>> = { pt: 'pt-BR', zh: 'zh-CN' };
const LANGUAGE_TAG = /^[a-z]{2,8}(?:-[a-z0-9]{1,8})*$/i;
const RTL_LANGUAGES = new Set(['ar', 'ckb', 'dv', 'fa', 'he', 'ps', 'sd', 'ug', 'ur', 'yi']);
/** The access-number pattern of UMPIN_VOICE_ACCESS_NUMBER; only such a number becomes a tel: link. */
const PHONE_NUMBER = /^\+?[0-9][0-9 ()./-]{2,30}$/;

export function composePinMail(input: PinMailInput): MailMessage {
  const { language, template } = chooseTemplate(input.kind, input.language, input.templateDir);
  const number = input.accessNumber?.trim() || undefined;

  // eslint-disable-next-line no-control-regex -- a line break in a template's subject must not start a header line
  const subject = template.subject.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const text = fill(template.text, {
    pin: input.pin,
    extension: input.extension,
    accessNumber: accessNumberText(template, number),
    policyText: policyToText(input.policyText),
  });
  const body = fill(template.html, {
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

// ---------------------------------------------------------------- templates

interface PinMailTemplate {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly accessNumber?: { readonly known: string; readonly unknown: string };
}

const BODY_PLACEHOLDERS = new Set(['pin', 'extension', 'accessNumber', 'policyText']);
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

/** Parsed template files by absolute path; null for a missing or invalid file. */
const templateCache = new Map<string, PinMailTemplate | null>();
/** Template roots: lower-case language tag → directory name as spelled on disk. */
const languageCache = new Map<string, ReadonlyMap<string, string>>();

function chooseTemplate(kind: PinMailKind, requested: string | undefined, templateDir: string | undefined): { language: string; template: PinMailTemplate } {
  const overrideRoot = templateDir === undefined || templateDir === '' ? undefined : resolve(templateDir);
  const roots = overrideRoot === undefined ? [BUILT_IN_TEMPLATE_DIR] : [overrideRoot, BUILT_IN_TEMPLATE_DIR];
  for (const tag of candidateLanguages(requested)) {
    for (const root of roots) {
      const directory = languagesIn(root).get(tag);
      if (directory === undefined) continue;
      const template = loadTemplate(join(root, directory, `${kind}.json`), root === BUILT_IN_TEMPLATE_DIR);
      if (template) return { language: canonicalTag(directory), template };
    }
  }
  throw new Error(`the built-in PIN mail template ${join(BUILT_IN_TEMPLATE_DIR, FALLBACK_LANGUAGE, `${kind}.json`)} is missing or invalid`);
}

/** The lower-case tags to try, best first (see the module comment). */
export function candidateLanguages(requested: string | undefined): string[] {
  const candidates: string[] = [];
  const tag = (requested ?? '').trim().replace(/_/g, '-').toLowerCase();
  if (tag.length <= 64 && LANGUAGE_TAG.test(tag)) {
    const subtags = tag.split('-');
    for (let count = subtags.length; count >= 1; count -= 1) {
      if (subtags[count - 1]!.length === 1) continue;
      candidates.push(subtags.slice(0, count).join('-'));
    }
    const regional = PRIMARY_DEFAULTS[subtags[0]!];
    if (regional !== undefined) candidates.push(regional.toLowerCase());
  }
  candidates.push(FALLBACK_LANGUAGE);
  return [...new Set(candidates)];
}

function languagesIn(root: string): ReadonlyMap<string, string> {
  let languages = languageCache.get(root);
  if (languages) return languages;
  const found = new Map<string, string>();
  try {
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if ((entry.isDirectory() || entry.isSymbolicLink()) && LANGUAGE_TAG.test(entry.name)) found.set(entry.name.toLowerCase(), entry.name);
    }
  } catch (error) {
    warn(`the PIN mail template directory ${root} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); using the built-in templates`);
  }
  languages = found;
  languageCache.set(root, languages);
  return languages;
}

function loadTemplate(path: string, builtIn: boolean): PinMailTemplate | null {
  const cached = templateCache.get(path);
  if (cached !== undefined) return cached;
  let template: PinMailTemplate | null = null;
  let source: string | undefined;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A language directory with only some of the files is a normal override.
    if (builtIn || code !== 'ENOENT') warn(`the PIN mail template ${path} cannot be read (${code ?? String(error)})${builtIn ? '' : '; using the built-in one'}`);
  }
  if (source !== undefined) {
    const parsed = parseTemplate(source);
    if (typeof parsed === 'string') warn(`the PIN mail template ${path} is ignored: ${parsed}${builtIn ? '' : '; using the built-in one'}`);
    else template = parsed;
  }
  templateCache.set(path, template);
  return template;
}

/** The template, or why it is unusable. */
export function parseTemplate(source: string): PinMailTemplate | string {
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (!isRecord(raw)) return 'not a JSON object';

  const { subject } = raw;
  if (typeof subject !== 'string' || subject.trim() === '') return '"subject" must be a non-empty string';
  if (placeholdersIn(subject).length > 0) return '"subject" must hold no placeholder (the PIN never goes in a header)';

  const bodies: Record<'text' | 'html', string> = { text: '', html: '' };
  for (const part of ['text', 'html'] as const) {
    const value = raw[part];
    const joined = typeof value === 'string' ? value : Array.isArray(value) && value.every((line) => typeof line === 'string') ? value.join('\n') : undefined;
    if (joined === undefined) return `"${part}" must be a string or an array of strings`;
    const names = placeholdersIn(joined);
    const unknown = names.find((name) => !BODY_PLACEHOLDERS.has(name));
    if (unknown !== undefined) return `"${part}" holds the unknown placeholder {{${unknown}}}`;
    if (!names.includes('pin')) return `"${part}" must contain {{pin}}`;
    bodies[part] = joined;
  }

  const usesNumber = [bodies.text, bodies.html].some((body) => placeholdersIn(body).includes('accessNumber'));
  let accessNumber: PinMailTemplate['accessNumber'];
  if (raw.accessNumber !== undefined || usesNumber) {
    const phrases = raw.accessNumber;
    if (!isRecord(phrases) || typeof phrases.known !== 'string' || typeof phrases.unknown !== 'string') {
      return '"accessNumber" must be an object with the strings "known" and "unknown"';
    }
    const known = placeholdersIn(phrases.known);
    if (known.length !== 1 || known[0] !== 'number') return '"accessNumber.known" must contain {{number}} once and no other placeholder';
    if (placeholdersIn(phrases.unknown).length > 0) return '"accessNumber.unknown" must hold no placeholder';
    accessNumber = { known: phrases.known, unknown: phrases.unknown };
  }
  return { subject, text: bodies.text, html: bodies.html, ...(accessNumber ? { accessNumber } : {}) };
}

function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/** One pass, so a value that itself holds `{{pin}}` (a policy text, say) is not expanded. */
function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
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

/** Canonical case for display: `pt-br` → `pt-BR`, `zh-hans` → `zh-Hans`. */
function canonicalTag(tag: string): string {
  return tag.split('-').map((subtag, index) => {
    if (index === 0) return subtag.toLowerCase();
    if (subtag.length === 2 || /^\d{3}$/.test(subtag)) return subtag.toUpperCase();
    if (subtag.length === 4) return subtag[0]!.toUpperCase() + subtag.slice(1).toLowerCase();
    return subtag.toLowerCase();
  }).join('-');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function warn(message: string): void {
  process.emitWarning(message, { code: 'UMPIN_MAIL_TEMPLATE' });
}

// ------------------------------------------------------------ policy texts

/*
 * ResetPINText and UMEnabledText may hold simple HTML (Exchange allows it).
 * Both renderings read the same tokens: the text part keeps only the words
 * (line breaks for <br>, <p> and <li>, a link's address after its words);
 * the HTML part keeps b, i, strong, em, br, p, ul, ol, li without attributes
 * and a with an absolute http, https or mailto href only. Other tags are
 * dropped with their words kept (script and style lose their content too),
 * comments are dropped, every other `<` or `&` becomes text, and open tags
 * are closed at the end so nothing leaks into the rest of the mail.
 */

type Token =
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'open'; readonly name: string; readonly attributes: string }
  | { readonly kind: 'close'; readonly name: string };

const ALLOWED_TAGS = new Set(['a', 'b', 'br', 'em', 'i', 'li', 'ol', 'p', 'strong', 'ul']);
const RAW_TEXT_TAGS = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'noscript', 'iframe', 'noembed', 'noframes']);
const LINK_SCHEMES = new Set(['http:', 'https:', 'mailto:']);
const MARKUP = /<!--[\s\S]*?(?:-->|$)|<[!?][^>]*>|<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;

function tokenize(html: string): Token[] {
  const tokens: Token[] = [];
  const pushText = (raw: string) => {
    if (raw !== '') tokens.push({ kind: 'text', value: decodeHTMLStrict(raw) });
  };
  const markup = new RegExp(MARKUP.source, 'g');
  let last = 0;
  for (let match = markup.exec(html); match; match = markup.exec(html)) {
    pushText(html.slice(last, match.index));
    last = markup.lastIndex;
    const [, slash, rawName, attributes = ''] = match;
    if (rawName === undefined) continue; // a comment, doctype or processing instruction
    const name = rawName.toLowerCase();
    if (slash) {
      tokens.push({ kind: 'close', name });
    } else if (RAW_TEXT_TAGS.has(name)) {
      const end = new RegExp(`</${name}\\s*>`, 'ig');
      end.lastIndex = last;
      last = end.exec(html) ? end.lastIndex : html.length;
      markup.lastIndex = last;
    } else {
      tokens.push({ kind: 'open', name, attributes });
    }
  }
  pushText(html.slice(last));
  return tokens;
}

/** The policy text's words for the text part. */
export function policyToText(policy: string): string {
  const out: string[] = [];
  const links: { start: number; href: string }[] = [];
  let inLink = 0;
  let lineStart = false; // after a break a tag made: the source's indentation there is markup layout
  for (const token of tokenize(policy)) {
    if (token.kind === 'text') {
      const value = lineStart ? token.value.replace(/^[ \t]+/, '') : token.value;
      out.push(value);
      if (value !== '') lineStart = false;
      continue;
    }
    const before = out.length;
    if (token.kind === 'open') {
      if (token.name === 'br') out.push('\n');
      else if (token.name === 'p' || token.name === 'div') out.push('\n\n');
      else if (token.name === 'ul' || token.name === 'ol') out.push('\n');
      else if (token.name === 'li') out.push('\n- ');
      else if (token.name === 'a') {
        inLink += 1;
        const href = safeHref(token.attributes);
        if (href !== undefined && inLink === 1) links.push({ start: out.length, href });
      }
    } else if (token.name === 'p' || token.name === 'div' || token.name === 'ul' || token.name === 'ol') {
      out.push('\n\n');
    } else if (token.name === 'a' && inLink > 0) {
      inLink -= 1;
      const link = inLink === 0 ? links.pop() : undefined;
      if (link) {
        const words = out.slice(link.start).join('').trim();
        const shown = link.href.startsWith('mailto:') ? decodeURIComponentSafe(link.href.slice('mailto:'.length)) : link.href;
        if (words !== shown && words !== link.href) out.push(` <${shown}>`);
      }
    }
    if (out.length > before && out.at(-1)!.startsWith('\n')) lineStart = true;
  }
  return out.join('')
    .replace(/\u00a0/g, ' ')
    .replace(/(\S)[ \t]{2,}/g, '$1 ') // where a dropped tag stood between two spaces
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}

/** The policy text as HTML reduced to the allowlist. */
export function policyToHtml(policy: string): string {
  const out: string[] = [];
  const open: string[] = [];
  for (const token of tokenize(policy)) {
    if (token.kind === 'text') {
      out.push(escapeHtml(token.value));
    } else if (token.kind === 'open') {
      if (!ALLOWED_TAGS.has(token.name)) continue;
      if (token.name === 'br') {
        out.push('<br>');
      } else if (token.name === 'a') {
        const href = safeHref(token.attributes);
        if (href === undefined || open.includes('a')) continue; // its words stay, as text
        out.push(`<a href="${escapeHtml(href)}">`);
        open.push('a');
      } else {
        out.push(`<${token.name}>`);
        open.push(token.name);
      }
    } else {
      const at = open.lastIndexOf(token.name);
      if (at < 0) continue;
      while (open.length > at) out.push(`</${open.pop()}>`);
    }
  }
  while (open.length > 0) out.push(`</${open.pop()}>`);
  return out.join('');
}

const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** The absolute http, https or mailto address of an `<a>`'s href, as the WHATWG URL parser (and so a browser) reads it. */
function safeHref(attributes: string): string | undefined {
  for (const [, name, double, single, bare] of attributes.matchAll(ATTRIBUTE)) {
    if (name!.toLowerCase() !== 'href') continue;
    const value = decodeHTMLAttribute(double ?? single ?? bare ?? '');
    try {
      const url = new URL(value);
      return LINK_SCHEMES.has(url.protocol) ? url.href : undefined;
    } catch {
      return undefined; // relative, or not a URL: nothing to resolve it against in a mail
    }
  }
  return undefined;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}
