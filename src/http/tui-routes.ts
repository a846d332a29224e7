/**
 * The phone-side API (DESIGN §3.1, docs/pbx.md) for the voice mail system: a
 * PBX checks a PIN a caller typed, or changes it. It meets PBX dialplans where
 * they are: the body is JSON or application/x-www-form-urlencoded (Asterisk's
 * CURL(), FreeSWITCH's mod_curl), the API key comes as `Authorization: Bearer
 * <key>` or as the password of HTTP Basic (mod_xml_curl's gateway-credentials),
 * and `mailbox` may be qualified by `context` (Asterisk) or `domain`
 * (FreeSWITCH), mapped to umpin's mailbox by operations/pbx-pin.ts.
 *
 * Errors are the catalogue's (src/errors.ts), named in the body by
 * phoneErrorName(code); the HTTP status is the class's own except where the
 * phone API's table below says otherwise.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasicCredentials } from '../auth/basic-credentials.ts';
import {
  ApiKeyRejected, InvalidRequest, PinPolicyViolated, RequestTooLarge, RouteNotFound, UnsupportedMediaType, phoneErrorName, toUmpinError, type ErrorCode,
} from '../errors.ts';
import { isValidApiKey } from '../operations/api-keys.ts';
import { checkNewPin, resolvePbxMailbox, setPinFromPbx } from '../operations/pbx-pin.ts';
import { phoneChangePin, phoneLogon, type PhoneSource, type PhoneTarget } from '../operations/phone.ts';
import type { Services } from '../operations/services.ts';

const MAX_FIELD = 256;

/** Where the phone API's status differs from the class's SOAP-side one (a SOAP fault is always 500). */
const PHONE_STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_REQUEST_INVALID: 400,
  ERR_PIN_POLICY: 422,
  ERR_MAILBOX_NOT_FOUND: 404,
};

export interface TuiRouteOptions {
  /** PBX contexts/domains whose mailbox numbers are umpin extensions (UMPIN_PBX_EXTENSION_CONTEXTS). */
  readonly extensionContexts: readonly string[];
  /** UMPIN_BODY_LIMIT, named in the 413 answer. */
  readonly bodyLimit: number;
}

type Body = Readonly<Record<string, unknown>>;

export function registerTuiRoutes(app: FastifyInstance, services: Services, options: TuiRouteOptions): void {
  app.register(async (tui) => {
    tui.setErrorHandler((error, request, reply) => sendError(request, reply, error, options.bodyLimit));
    tui.setNotFoundHandler(() => {
      throw new RouteNotFound('No such phone API route; use POST /tui/v1/logon, /tui/v1/change-pin, /tui/v1/check-new-pin or /tui/v1/set-pin.');
    });
    tui.addHook('onRequest', async (request) => {
      request.outcome = { operation: `tui${request.url.replace(/^\/tui\/v1/, '').split('?')[0]}`, result: 'rejected' };
      const key = presentedKey(request.headers.authorization);
      if (!key || !(await isValidApiKey(services, key))) throw new ApiKeyRejected();
    });

    tui.post('/logon', async (request) => {
      const body = parseBody(request);
      const answer = await phoneLogon(services, await parseTarget(services, options, body), requireString(body, 'pin'), parseSource(body, request.ip));
      request.outcome = { operation: 'tui/logon', result: answer.result };
      return answer;
    });

    tui.post('/change-pin', async (request) => {
      const body = parseBody(request);
      const target = await parseTarget(services, options, body);
      const answer = await phoneChangePin(services, target, requireString(body, 'oldPin'), requireString(body, 'newPin'), parseSource(body, request.ip));
      request.outcome = { operation: 'tui/change-pin', result: answer.result };
      return answer.result === 'ok' ? { result: 'ok' } : answer;
    });

    // A dry run (Asterisk's externpasscheck): every policy rule and the history, nothing stored or counted.
    tui.post('/check-new-pin', async (request) => {
      const body = parseBody(request);
      await checkNewPin(services, await parseTarget(services, options, body), requireString(body, 'newPin'));
      request.outcome = { operation: 'tui/check-new-pin', result: 'valid' };
      return { result: 'valid' };
    });

    // The PIN a caller chose in the PBX's own menu (Asterisk's externpass); the PBX vouches for the caller.
    tui.post('/set-pin', async (request) => {
      const body = parseBody(request);
      const result = await setPinFromPbx(services, await parseTarget(services, options, body), requireString(body, 'newPin'), parseSource(body, request.ip));
      request.outcome = { operation: 'tui/set-pin', result };
      return { result };
    });
  }, { prefix: '/tui/v1' });
}

/** `Bearer <key>`, or Basic with the key as the password (the user name is not looked at). */
function presentedKey(header: string | undefined): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)$/i.exec(header ?? '')?.[1];
  return bearer ?? parseBasicCredentials(header)?.password;
}

function parseBody(request: FastifyRequest): Body {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const text = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  if (type !== 'application/json') {
    throw new UnsupportedMediaType('Send the request as Content-Type: application/json or application/x-www-form-urlencoded.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidRequest('The body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidRequest('The body must be a JSON object.');
  return parsed as Body;
}

/** WHATWG form decoding (URLSearchParams); a field given twice is refused rather than guessed at. */
function parseForm(text: string): Body {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, name)) throw new InvalidRequest(`"${name.slice(0, 32)}" is given more than once.`);
    fields[name] = value;
  }
  return fields;
}

function requireString(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new InvalidRequest(`"${field}" is required and must be a non-empty string.`);
  if (value.length > MAX_FIELD) throw new InvalidRequest(`"${field}" is longer than ${MAX_FIELD} characters.`);
  return value;
}

async function parseTarget(services: Services, options: TuiRouteOptions, body: Body): Promise<PhoneTarget> {
  const hasMailbox = body.mailbox !== undefined;
  const hasExtension = body.extension !== undefined;
  if (hasMailbox === hasExtension) throw new InvalidRequest('Name the mailbox with exactly one of "mailbox" (the login) or "extension".');
  if (body.context !== undefined && body.domain !== undefined) throw new InvalidRequest('Qualify the mailbox with "context" (Asterisk) or "domain" (FreeSWITCH), not both.');
  const qualifierField = body.context !== undefined ? 'context' : body.domain !== undefined ? 'domain' : undefined;
  const id = hasMailbox ? requireString(body, 'mailbox') : requireString(body, 'extension');
  if (qualifierField === undefined) return hasMailbox ? { mailbox: id } : { extension: id };
  return resolvePbxMailbox(services, id, requireString(body, qualifierField), options.extensionContexts);
}

/** The PBX's address, and the calling number when it sends one (optional `caller`). */
function parseSource(body: Body, address: string): PhoneSource {
  return body.caller === undefined ? { address } : { address, caller: requireString(body, 'caller') };
}

function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown, bodyLimit: number): void {
  const failure = (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? new RequestTooLarge(bodyLimit) : toUmpinError(error);
  request.fault = failure;
  request.outcome = { ...request.outcome, operation: request.outcome?.operation ?? 'tui', result: failure.code };
  const body = { error: phoneErrorName(failure.code), message: failure.message };
  reply.code(PHONE_STATUS[failure.code] ?? failure.httpStatus).headers(failure.httpHeaders)
    .send(failure instanceof PinPolicyViolated ? { ...body, rules: failure.failures.map(({ id, message }) => ({ id, message })) } : body);
}
