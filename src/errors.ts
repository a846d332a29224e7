/**
 * Every outcome the service reports, in one catalogue (DESIGN §1.4).
 *
 * Each class knows its wire form: the SOAP fault code, the EWS response code,
 * the HTTP status and the log level. `soap/render.ts` is the one place that
 * turns them into XML; nothing else builds a fault.
 *
 * Messages are plain sentences for a person. They never hold a PIN, a
 * password, SQL, a path or a stack trace.
 */
import type { PinRuleFailure } from './pin/index.ts';

export type SoapFaultCode = 'Client' | 'Server' | 'VersionMismatch' | 'MustUnderstand';

export type EwsResponseCode =
  | 'ErrorSchemaValidation'
  | 'ErrorInvalidRequest'
  | 'ErrorAccessDenied'
  | 'ErrorUserNotUnifiedMessagingEnabled'
  | 'ErrorUnifiedMessagingRequestFailed'
  | 'ErrorServerBusy'
  | 'ErrorInternalServerError'
  | 'ErrorInvalidPhoneCallId'
  | 'ErrorInvalidPhoneNumber';

/**
 * [MS-OXWUMS] 2.2.3.1: the faults the specification names for the call operations, carried as
 * `detail/m:ExceptionType` and as the faultcode (SPEC 4.15's shape).
 */
export type UmExceptionType = 'InvalidCallIdException' | 'DialingRulesException' | 'InvalidObjectIdException';

export type ErrorCode =
  | 'ERR_SOAP_VERSION_MISMATCH'
  | 'ERR_SOAP_MUST_UNDERSTAND'
  | 'ERR_SOAP_SCHEMA'
  | 'ERR_REQUEST_INVALID'
  | 'ERR_REQUEST_MEDIA_TYPE'
  | 'ERR_REQUEST_TOO_LARGE'
  | 'ERR_REQUEST_VALUE'
  | 'ERR_TELEPHONY_NOT_CONFIGURED'
  | 'ERR_CALL_ID_INVALID'
  | 'ERR_DIAL_STRING_INVALID'
  | 'ERR_ENTRY_ID_INVALID'
  | 'ERR_AUTODISCOVER_REQUEST'
  | 'ERR_AUTH_FAILED'
  | 'ERR_AUTH_PLAIN_HTTP'
  | 'ERR_AUTH_API_KEY'
  | 'ERR_MAILBOX_NOT_ENABLED'
  | 'ERR_MAILBOX_NOT_FOUND'
  | 'ERR_MAILBOX_EXISTS'
  | 'ERR_ARGUMENT'
  | 'ERR_PIN_NO_CANDIDATE'
  | 'ERR_PIN_POLICY'
  | 'ERR_MAIL_HANDOFF'
  | 'ERR_SERVER_BUSY'
  | 'ERR_DATABASE_UNAVAILABLE'
  | 'ERR_TRANSFER_REFUSED'
  | 'ERR_ROUTE_NOT_FOUND'
  | 'ERR_INTERNAL';

export type LogLevel = 'info' | 'warn' | 'error';

export abstract class UmpinError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly faultCode: SoapFaultCode;
  /** Absent for VersionMismatch / MustUnderstand: SOAP 1.1 §4.4 keeps `detail` for Body errors. */
  abstract readonly responseCode: EwsResponseCode | undefined;
  readonly httpStatus: number = 500;
  readonly logLevel: LogLevel = 'info';
  /** Extra response headers the HTTP layer must send with this fault. */
  readonly httpHeaders: Readonly<Record<string, string>> = {};
  /** Set for the faults [MS-OXWUMS] 2.2.3.1 defines; the faultcode and detail then name it. */
  readonly exceptionType: UmExceptionType | undefined = undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    // An expected outcome needs no stack trace, and capturing one (through tsx's
    // source maps) was a tenth of a rejected request's CPU in `npm run bench`.
    // The unexpected keep theirs: InternalError's `cause` is the original error.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.name = new.target.name;
  }
}

export class SoapVersionMismatch extends UmpinError {
  readonly code = 'ERR_SOAP_VERSION_MISMATCH';
  readonly faultCode = 'VersionMismatch';
  readonly responseCode = undefined;
  override readonly httpStatus: number;
  constructor(message = 'This service speaks SOAP 1.1 only; send a SOAP 1.1 envelope (namespace http://schemas.xmlsoap.org/soap/envelope/) as text/xml.', httpStatus = 500) {
    super(message);
    this.httpStatus = httpStatus;
  }
}

