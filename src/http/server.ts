/**
 * The HTTP edge (DESIGN §1.1): Fastify for body limits, timeouts and logs;
 * everything below it is plain functions. This file puts the routes together
 * (the SOAP paths in soap-route.ts, the phone API, Autodiscover, health, the
 * self-service pages), writes the one log line per request, and turns every
 * error the routes do not answer themselves into a SOAP fault.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import type { Config } from '../config.ts';
import { InternalError, InvalidRequest, RequestTooLarge, SoapSchemaViolation, UnsupportedMediaType, toUmpinError, type UmpinError } from '../errors.ts';
import type { Services } from '../operations/services.ts';
import { SOAP_CONTENT_TYPE, renderFault } from '../soap/render.ts';
import { buildListenerOptions } from './listener-options.ts';
import { registerAutodiscoverRoutes } from './autodiscover-routes.ts';
import { SERVICE_PATHS, registerSoapRoutes } from './soap-route.ts';
import { registerTransportSecurity } from './transport-security.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerTuiRoutes } from './tui-routes.ts';
import { registerSelfService } from '../web/index.ts';

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

/** `logger` is pino's own: the request loggers Fastify makes are its children, and the log line asks them `isLevelEnabled`. */
export function buildHttpServer(services: Services, config: HttpServerConfig, logger: PinoLogger): FastifyInstance {
  const listener = buildListenerOptions(config);
  const options = {
    // Typed as Fastify's base logger so that every register…(app) takes the one FastifyInstance type.
    loggerInstance: logger as FastifyBaseLogger,
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

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // One line per request, written when the answer has gone out (headers, bodies and credentials are never logged).
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.countRequest(request.outcome);
    const { fault } = request;
    // Building the line was a tenth of a cheap request's cost. request.log is a child of the pino `logger` (FastifyBaseLogger hides isLevelEnabled).
    if (!(request.log as PinoLogger).isLevelEnabled(fault?.logLevel ?? 'info')) return;
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
  registerSoapRoutes(app, services, config);

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
