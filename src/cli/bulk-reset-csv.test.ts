import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './command.ts';
import { bulkLinesFromCsv, formatBulkResult } from './bulk-reset-csv.ts';

const usageError = (message: string) => (error: unknown) => error instanceof UsageError && error.message === message;

describe('bulkLinesFromCsv', () => {
  it('keys each line after the header by column (names in any case, with spaces or dashes for underscores), comments and blanks kept as such', () => {
    const text = '# resets for sales\nLogin,PIN,Locked-Out,notify email\nalice,,,\n\nbob,86420975,true,helpdesk@example.com\ncarol\n';
    assert.deepEqual(bulkLinesFromCsv(text), [
      { line: 3, kind: 'data', values: { login: 'alice', pin: '', locked_out: '', notify_email: '' } },
      { line: 4, kind: 'blank', values: { login: '', pin: '', locked_out: '', notify_email: '' } },
      { line: 5, kind: 'data', values: { login: 'bob', pin: '86420975', locked_out: 'true', notify_email: 'helpdesk@example.com' } },
      { line: 6, kind: 'data', values: { login: 'carol', pin: '', locked_out: '', notify_email: '' } },
    ]);
  });

  it('marks a line with more fields than the header has columns, and keeps the others', () => {
    assert.deepEqual(bulkLinesFromCsv('login,pin\nalice,1,2\nbob,3\n'), [
      { line: 2, kind: 'data', values: { login: 'alice', pin: '1' }, problem: 'The line has 3 fields but the header names 2 columns; quote a field that holds a comma.' },
      { line: 3, kind: 'data', values: { login: 'bob', pin: '3' } },
    ]);
  });

  it('refuses, as a usage error naming --csv, a file that is not CSV, an unknown or repeated column, and a header without login', () => {
    assert.throws(() => bulkLinesFromCsv('login\n"alice\n'), (error: unknown) => error instanceof UsageError && /^--csv: .*not closed/.test(error.message));
    assert.throws(() => bulkLinesFromCsv('login,colour\n'), usageError('--csv: the header names an unknown column "colour"; the columns are login, pin, expired, locked_out, notify_email.'));
    assert.throws(() => bulkLinesFromCsv('login,Pin,pin\n'), usageError('--csv: the header names the column "pin" twice.'));
    assert.throws(() => bulkLinesFromCsv('pin\n1234\n'), usageError('--csv: the file has no login column; its first line must name the columns, such as: login,pin,expired,locked_out,notify_email'));
    assert.throws(() => bulkLinesFromCsv(''), usageError('--csv: the file has no login column; its first line must name the columns, such as: login,pin,expired,locked_out,notify_email'));
  });
});

describe('formatBulkResult', () => {
  it('one line per result: line number padded to the file, status, login or -, then the reason or where the mail went', () => {
    assert.equal(formatBulkResult({ line: 3, login: 'alice', status: 'reset', mail: { to: 'alice@example.com', queued: false, reply: '250 ok' } }, 2),
      'line 3   reset    alice  mailed to alice@example.com');
    assert.equal(formatBulkResult({ line: 12, login: 'bob', status: 'reset', mail: { to: 'bob@example.com', queued: true, reply: '421 later' } }, 2),
      'line 12  reset    bob  mail to bob@example.com queued (421 later); the PIN takes effect once it is delivered');
    assert.equal(formatBulkResult({ line: 4, login: 'carol', status: 'reset' }), 'line 4  reset    carol  no mail sent');
    assert.equal(formatBulkResult({ line: 5, login: '', status: 'skipped', reason: 'a blank line' }), 'line 5  skipped  -  a blank line');
    assert.equal(formatBulkResult({ line: 6, login: 'dave', status: 'failed', reason: 'There is no mailbox "dave".' }), 'line 6  failed   dave  There is no mailbox "dave".');
    assert.equal(formatBulkResult({ line: 7, login: '', status: 'skipped' }), 'line 7  skipped  -');
  });
});