export class SoapMustUnderstand extends UmpinError {
  readonly code = 'ERR_SOAP_MUST_UNDERSTAND';
  readonly faultCode = 'MustUnderstand';
  readonly responseCode = undefined;
  constructor(headerName: string) {
    super(`The header ${headerName} is marked mustUnderstand but this service does not understand it; remove it or its mustUnderstand attribute.`);
  }
}

/** The envelope is not well-formed or not the shape of a ResetPIN request. */
export class SoapSchemaViolation extends UmpinError {
  readonly code = 'ERR_SOAP_SCHEMA';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorSchemaValidation';
}

/** The HTTP request around the envelope is wrong (SOAPAction, charset, unsupported operation). */
export class InvalidRequest extends UmpinError {
  readonly code = 'ERR_REQUEST_INVALID';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
}

/**
 * An operation's argument is missing, repeated, in the wrong namespace or order, or outside its
 * type or the values umpin accepts. [MS-OXWUMS] 3.1.4 (malformed request): "ErrorInvalidRequest".
 */
export class InvalidRequestValue extends UmpinError {
  readonly code = 'ERR_REQUEST_VALUE';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
}

export class UnsupportedMediaType extends UmpinError {
  readonly code = 'ERR_REQUEST_MEDIA_TYPE';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
  override readonly httpStatus = 415;
}

export class RequestTooLarge extends UmpinError {
  readonly code = 'ERR_REQUEST_TOO_LARGE';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
  override readonly httpStatus = 413;
  // The server stops reading at the limit, so the connection cannot be reused.
  override readonly httpHeaders = { connection: 'close' };
  constructor(limitBytes: number) {
    super(`The request body is larger than this service accepts (${limitBytes} bytes); a ResetPIN request is a few hundred bytes.`);
  }
}

/** One message for an unknown user, a wrong password and missing credentials (STYLE 6). */
export class AuthenticationFailed extends UmpinError {
  readonly code = 'ERR_AUTH_FAILED';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorAccessDenied';
  override readonly httpStatus = 401;
  override readonly httpHeaders: Readonly<Record<string, string>>;
  constructor(realm: string, options?: { cause?: unknown }) {
    super('The user name or password is incorrect; sign in with your mailbox credentials.', options);
    this.httpHeaders = { 'www-authenticate': `Basic realm="${realm}", charset="UTF-8"` };
  }
}

/**
 * Credentials sent over plain HTTP from another host, refused before they are
 * checked. 403, not 401: a 401 would invite the client to send them in clear again.
 */
export class PlainHttpCredentialsRefused extends UmpinError {
  readonly code = 'ERR_AUTH_PLAIN_HTTP';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorAccessDenied';
  override readonly httpStatus = 403;
  override readonly logLevel = 'warn';
  constructor() {
    super('Credentials are not accepted over plain HTTP from another host; use https://, or set UMPIN_ALLOW_PLAIN_HTTP_AUTH behind a TLS proxy.');
  }
}

/**
 * The phone API's caller (a PBX) sent no API key, or one that is malformed, unknown or revoked: one
 * answer for all. The challenge names both schemes the phone API takes (docs/pbx.md).
 */
export class ApiKeyRejected extends UmpinError {
  readonly code = 'ERR_AUTH_API_KEY';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorAccessDenied';
  override readonly httpStatus = 401;
  override readonly httpHeaders = { 'www-authenticate': 'Bearer realm="umpin-phone", Basic realm="umpin-phone", charset="UTF-8"' };
  constructor() {
    super('A valid API key is required: send "Authorization: Bearer <key>" (or HTTP Basic with the key as the password); create one with: umpin apikey add <name>');
  }
}

export class MailboxNotEnabled extends UmpinError {
  readonly code = 'ERR_MAILBOX_NOT_ENABLED';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorUserNotUnifiedMessagingEnabled';
  constructor() {
    super('Your mailbox is not enabled for voice mail; ask your administrator to enable it.');
  }
}

/** An administrator named a mailbox that does not exist (CLI only; never on the wire for a caller). */
export class MailboxNotFound extends UmpinError {
  readonly code = 'ERR_MAILBOX_NOT_FOUND';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorUserNotUnifiedMessagingEnabled';
  constructor(login: string) {
    super(`There is no voice mail mailbox for "${login}"; enable one with: umpin mailbox enable ${login} --email <address> --extension <digits>`);
  }
}

