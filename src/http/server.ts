/**
 * The HTTP edge (DESIGN §1.1): Fastify for body limits, timeouts and logs;
 * everything below it is plain functions. Order of work on a POST, cheapest
 * first so that no rejected request costs a KDF call: content type (before
 * the body is read) → body size → credentials present → envelope → password.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parseBasicCredentials } from '../auth/basic-credentials.ts';
import type { Config } from '../config.ts';
import { AuthenticationFailed, InternalError, InvalidRequest, RequestTooLarge, SoapSchemaViolation, UnsupportedMediaType, toUmpinError, type UmpinError } from '../errors.ts';
import type { Services } from '../operations/services.ts';
import { checkSoapContentType } from '../soap/content-type.ts';
import { parseSoapRequest } from '../soap/envelope.ts';
import { SOAP_CONTENT_TYPE, escapeXml, renderFault } from '../soap/render.ts';
import { loadWsdl } from '../soap/wsdl.ts';
import { buildListenerOptions } from './listener-options.ts';
import { publicOrigin } from './public-origin.ts';
import { registerAutodiscoverRoutes } from './autodiscover-routes.ts';
import { performSoapOperation } from './soap-operations.ts';
import { registerTransportSecurity } from './transport-security.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerTuiRoutes } from './tui-routes.ts';
import { registerSelfService } from '../web/index.ts';

/** Exchange 2010–2016 and Exchange 2007 paths of the same service. */
export const SERVICE_PATHS = ['/EWS/UM2007Legacy.asmx', '/UnifiedMessaging/Service.asmx'] as const;

declare module 'fastify' {
  interface FastifyRequest {
    /** What the one log line of this request says happened. */
    outcome?: { operation: string; result: string; login?: string };
    /** The fault answered, if any; logged on the request's line at its own level. */
    fault?: UmpinError;
  }
}

export type HttpServerConfig = Pick<Config,
  'bodyLimit' | 'publicUrl' | 'autodiscover' | 'realm' | 'tls' | 'allowPlainHttpAuth' | 'hstsMaxAgeSeconds' | 'trustedProxies' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'pbxExtensionContexts'
  | 'webIdleSeconds'>;

