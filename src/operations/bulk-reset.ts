/**
 * Set-UMMailboxPIN for many mailboxes at once, from the lines of a table
 * (the CLI reads them from CSV). Batch work returns one result per line and
 * never stops at a failed line: each line is reset, skipped or failed with
 * the reason, and the caller decides what the whole run means.
 */
import { PinPolicyViolated, toUmpinError } from '../errors.ts';
import type { PinRuleId } from '../pin/index.ts';
import { resetPinByAdmin, type AdminPinReset } from './admin/pins.ts';
import type { Services } from './services.ts';

/** The columns a bulk reset understands; only `login` is required. */
export const BULK_RESET_COLUMNS = ['login', 'pin', 'expired', 'locked_out', 'notify_email'] as const;
export type BulkResetColumn = (typeof BULK_RESET_COLUMNS)[number];

export interface BulkResetLine {
  /** Where the line is in its file, for the report. */
  readonly line: number;
  /** Blank lines and comments are reported as skipped. */
  readonly kind: 'data' | 'blank' | 'comment';
  /** Column → the text in it; a missing or empty value takes the default. */
  readonly values: Readonly<Partial<Record<BulkResetColumn, string>>>;
  /** Set when the reader already knows the line is wrong (say, more fields than columns). */
  readonly problem?: string;
}

/** What applies to a line that leaves a column empty; Set-UMMailboxPIN's defaults otherwise. */
export interface BulkResetDefaults {
  readonly expired?: boolean;
  readonly lockedOut?: boolean;
  readonly sendEmail?: boolean;
}

export interface BulkResetResult {
  readonly line: number;
  /** Empty for a skipped line or a line without a login. */
  readonly login: string;
  readonly status: 'reset' | 'skipped' | 'failed';
  /** Why a line was skipped or failed. Never holds a PIN. */
  readonly reason?: string;
  /** The rules a chosen PIN broke, when that is why the line failed. */
  readonly rules?: readonly PinRuleId[];
  /**
   * The mail with the PIN, for a reset that sent one: handed off, or queued for
   * the outbox's retries (the PIN then takes effect once it is delivered).
   */
  readonly mail?: { readonly to: string; readonly queued: boolean; readonly reply: string };
}

export interface BulkResetOptions {
  readonly defaults?: BulkResetDefaults;
  /** Called before each line is worked on: lines done so far, all lines, the line's login. */
  readonly onProgress?: (done: number, total: number, login: string) => void;
  /** Called with each line's result as soon as it is known. */
  readonly onResult?: (result: BulkResetResult) => void;
}

export async function bulkResetPins(services: Services, lines: readonly BulkResetLine[], options: BulkResetOptions = {}): Promise<BulkResetResult[]> {
  const results: BulkResetResult[] = [];
  for (const [index, line] of lines.entries()) {
    const login = line.values.login?.trim() ?? '';
    options.onProgress?.(index, lines.length, login);
    const result = await resetLine(services, line, login, options.defaults ?? {});
    options.onResult?.(result);
    results.push(result);
  }
  return results;
}

async function resetLine(services: Services, line: BulkResetLine, login: string, defaults: BulkResetDefaults): Promise<BulkResetResult> {
  const result = (status: BulkResetResult['status'], more: Partial<BulkResetResult> = {}): BulkResetResult => ({ line: line.line, login, status, ...more });
  if (line.kind !== 'data') return result('skipped', { reason: line.kind === 'blank' ? 'blank line' : 'comment' });
  if (line.problem !== undefined) return result('failed', { reason: line.problem });
  if (login === '') return result('failed', { reason: 'The login is empty.' });

  const request = toRequest(line.values, defaults);
  if ('problem' in request) return result('failed', { reason: request.problem });
  try {
    const outcome = await resetPinByAdmin(services, login, request);
    const handedOff = outcome.receipt ?? outcome.queued;
    if (handedOff === undefined) return result('reset');
    return result('reset', { mail: { to: await recipientOf(services, login, request), queued: outcome.queued !== undefined, reply: handedOff.reply } });
  } catch (caught) {
    const error = toUmpinError(caught);
    if (error instanceof PinPolicyViolated) {
      return result('failed', {
        reason: `The PIN does not meet the PIN policy: ${error.failures.map((f) => `[${f.id}] ${f.message}`).join(' ')}`,
        rules: error.failures.map((f) => f.id),
      });
    }
    if (error.logLevel === 'error') services.log.error({ login, line: line.line, err: caught }, 'bulk PIN reset: unexpected failure');
    return result('failed', { reason: error.message });
  }
}

/** The line's request, or why its values make none: a bad value fails its own line, naming the column. */
function toRequest(values: BulkResetLine['values'], defaults: BulkResetDefaults): AdminPinReset | { problem: string } {
  const text = (column: BulkResetColumn) => {
    const value = values[column]?.trim() ?? '';
    return value === '' ? undefined : value;
  };
  const flag = (column: BulkResetColumn, fallback: boolean | undefined): boolean | undefined | { problem: string } => {
    const value = text(column);
    if (value === undefined) return fallback;
    const lower = value.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
    // The value is not repeated: a line with a missing comma could have put a PIN here.
    return { problem: `The ${column} column must be true or false (or empty for the default).` };
  };
  const pin = text('pin');
  const notifyEmail = text('notify_email');
  if (notifyEmail !== undefined && defaults.sendEmail === false) {
    return { problem: 'The notify_email column names an address, but no mail is to be sent (--no-email); leave one of them out.' };
  }
  const expired = flag('expired', defaults.expired);
  if (typeof expired === 'object') return expired;
  const lockedOut = flag('locked_out', defaults.lockedOut);
  if (typeof lockedOut === 'object') return lockedOut;
  return {
    ...(pin === undefined ? {} : { pin }),
    ...(notifyEmail === undefined ? {} : { notifyEmail }),
    ...(expired === undefined ? {} : { expired }),
    ...(lockedOut === undefined ? {} : { lockedOut }),
    ...(defaults.sendEmail === undefined ? {} : { sendEmail: defaults.sendEmail }),
  };
}

async function recipientOf(services: Services, login: string, request: AdminPinReset): Promise<string> {
  if (request.notifyEmail !== undefined) return request.notifyEmail;
  const mailbox = await services.store.findMailbox(login);
  return mailbox?.notifyEmail ?? mailbox?.email ?? '';
}
