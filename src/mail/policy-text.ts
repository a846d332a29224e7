/**
 * A policy's ResetPINText or UMEnabledText, for the two parts of a PIN mail.
 *
 * ResetPINText and UMEnabledText may hold simple HTML (Exchange allows it).
 * Both renderings read the same tokens: the text part keeps only the words
 * (line breaks for <br>, <p> and <li>, a link's address after its words);
 * the HTML part keeps b, i, strong, em, br, p, ul, ol, li without attributes
 * and a with an absolute http, https or mailto href only. Other tags are
 * dropped with their words kept (script and style lose their content too),
 * comments are dropped, every other `<` or `&` becomes text, and open tags
 * are closed at the end so nothing leaks into the rest of the mail.
 *
 * The HTML is rebuilt from escaped text and fixed tags (the allowlist
 * serializer), so it is safe by construction; the `entities` package decodes
 * every named reference the HTML standard knows (`&eacute;` and the rest).
 */
import { decodeHTMLAttribute, decodeHTMLStrict } from 'entities';

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

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}
