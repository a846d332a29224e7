/**
 * The templates of the PIN mails, and which one a mailbox's language gets.
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

export type PinMailKind = 'reset' | 'welcome';

export const BUILT_IN_TEMPLATE_DIR = fileURLToPath(new URL('./templates/', import.meta.url));
const FALLBACK_LANGUAGE = 'en';
/** Where a primary language has no template of its own, its region that has one. */
const PRIMARY_DEFAULTS: Readonly<Record<string, string>> = { pt: 'pt-BR', zh: 'zh-CN' };
const LANGUAGE_TAG = /^[a-z]{2,8}(?:-[a-z0-9]{1,8})*$/i;

export interface PinMailTemplate {
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

export function chooseTemplate(kind: PinMailKind, requested: string | undefined, templateDir: string | undefined): { language: string; template: PinMailTemplate } {
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
export function fillPlaceholders(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
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
