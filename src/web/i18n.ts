/**
 * The page's languages: the six of the PIN mails (src/mail/templates/),
 * chosen from Accept-Language (negotiator, the Accept-* parser Express and
 * Fastify's own plugins use) or from the switch on the page. Catalogues are
 * flat JSON files, one per language, with `{name}` placeholders; English is
 * the reference and a unit test keeps every other catalogue's keys and
 * placeholders equal to it.
 */
import Negotiator from 'negotiator';
import de from './i18n/de.json' with { type: 'json' };
import en from './i18n/en.json' with { type: 'json' };
import fr from './i18n/fr.json' with { type: 'json' };
import ptBR from './i18n/pt-BR.json' with { type: 'json' };
import ru from './i18n/ru.json' with { type: 'json' };
import zhCN from './i18n/zh-CN.json' with { type: 'json' };

export const LANGUAGES = ['en', 'de', 'fr', 'pt-BR', 'ru', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

/** Each language named in itself, for the switch. */
export const LANGUAGE_NAMES: Readonly<Record<Language, string>> = Object.freeze({
  en: 'English', de: 'Deutsch', fr: 'Français', 'pt-BR': 'Português (Brasil)', ru: 'Русский', 'zh-CN': '简体中文',
});

export type MessageKey = keyof typeof en;
export type Catalogue = Readonly<Record<string, string>>;

export const CATALOGUES: Readonly<Record<Language, Catalogue>> = Object.freeze({ en, de, fr, 'pt-BR': ptBR, ru, 'zh-CN': zhCN });

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * The client's most preferred language we have. A tag we lack falls back to
 * one of ours with the same primary subtag (pt-PT → pt-BR, zh → zh-CN, de-AT → de),
 * which negotiator alone would not do for a region we do not list.
 */
export function negotiateLanguage(acceptLanguage: string | undefined): Language {
  if (acceptLanguage === undefined || acceptLanguage.length > 1024) return DEFAULT_LANGUAGE;
  const wanted = new Negotiator({ headers: { 'accept-language': acceptLanguage } }).languages();
  for (const tag of wanted) {
    const lower = tag.toLowerCase();
    const exact = LANGUAGES.find((language) => language.toLowerCase() === lower);
    if (exact) return exact;
    const primary = lower.split('-')[0];
    const near = LANGUAGES.find((language) => language.toLowerCase().split('-')[0] === primary);
    if (near) return near;
  }
  return DEFAULT_LANGUAGE;
}

export type Translate = (key: MessageKey, values?: Readonly<Record<string, string | number>>) => string;

/** `{name}` placeholders are filled from `values`; the result is text, escaped where it is put into a page. */
export function translator(language: Language): Translate {
  const catalogue = CATALOGUES[language];
  return (key, values) => {
    const template = catalogue[key] ?? en[key];
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (values && name in values ? String(values[name]) : whole));
  };
}

/** A date and time in the language's own form, in the server's time zone, which is named. */
export function formatDate(language: Language, date: Date): string {
  return new Intl.DateTimeFormat(language, { dateStyle: 'long', timeStyle: 'short' }).format(date);
}