export function buildHttpServer(services: Services, config: HttpServerConfig, logger: FastifyBaseLogger): FastifyInstance {
  const listener = buildListenerOptions(config);
  const options = {
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    routerOptions: { caseSensitive: false },
    requestTimeout: listener.requestTimeout,
    connectionTimeout: 60_000,
    return503OnClosing: true,
    trustProxy: listener.trustProxy,
  };
  // An HTTPS instance is typed apart from an HTTP one; the request, reply and
  // inject/listen/close API that every caller uses is the same for both.
  const app = listener.https
    ? Fastify({ ...options, https: listener.https }) as unknown as FastifyInstance
    : Fastify({ ...options, http: listener.server });
  if (listener.certificateValidTo !== undefined && listener.certificateValidTo.getTime() < Date.now()) {
    logger.warn({ validTo: listener.certificateValidTo.toISOString() }, 'the UMPIN_TLS_CERT certificate has expired; clients will refuse it until it is renewed');
  }
  const wsdl = loadWsdl();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // One line per request, written when the answer has gone out (headers, bodies and credentials are never logged).
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.countRequest(request.outcome);
    const { fault } = request;
    if (!isLevelEnabled(request.log, fault?.logLevel ?? 'info')) return; // building the line was a tenth of a cheap request's cost
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      client: request.ip,
      ...request.outcome,
      ...(fault instanceof InternalError ? { err: fault.cause } : {}),
    };
    request.log[fault?.logLevel ?? 'info'](line, fault ? fault.message : 'answered');
  });

  app.setErrorHandler((error, request, reply) => sendFault(request, reply, fromFastifyError(error, config.bodyLimit)));
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).type('text/plain; charset=utf-8').send(`Not found. The voice mail service is at ${SERVICE_PATHS[0]}.\n`);
  });

  registerTransportSecurity(app, config);
  registerTuiRoutes(app, services, { extensionContexts: config.pbxExtensionContexts, bodyLimit: config.bodyLimit });
  if (config.autodiscover) registerAutodiscoverRoutes(app, services, config, SERVICE_PATHS[0]);
  registerHealthRoutes(app, services);
  registerSelfService(app, services, config);

  for (const path of SERVICE_PATHS) {
    app.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
      url: path,
      // The content type is judged before the body is read, so a wrong one costs nothing.
      onRequest: async (request) => {
        if (request.method === 'POST') checkSoapContentType(request.headers['content-type']);
      },
      handler: async (request, reply) => {
        switch (request.method) {
          case 'GET':
          case 'HEAD':
            return serveDescription(request, reply);
          case 'POST':
            return serveSoap(request, reply);
          default:
            reply.code(405).header('allow', 'GET, POST').type('text/plain; charset=utf-8');
            return `${request.method} is not allowed here; POST a SOAP request or GET ?wsdl.\n`;
        }
      },
    });
  }

  async function serveSoap(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    request.outcome = { operation: 'ResetPIN', result: 'rejected' };
    const credentials = parseBasicCredentials(request.headers.authorization);
    if (!credentials) throw new AuthenticationFailed(config.realm);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const soap = parseSoapRequest(body, headerValue(request.headers.soapaction));
    request.outcome = { operation: soap.operation, result: 'rejected' };
    const { login, body: answer } = await performSoapOperation(services, soap, credentials, request.ip);
    request.outcome = { operation: soap.operation, result: 'success', login };
    reply.type(SOAP_CONTENT_TYPE);
    return answer;
  }

  function serveDescription(request: FastifyRequest, reply: FastifyReply): string | Buffer {
    const path = request.url.split('?')[0] ?? SERVICE_PATHS[0];
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    if (query.split('&').some((p) => p.toLowerCase() === 'wsdl')) {
      request.outcome = { operation: 'wsdl', result: 'success' };
      reply.type(SOAP_CONTENT_TYPE);
      return wsdl.render(`${publicOrigin(request, config.publicUrl)}${path}`);
    }
    request.outcome = { operation: 'page', result: 'success' };
    reply.type('text/html; charset=utf-8');
    const link = escapeXml(`${path}?wsdl`);
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>umpin voice mail service</title></head>` +
      `<body><h1>umpin</h1><p>This is the Exchange Unified Messaging voice mail settings web service ([MS-OXWUMS]). ` +
      `It answers SOAP 1.1 requests for its eleven operations, ResetPIN among them. The service description is at <a href="${link}">${link}</a>.</p></body></html>\n`;
  }

  function sendFault(request: FastifyRequest, reply: FastifyReply, error: UmpinError): void {
    request.outcome = { ...request.outcome, operation: request.outcome?.operation ?? 'ResetPIN', result: error.code };
    request.fault = error;
    reply.code(error.httpStatus).headers(error.httpHeaders).type(SOAP_CONTENT_TYPE).send(renderFault(error));
  }

  return app;
}

/** Fastify's own errors (body limit, bad headers) become catalogue errors; ours pass through. */
export function fromFastifyError(error: unknown, bodyLimit: number): UmpinError {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RequestTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new UnsupportedMediaType('The request body could not be read; send the SOAP 1.1 envelope as text/xml; charset=utf-8.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SoapSchemaViolation('The request body is empty; send a SOAP 1.1 envelope.');
    default: {
      const status = (error as { statusCode?: number }).statusCode;
      if (code?.startsWith('FST_') && status !== undefined && status >= 400 && status < 500) {
        return new InvalidRequest('The HTTP request is malformed; send a SOAP 1.1 POST.', { cause: error });
      }
      return toUmpinError(error);
    }
  }
}

/** pino's numeric levels; FastifyBaseLogger does not expose pino's own isLevelEnabled. */
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

function isLevelEnabled(log: FastifyBaseLogger, level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'): boolean {
  return LEVELS[level]! >= (LEVELS[log.level] ?? 0);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