export class MailboxAlreadyEnabled extends UmpinError {
  readonly code = 'ERR_MAILBOX_EXISTS';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
  constructor(login: string) {
    super(`The mailbox "${login}" is already enabled for voice mail and has a PIN.`);
  }
}

/** An administrator's argument is invalid (CLI); the message names the argument and what it accepts. */
export class InvalidArgument extends UmpinError {
  readonly code = 'ERR_ARGUMENT';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
}

export class NoPinSatisfiesPolicy extends UmpinError {
  readonly code = 'ERR_PIN_NO_CANDIDATE';
  readonly faultCode = 'Server';
  readonly responseCode = 'ErrorUnifiedMessagingRequestFailed';
  override readonly logLevel = 'warn';
  constructor() {
    super('No new PIN could be found that satisfies your PIN policy; your old PIN still works. Ask your administrator to review the policy.');
  }
}

/** A chosen PIN broke one or more rules; every failed rule is listed. */
export class PinPolicyViolated extends UmpinError {
  readonly code = 'ERR_PIN_POLICY';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
  readonly failures: readonly PinRuleFailure[];
  constructor(failures: readonly PinRuleFailure[]) {
    super(`The PIN does not meet the PIN policy: ${failures.map((f) => f.message).join(' ')}`);
    this.failures = failures;
  }
}

/** Why a hand-off failed, kept from the peer (STYLE 10): the outbox decides retry from these, never from text. */
export interface HandOffFacts {
  readonly permanent: boolean;
  readonly responseCode?: number;
  readonly reply?: string;
}

export class MailHandOffFailed extends UmpinError {
  readonly code = 'ERR_MAIL_HANDOFF';
  readonly faultCode = 'Server';
  readonly responseCode = 'ErrorUnifiedMessagingRequestFailed';
  override readonly logLevel = 'warn';
  readonly facts: HandOffFacts;
  constructor(facts: HandOffFacts, options?: { cause?: unknown }) {
    super(
      facts.permanent
        ? 'The e-mail with your new PIN was refused, so your PIN was not changed and your old PIN still works. Ask your administrator to check your e-mail address.'
        : 'The e-mail with your new PIN could not be sent now, so your PIN was not changed and your old PIN still works. Try again in a few minutes.',
      options,
    );
    this.facts = facts;
  }
}

export class ServerBusy extends UmpinError {
  readonly code = 'ERR_SERVER_BUSY';
  readonly faultCode = 'Server';
  readonly responseCode = 'ErrorServerBusy';
  override readonly httpStatus = 503;
  override readonly httpHeaders: Readonly<Record<string, string>>;
  constructor(retryAfterSeconds: number, message = 'The service is busy; try again in a few seconds.') {
    super(message);
    this.httpHeaders = { 'retry-after': String(retryAfterSeconds) };
  }
}

/**
 * The database cannot be reached or opened (at start-up, or by a CLI command). Only the CLI and the
 * start-up log show the message, which names the server or file (never a password) and what to check.
 */
export class DatabaseUnavailable extends UmpinError {
  readonly code = 'ERR_DATABASE_UNAVAILABLE';
  readonly faultCode = 'Server';
  readonly responseCode = 'ErrorInternalServerError';
  override readonly logLevel = 'error';
}

/** `umpin export` / `umpin import` refused, before writing anything; the message says what to do instead. */
export class TransferRefused extends UmpinError {
  readonly code = 'ERR_TRANSFER_REFUSED';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
}

/**
 * An Autodiscover request that is not the Outlook request schema's shape, or hostile XML (DOCTYPE,
 * entities, depth); answered as [MS-OXDSCLI] ErrorCode 600 "Invalid Request", HTTP 400.
 */
export class AutodiscoverRequestInvalid extends UmpinError {
  readonly code = 'ERR_AUTODISCOVER_REQUEST';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
  override readonly httpStatus = 400;
}

/**
 * PlayOnPhone / PlayOnPhoneGreeting with no dialer configured. Server, not Client: the request was
 * right, the server cannot place calls; the spec's DialingRulesException or InvalidObjectIdException
 * would blame the request falsely.
 */
