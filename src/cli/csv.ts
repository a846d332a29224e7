/**
 * A small CSV reader (RFC 4180, as spreadsheets write it) for the bulk
 * commands: fields separated by commas, or by semicolons as Excel writes
 * "CSV" in locales whose decimal mark is a comma (de, fr, pt-BR, ru: the
 * languages umpin mails in), told apart on the first line that is not blank
 * or a comment (the header), or named by Excel's own `sep=;` first line; a
 * field in double quotes may hold
 * commas, line breaks and doubled quotes (`"say ""hi"""`); lines end in LF,
 * CRLF or CR; a leading UTF-8 byte order mark is dropped. Two additions for
 * files people edit by hand: a line whose first character is `#` is a
 * comment, and a line of nothing but spaces is blank. Both come back as
 * records, so a caller can report every line it read.
 *
 * Kept hand-written rather than csv-parse: reporting comment and blank lines
 * as records with their line numbers (so every line of a bulk file gets a
 * result) is this reader's job, and csv-parse skips them silently.
 */

export type CsvDelimiter = ',' | ';';

export interface CsvRecord {
  /** The line the record starts on, counting from 1. */
  readonly line: number;
  readonly kind: 'data' | 'blank' | 'comment';
  /** The fields, unquoted; empty for blank and comment lines. */
  readonly fields: readonly string[];
}

/** The file cannot be split into records; nothing in it should be acted on. */
export class CsvSyntaxError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

export function parseCsv(input: string): CsvRecord[] {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  let delimiter = detectDelimiter(text);

  /** Moves past one line ending at `i`, if there is one. */
  const skipLineEnd = (): void => {
    if (text[i] === '\r') i += text[i + 1] === '\n' ? 2 : 1;
    else if (text[i] === '\n') i += 1;
    else return;
    line += 1;
  };
  const isLineEnd = (at: number) => at >= text.length || text[at] === '\n' || text[at] === '\r';

  while (i < text.length) {
    const start = line;
    let end = i;
    while (!isLineEnd(end)) end += 1;
    const firstLine = text.slice(i, end);
    const hint = start === 1 ? /^sep=([,;])$/i.exec(firstLine) : null;
    if (hint) delimiter = hint[1] as CsvDelimiter;
    if (hint || firstLine.startsWith('#') || /^[ \t]*$/.test(firstLine)) {
      records.push({ line: start, kind: hint || firstLine.startsWith('#') ? 'comment' : 'blank', fields: [] });
      i = end;
      skipLineEnd();
      continue;
    }

    const fields: string[] = [];
    for (;;) {
      // Spaces before an opening quote are layout, not content.
      let j = i;
      while (text[j] === ' ' || text[j] === '\t') j += 1;
      if (text[j] === '"') {
        i = j + 1;
        let value = '';
        for (;;) {
          if (i >= text.length) throw new CsvSyntaxError(start, 'a quoted field is not closed; a quote inside a quoted field is written twice ("").');
          const char = text[i] as string;
          if (char === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i += 1;
            break;
          }
          if (char === '\r' || char === '\n') {
            const before = i;
            skipLineEnd();
            value += text.slice(before, i);
            continue;
          }
          value += char;
          i += 1;
        }
        while (text[i] === ' ' || text[i] === '\t') i += 1;
        if (!isLineEnd(i) && text[i] !== delimiter) {
          throw new CsvSyntaxError(line, 'text follows a closing quote; quote the whole field and write a quote inside it twice ("").');
        }
        fields.push(value);
      } else {
        let k = i;
        while (!isLineEnd(k) && text[k] !== delimiter) k += 1;
        fields.push(text.slice(i, k));
        i = k;
      }
      if (text[i] === delimiter) {
        i += 1;
        continue;
      }
      break;
    }
    records.push({ line: start, kind: 'data', fields });
    skipLineEnd();
  }
  return records;
}

/**
 * `;` when the header line (the first that is not blank, a comment or a `sep=` hint) has more
 * semicolons than commas outside quotes, else `,`. Header names never hold either.
 */
function detectDelimiter(text: string): CsvDelimiter {
  const header = text.split(/\r\n|\r|\n/).find((l, index) => !(l.startsWith('#') || /^[ \t]*$/.test(l) || (index === 0 && /^sep=[,;]$/i.test(l)))) ?? '';
  const unquoted = header.replace(/"[^"]*"/g, '');
  const count = (char: string) => unquoted.split(char).length - 1;
  return count(';') > count(',') ? ';' : ',';
}
