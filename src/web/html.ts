/**
 * Escaping by construction: every value put into a page goes through the
 * `html` tag, which escapes it (entities' escapeUTF8: & < > " ') unless it
 * is markup the tag made itself. Attribute values are always written in
 * double quotes, where that escaping is enough. No template engine: the
 * pages are few and small, and a tagged template keeps them type-checked.
 */
import { escapeUTF8 } from 'entities';

export class SafeHtml {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

type Value = SafeHtml | string | number | null | undefined | false | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeUTF8(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}