export class TelephonyNotConfigured extends UmpinError {
  readonly code = 'ERR_TELEPHONY_NOT_CONFIGURED';
  readonly faultCode = 'Server';
  readonly responseCode = 'ErrorUnifiedMessagingRequestFailed';
  constructor() {
    super('Play on Phone is not available: no telephony back end is configured on this server, so it cannot place calls. Ask your administrator.');
  }
}

/** [MS-OXWUMS] 2.2.3.1: GetCallInfo or Disconnect named a call id this server did not issue to the caller, or one that ended. */
export class InvalidCallId extends UmpinError {
  readonly code = 'ERR_CALL_ID_INVALID';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidPhoneCallId';
  override readonly exceptionType = 'InvalidCallIdException';
  constructor() {
    super('The call identifier is not valid: this server issued no such call to you, or the call has ended.');
  }
}

/** [MS-OXWUMS] 2.2.3.1: PlayOnPhone or PlayOnPhoneGreeting got a dial string that cannot be dialled. */
export class DialStringRejected extends UmpinError {
  readonly code = 'ERR_DIAL_STRING_INVALID';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidPhoneNumber';
  override readonly exceptionType = 'DialingRulesException';
}

/** [MS-OXWUMS] 2.2.3.1: PlayOnPhone got an item id that is not one (not base64, or empty). */
export class EntryIdRejected extends UmpinError {
  readonly code = 'ERR_ENTRY_ID_INVALID';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
  override readonly exceptionType = 'InvalidObjectIdException';
  constructor() {
    super("The object identifier isn't valid: entryId must be the base64 text of a message's identifier.");
  }
}

/** A phone-API path that does not exist. */
export class RouteNotFound extends UmpinError {
  readonly code = 'ERR_ROUTE_NOT_FOUND';
  readonly faultCode = 'Client';
  readonly responseCode = 'ErrorInvalidRequest';
  override readonly httpStatus = 404;
}

/** Anything unexpected. The cause goes to the log only; the caller sees a generic sentence. */
export class InternalError extends UmpinError {
  readonly code = 'ERR_INTERNAL';
  readonly faultCode = 'Server';
  readonly responseCode = 'ErrorInternalServerError';
  override readonly logLevel = 'error';
  constructor(options?: { cause?: unknown }) {
    super('The service failed to process the request; try again later, and tell your administrator if it keeps failing.', options);
  }
}

export type AnyUmpinError =
  | SoapVersionMismatch
  | SoapMustUnderstand
  | SoapSchemaViolation
  | InvalidRequest
  | UnsupportedMediaType
  | RequestTooLarge
  | InvalidRequestValue
  | AutodiscoverRequestInvalid
  | TelephonyNotConfigured
  | InvalidCallId
  | DialStringRejected
  | EntryIdRejected
  | AuthenticationFailed
  | PlainHttpCredentialsRefused
  | ApiKeyRejected
  | MailboxNotEnabled
  | MailboxNotFound
  | MailboxAlreadyEnabled
  | InvalidArgument
  | NoPinSatisfiesPolicy
  | PinPolicyViolated
  | MailHandOffFailed
  | ServerBusy
  | DatabaseUnavailable
  | TransferRefused
  | RouteNotFound
  | InternalError;

/** Known errors pass through; anything else becomes an InternalError that keeps the original as `cause`. */
export function toUmpinError(error: unknown): AnyUmpinError {
  return error instanceof UmpinError ? (error as AnyUmpinError) : new InternalError({ cause: error });
}

/**
 * A setting that cannot work (STYLE 4: misconfiguration is a TypeError, not a fault): it stops the start
 * or the command, names the setting, and never reaches a client. Thrown where the problem is found
 * (config.ts, a transport reading its CA file, the SMTP URL parser), so nobody has to guess the setting
 * from a message's text.
 */
export class ConfigError extends TypeError {
  readonly setting: string;
  constructor(setting: string, message: string, options?: { cause?: unknown }) {
    super(`${setting}: ${message}`, options);
    this.setting = setting;
  }
}

/**
 * The phone API's `error` field (docs/pbx.md): the catalogue code without `ERR_`, lower case, `_`
 * as `-` (ERR_PIN_POLICY is "pin-policy", ERR_SERVER_BUSY "server-busy"). One vocabulary, derived,
 * so a new catalogue entry needs no second table.
 */
export function phoneErrorName(code: ErrorCode): string {
  return code.replace(/^ERR_/, '').toLowerCase().replaceAll('_', '-');
}
