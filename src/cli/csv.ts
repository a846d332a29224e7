/**
 * A small CSV reader (RFC 4180, as spreadsheets write it) for the bulk
 * commands: fields separated by commas; a field in double quotes may hold
 * commas, line breaks and doubled quotes (`"say ""hi"""`); lines end in LF,
 * CRLF or CR; a leading UTF-8 byte order mark is dropped. Two additions for
 * files people edit by hand: a line whose first character is `#` is a
 * comment, and a line of nothing but spaces is blank. Both come back as
 * records, so a caller can report every line it read.
 */

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
    if (firstLine.startsWith('#') || /^[ \t]*$/.test(firstLine)) {
      records.push({ line: start, kind: firstLine.startsWith('#') ? 'comment' : 'blank', fields: [] });
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
        if (!isLineEnd(i) && text[i] !== ',') {
          throw new CsvSyntaxError(line, 'text follows a closing quote; quote the whole field and write a quote inside it twice ("").');
        }
        fields.push(value);
      } else {
        let k = i;
        while (!isLineEnd(k) && text[k] !== ',') k += 1;
        fields.push(text.slice(i, k));
        i = k;
      }
      if (text[i] === ',') {
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
