/**
 * `umpin pin reset --csv`: a CSV file as the lines of a bulk reset, and each
 * line's result as the command prints it. The reset itself is
 * operations/bulk-reset.ts; this is only the file format on either side.
 */
import { BULK_RESET_COLUMNS, type BulkResetColumn, type BulkResetLine, type BulkResetResult } from '../operations/bulk-reset.ts';
import { UsageError } from './command.ts';
import { CsvSyntaxError, parseCsv } from './csv.ts';

/** The CSV's lines after its header, keyed by column; refuses a file that cannot be read as the columns we know. */
export function bulkLinesFromCsv(text: string): BulkResetLine[] {
  let records;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new UsageError(`--csv: ${error.message}`);
    throw error;
  }
  const headerIndex = records.findIndex((r) => r.kind === 'data');
  const header = records[headerIndex];
  const known: readonly string[] = BULK_RESET_COLUMNS;
  const columns = (header?.fields ?? []).map((f) => f.trim().toLowerCase().replace(/[ -]/g, '_'));
  for (const [i, column] of columns.entries()) {
    if (!known.includes(column)) throw new UsageError(`--csv: the header names an unknown column "${header?.fields[i] ?? ''}"; the columns are ${known.join(', ')}.`);
    if (columns.indexOf(column) !== i) throw new UsageError(`--csv: the header names the column "${column}" twice.`);
  }
  if (!columns.includes('login')) {
    throw new UsageError(`--csv: the file has no login column; its first line must name the columns, such as: ${known.join(',')}`);
  }
  return records.slice(headerIndex + 1).map((record) => {
    const values: Partial<Record<BulkResetColumn, string>> = {};
    columns.forEach((column, i) => { values[column as BulkResetColumn] = record.fields[i] ?? ''; });
    const problem = record.fields.length > columns.length
      ? `The line has ${record.fields.length} fields but the header names ${columns.length} columns; quote a field that holds a comma.`
      : undefined;
    return { line: record.line, kind: record.kind, values, ...(problem === undefined ? {} : { problem }) };
  });
}

/** `line 12  failed   bob  <reason>`; `lineWidth` lines up the line numbers of one file. */
export function formatBulkResult(result: BulkResetResult, lineWidth = 0): string {
  const mail = result.mail && (result.mail.queued
    ? `mail to ${result.mail.to} queued (${result.mail.reply}); the PIN takes effect once it is delivered`
    : `mailed to ${result.mail.to}`);
  const detail = result.reason ?? mail ?? (result.status === 'reset' ? 'no mail sent' : '');
  return [`line ${String(result.line).padEnd(lineWidth)}`, result.status.padEnd(7), result.login === '' ? '-' : result.login, detail].filter((s) => s !== '').join('  ');
}
