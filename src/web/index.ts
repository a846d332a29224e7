/**
 * "My voice mail PIN": the end user's own page under /my/ on the service's
 * port (docs/self-service.md). Everything here is the web edge: sign-in,
 * reset and a chosen PIN go through the same operations, limits and audit as
 * the SOAP service (operations/sign-in.ts, reset-pin.ts, self-service.ts).
 *
 * The field's own Fastify plugins, each in this encapsulated context only
 * (the SOAP and phone routes keep their headers and parsers):
 * @fastify/formbody (urlencoded forms), @fastify/cookie and
 * @fastify/secure-session (the sealed session), @fastify/csrf-protection
 * (a token in every form, its secret in the session), @fastify/helmet (CSP
 * and the other security headers).
 */
import { readFileSync } from 'node:fs';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifySecureSession from '@fastify/secure-session';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import { PlainHttpCredentialsRefused, ServerBusy, toUmpinError } from '../errors.ts';
import { isPlainHttpFromAnotherHost } from '../http/transport-security.ts';
import type { Services } from '../operations/services.ts';
import { errorPage, registerRoutes } from './routes.ts';
import { MAX_SESSION_MS, SESSION_COOKIE, deriveSessionKeys } from './session.ts';

export type SelfServiceConfig = Pick<Config, 'allowPlainHttpAuth' | 'webIdleSeconds'>;

const STYLE = readFileSync(new URL('./style.css', import.meta.url));
/** A form is a few short fields; anything larger is not ours. */
const FORM_LIMIT = 8 * 1024;

export function registerSelfService(app: FastifyInstance, services: Services, config: SelfServiceConfig): void {
  app.register(async (web) => {
    await web.register(fastifyFormbody, { bodyLimit: FORM_LIMIT });
    await web.register(fastifyCookie);
    await web.register(fastifySecureSession, {
      cookieName: SESSION_COOKIE,
      key: deriveSessionKeys(services.keyring),
      // A backstop: the cookie's own time stamp moves with every change; the session checks its limits itself.
      expiry: MAX_SESSION_MS / 1000,
      // No Max-Age: the cookie ends with the browser; 'auto' marks it Secure whenever the request came over HTTPS.
      cookie: { path: '/my', httpOnly: true, sameSite: 'strict', secure: 'auto' },
    });
    await web.register(fastifyCsrf, { sessionPlugin: '@fastify/secure-session' });
    await web.register(fastifyHelmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      // HSTS is sent for every route alike, on HTTPS answers only, by http/transport-security.ts (UMPIN_HSTS_MAX_AGE).
      hsts: false,
    });

    web.addHook('onRequest', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      // The SOAP service's rule (issue 7): a password, or the session standing for one, crosses no network in clear.
      if (!config.allowPlainHttpAuth && isPlainHttpFromAnotherHost(request)) throw new PlainHttpCredentialsRefused();
    });

    web.setErrorHandler(async (error, request, reply) => {
      const code = (error as { code?: string }).code ?? '';
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      if (code === 'FST_CSRF_MISSING_SECRET' || code === 'FST_CSRF_INVALID_TOKEN') {
        request.outcome = { operation: request.outcome?.operation ?? `web${request.url.replace(/^\/my/, '').split('?')[0]}`, result: 'csrf-rejected' };
        const login = (request as { session?: { get(key: string): unknown } }).session?.get('login');
        await services.store.appendAudit({
          at: services.now(), event: 'web.csrf', outcome: 'rejected', login: typeof login === 'string' ? login : null,
          actor: typeof login === 'string' ? login : 'anonymous', source: request.ip, detail: { via: 'web', path: request.url.split('?')[0] ?? '' },
        });
        return errorPage(request, reply, 403, 'error.csrf');
      }
      if (error instanceof PlainHttpCredentialsRefused) {
        request.outcome = { operation: 'web', result: error.code };
        return errorPage(request, reply, 403, 'signIn.plainHttp');
      }
      if (code.startsWith('FST_') && status >= 400 && status < 500) {
        request.outcome = { operation: 'web', result: code };
        return errorPage(request, reply, status, 'error.badForm');
      }
      const failure = toUmpinError(error);
      request.fault = failure;
      request.outcome = { ...request.outcome, operation: request.outcome?.operation ?? 'web', result: failure.code };
      if (failure instanceof ServerBusy) {
        reply.headers(failure.httpHeaders);
        return errorPage(request, reply, 503, 'error.busy');
      }
      return errorPage(request, reply, 500, 'error.internal');
    });

    web.setNotFoundHandler(async (request, reply) => errorPage(request, reply, 404, 'error.notFound'));

    web.get('/style.css', async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8');
      return STYLE;
    });

    registerRoutes(web, services, { idleMs: config.webIdleSeconds * 1000 });
  }, { prefix: '/my' });
}
