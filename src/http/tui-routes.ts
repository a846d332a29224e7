/**
 * The phone-side JSON API (DESIGN §3.1) for the voice mail system: a PBX
 * checks a PIN a caller typed, or changes it. Authenticated with an API key
 * (`Authorization: Bearer <key>`); `mailbox` is the login, or `extension`
 * names the mailbox by its extension.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinPolicyViolated, toUmpinError } from '../errors.ts';
import { isValidApiKey } from '../operations/api-keys.ts';
import { phoneChangePin, phoneLogon, type PhoneSource, type PhoneTarget } from '../operations/phone.ts';
import type { Services } from '../operations/services.ts';

/** A JSON error a PBX integrator can act on: a stable `error` code and a sentence. */
class ApiError extends Error {
  readonly status: number;
  readonly error: string;
  constructor(status: number, error: string, message: string) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

const MAX_FIELD = 256;

export function registerTuiRoutes(app: FastifyInstance, services: Services): void {
  app.register(async (tui) => {
    tui.setErrorHandler((error, request, reply) => sendError(request, reply, error));
    tui.setNotFoundHandler((_request, reply) => {
      reply.code(404).send({ error: 'not-found', message: 'No such phone API route; use POST /tui/v1/logon or /tui/v1/change-pin.' });
    });
    tui.addHook('onRequest', async (request) => {
      request.outcome = { operation: `tui${request.url.replace(/^\/tui\/v1/, '').split('?')[0]}`, result: 'rejected' };
      const key = /^Bearer[ \t]+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (!key || !(await isValidApiKey(services, key))) {
        throw new ApiError(401, 'unauthorized', 'A valid API key is required: send "Authorization: Bearer <key>"; create one with: umpin apikey add <name>');
      }
    });

    tui.post('/logon', async (request) => {
      const body = parseBody(request);
      const answer = await phoneLogon(services, parseTarget(body), requireString(body, 'pin'), parseSource(body, request.ip));
      request.outcome = { operation: 'tui/logon', result: answer.result };
      return answer;
    });

    tui.post('/change-pin', async (request) => {
      const body = parseBody(request);
      const target = parseTarget(body);
      const answer = await phoneChangePin(services, target, requireString(body, 'oldPin'), requireString(body, 'newPin'), parseSource(body, request.ip));
      request.outcome = { operation: 'tui/change-pin', result: answer.result };
      return answer.result === 'ok' ? { result: 'ok' } : answer;
    });
  }, { prefix: '/tui/v1' });
}

function parseBody(request: FastifyRequest): Record<string, unknown> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new ApiError(415, 'unsupported-media-type', 'Send the request as Content-Type: application/json.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '');
  } catch {
    throw new ApiError(400, 'bad-json', 'The body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ApiError(400, 'bad-json', 'The body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new ApiError(400, 'missing-field', `"${field}" is required and must be a non-empty string.`);
  if (value.length > MAX_FIELD) throw new ApiError(400, 'bad-field', `"${field}" is longer than ${MAX_FIELD} characters.`);
  return value;
}

function parseTarget(body: Record<string, unknown>): PhoneTarget {
  const hasMailbox = body.mailbox !== undefined;
  const hasExtension = body.extension !== undefined;
  if (hasMailbox === hasExtension) throw new ApiError(400, 'missing-field', 'Name the mailbox with exactly one of "mailbox" (the login) or "extension".');
  return hasMailbox ? { mailbox: requireString(body, 'mailbox') } : { extension: requireString(body, 'extension') };
}

/** The PBX's address, and the calling number when it sends one (optional `caller`). */
function parseSource(body: Record<string, unknown>, address: string): PhoneSource {
  return body.caller === undefined ? { address } : { address, caller: requireString(body, 'caller') };
}

function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  if (error instanceof ApiError) {
    request.outcome = { ...request.outcome, operation: request.outcome?.operation ?? 'tui', result: error.error };
    reply.code(error.status).send({ error: error.error, message: error.message });
    return;
  }
  if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    reply.code(413).header('connection', 'close').send({ error: 'too-large', message: 'The request body is too large.' });
    return;
  }
  const failure = toUmpinError(error);
  request.fault = failure;
  request.outcome = { ...request.outcome, operation: request.outcome?.operation ?? 'tui', result: failure.code };
  if (failure instanceof PinPolicyViolated) {
    reply.code(422).send({ error: 'pin-policy', message: failure.message, rules: failure.failures.map(({ id, message }) => ({ id, message })) });
    return;
  }
  reply.code(failure.httpStatus === 401 ? 500 : failure.httpStatus).headers(failure.httpHeaders).send({ error: failure.code, message: failure.message });
}
