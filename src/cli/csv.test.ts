import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvSyntaxError, parseCsv } from './csv.ts';

const data = (line: number, ...fields: string[]) => ({ line, kind: 'data', fields });

describe('parseCsv', () => {
  it('splits fields on commas and records on LF, CRLF or CR, without a record for the final line break', () => {
    assert.deepEqual(parseCsv('a,b\r\nc,d\re,f\n'), [data(1, 'a', 'b'), data(2, 'c', 'd'), data(3, 'e', 'f')]);
    assert.deepEqual(parseCsv('a,,\n'), [data(1, 'a', '', '')]);
    assert.deepEqual(parseCsv(''), []);
  });

  it('unquotes fields with commas, doubled quotes and line breaks, and counts lines inside them', () => {
    assert.deepEqual(parseCsv('"x,""y""",z\n"two\r\nlines",w\nnext\n'), [
      data(1, 'x,"y"', 'z'),
      data(2, 'two\r\nlines', 'w'),
      data(4, 'next'),
    ]);
    assert.deepEqual(parseCsv('"",""""'), [data(1, '', '"')]);
  });

  it('allows spaces around a quoted field, keeps them in an unquoted one, and takes a stray quote literally', () => {
    assert.deepEqual(parseCsv('a, "b" ,c \nx"y,z'), [data(1, 'a', 'b', 'c '), data(2, 'x"y', 'z')]);
  });

  it('drops a byte order mark, and reports blank lines and # comments as their own records', () => {
    assert.deepEqual(parseCsv('\uFEFF# note, with comma\nlogin\n\n  \nalice\n"#not a comment"\n'), [
      { line: 1, kind: 'comment', fields: [] },
      data(2, 'login'),
      { line: 3, kind: 'blank', fields: [] },
      { line: 4, kind: 'blank', fields: [] },
      data(5, 'alice'),
      data(6, '#not a comment'),
    ]);
  });

  it('reads Excel\'s de/fr "CSV" as saved: a BOM, semicolons, CRLF, commas and accents inside fields', () => {
    const excel = '\uFEFFlogin;pin;notify_email\r\nmüller;;"Müller, Jürgen <j.mueller@example.de>"\r\nbéatrice;86420975;\r\n';
    assert.deepEqual(parseCsv(excel), [
      data(1, 'login', 'pin', 'notify_email'),
      data(2, 'müller', '', 'Müller, Jürgen <j.mueller@example.de>'),
      data(3, 'béatrice', '86420975', ''),
    ]);
  });

  it('takes the separator from the header line, after comments, and from Excel\'s sep= line', () => {
    assert.deepEqual(parseCsv('# exported 02.12.2026, 10:00\nlogin;pin\nalice;1,5\n'), [
      { line: 1, kind: 'comment', fields: [] }, data(2, 'login', 'pin'), data(3, 'alice', '1,5'),
    ]);
    assert.deepEqual(parseCsv('sep=;\nlogin\nalice;x\n'), [{ line: 1, kind: 'comment', fields: [] }, data(2, 'login'), data(3, 'alice', 'x')]);
    assert.deepEqual(parseCsv('login,pin\nalice;x,1\n'), [data(1, 'login', 'pin'), data(2, 'alice;x', '1')], 'a comma header keeps semicolons as text');
    assert.deepEqual(parseCsv('login;"a,b";c\n'), [data(1, 'login', 'a,b', 'c')], 'commas inside quotes do not count');
  });

  it('refuses an unclosed quote and text after a closing quote, naming the line', () => {
    assert.throws(() => parseCsv('a\n"b,\nc\n'), (error: unknown) => error instanceof CsvSyntaxError && error.line === 2 && /not closed/.test(error.message));
    assert.throws(() => parseCsv('a\nb,"c"d\n'), (error: unknown) => error instanceof CsvSyntaxError && error.line === 2 && /follows a closing quote/.test(error.message));
    assert.throws(() => parseCsv('a;b\nb;"c",d\n'), (error: unknown) => error instanceof CsvSyntaxError && error.line === 2 && /follows a closing quote/.test(error.message));
  });
});
