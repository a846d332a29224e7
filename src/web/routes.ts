/**
 * The self-service routes under /my/. Post/Redirect/Get: every successful
 * POST answers 303 to a page, so a reload never repeats an action; a POST
 * that cannot be done renders its form again with the errors. Every POST
 * carries a CSRF token (checked before the handler runs); every page that
 * needs a sign-in checks the session first and sends an ended one back to
 * the sign-in page with nothing done.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationFailed, MailboxNotEnabled, MailHandOffFailed, NoPinSatisfiesPolicy, PinPolicyViolated, ServerBusy } from '../errors.ts';
import { resetOwnPin } from '../operations/reset-pin.ts';
import { chooseOwnPin, describeOwnPin } from '../operations/self-service.ts';
import type { Services } from '../operations/services.ts';
import { admitRequest, signIn } from '../operations/sign-in.ts';
import { isLanguage, negotiateLanguage, translator, type Language } from './i18n.ts';
import { checkSession, credentialStamp, endSession, forgetSignIn, sessionLanguage, startSession, takeFlash } from './session.ts';
import {
  pinFailures, renderChoose, renderError, renderNotEnabled, renderResetConfirm, renderSignIn, renderStatus, signInErrors, type PageContext,
} from './views.ts';

const HTML = 'text/html; charset=utf-8';
/** Longer values are no login, password or PIN of ours; refused like a wrong one without the work. */
const MAX_FIELD = 1024;

export interface RouteOptions {
  readonly idleMs: number;
}

export function registerRoutes(web: FastifyInstance, services: Services, options: RouteOptions): void {
  const audit = (request: FastifyRequest, event: string, outcome: string, login: string | null, detail: Record<string, string> = {}) =>
    services.store.appendAudit({ at: services.now(), event, outcome, login, actor: login ?? 'anonymous', source: request.ip, detail: { via: 'web', ...detail } });

  /** The login of a live session, or undefined after answering with the way back to the sign-in page. */
  async function requireSignedIn(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
    const state = await checkSession(services, request.session, options.idleMs);
    if (state.status === 'signed-in') return state.login;
    if (state.status === 'ended') {
      await audit(request, 'web.session', `ended-${state.reason}`, state.login);
      forgetSignIn(request.session, 'expired');
    }
    request.outcome = { operation: request.outcome?.operation ?? 'web', result: 'not-signed-in' };
    void reply.code(303).header('location', '/my/').send();
    return undefined;
  }

  /** A GET with ?lang=xx remembers the language and reloads the page without the query. */
  web.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'GET') return;
    const lang = (request.query as Record<string, unknown> | undefined)?.lang;
    if (!isLanguage(lang)) return;
    request.session.set('lang', lang);
    await reply.code(303).header('location', request.url.split('?')[0] ?? '/my/').send();
  });

  web.get('/', async (request, reply) => {
    request.outcome = { operation: 'web/sign-in', result: 'page' };
    const state = await checkSession(services, request.session, options.idleMs);
    if (state.status === 'signed-in') return reply.code(303).header('location', '/my/pin').send();
    if (state.status === 'ended') {
      await audit(request, 'web.session', `ended-${state.reason}`, state.login);
      forgetSignIn(request.session, 'expired');
    }
    return page(reply, 200, renderSignIn(context(request, reply, '/my/'), { flash: takeFlash(request.session) }));
  });

  web.post('/sign-in', { preHandler: web.csrfProtection }, async (request, reply) => {
    request.outcome = { operation: 'web/sign-in', result: 'rejected' };
    const form = readForm(request);
    const login = form.login ?? '';
    const password = form.password ?? '';
    const ctx = context(request, reply, '/my/');
    const t = translator(ctx.lang);
    if (login === '' || password === '') {
      return page(reply, 400, renderSignIn(ctx, { login, errors: signInErrors(t, { login: login === '', password: password === '' }) }));
    }
    try {
      await admitRequest(services, request.ip);
      const caller = await signIn(services, { login, password }, request.ip, 'web.sign-in', 'web');
      startSession(request.session, caller.login, await credentialStamp(services, caller.login), services.now().getTime());
      await audit(request, 'web.sign-in', 'success', caller.login);
      request.outcome = { operation: 'web/sign-in', result: 'success', login: caller.login };
      return reply.code(303).header('location', '/my/pin').send();
    } catch (error) {
      if (error instanceof AuthenticationFailed) {
        request.outcome = { operation: 'web/sign-in', result: error.code };
        return page(reply, 400, renderSignIn(ctx, { login, errors: [{ field: 'password', messages: [t('signIn.failed')] }] }));
      }
      if (error instanceof ServerBusy) {
        await audit(request, 'web.sign-in', 'rate-limited', login.slice(0, 256));
        request.outcome = { operation: 'web/sign-in', result: error.code };
        reply.headers(error.httpHeaders);
        return page(reply, 503, renderSignIn(ctx, { login, problem: 'signIn.busy' }));
      }
      throw error;
    }
  });

  web.get('/pin', async (request, reply) => {
    request.outcome = { operation: 'web/pin', result: 'page' };
    const login = await requireSignedIn(request, reply);
    if (login === undefined) return reply;
    const ctx = context(request, reply, '/my/pin', login);
    try {
      return page(reply, 200, renderStatus(ctx, await describeOwnPin(services, login), takeFlash(request.session)));
    } catch (error) {
      if (error instanceof MailboxNotEnabled) return page(reply, 200, renderNotEnabled(ctx));
      throw error;
    }
  });

  web.get('/reset', async (request, reply) => {
    request.outcome = { operation: 'web/reset', result: 'page' };
    const login = await requireSignedIn(request, reply);
    if (login === undefined) return reply;
    const ctx = context(request, reply, '/my/reset', login);
    const state = await describeOwnPin(services, login).catch(notEnabledAsUndefined);
    return state ? page(reply, 200, renderResetConfirm(ctx, state.mailTo)) : page(reply, 200, renderNotEnabled(ctx));
  });

  web.post('/reset', { preHandler: web.csrfProtection }, async (request, reply) => {
    request.outcome = { operation: 'web/reset', result: 'rejected' };
    const login = await requireSignedIn(request, reply);
    if (login === undefined) return reply;
    request.outcome = { operation: 'web/reset', result: 'rejected', login };
    const ctx = context(request, reply, '/my/reset', login);
    const state = await describeOwnPin(services, login).catch(notEnabledAsUndefined);
    if (!state) return page(reply, 200, renderNotEnabled(ctx));
    try {
      await resetOwnPin(services, login, { actor: login, source: request.ip, via: 'web' });
    } catch (error) {
      request.outcome = { operation: 'web/reset', result: (error as { code?: string }).code ?? 'failed', login };
      if (error instanceof MailHandOffFailed) return page(reply, 502, renderResetConfirm(ctx, state.mailTo, 'reset.mailFailed'));
      if (error instanceof NoPinSatisfiesPolicy) return page(reply, 500, renderResetConfirm(ctx, state.mailTo, 'reset.noPin'));
      if (error instanceof ServerBusy) {
        reply.headers(error.httpHeaders);
        return page(reply, 503, renderResetConfirm(ctx, state.mailTo, 'reset.busy'));
      }
      throw error;
    }
    request.outcome = { operation: 'web/reset', result: 'success', login };
    request.session.set('flash', 'reset-sent');
    return reply.code(303).header('location', '/my/pin').send();
  });

  web.get('/choose', async (request, reply) => {
    request.outcome = { operation: 'web/choose', result: 'page' };
    const login = await requireSignedIn(request, reply);
    if (login === undefined) return reply;
    const ctx = context(request, reply, '/my/choose', login);
    const state = await describeOwnPin(services, login).catch(notEnabledAsUndefined);
    return state ? page(reply, 200, renderChoose(ctx, state)) : page(reply, 200, renderNotEnabled(ctx));
  });

  web.post('/choose', { preHandler: web.csrfProtection }, async (request, reply) => {
    request.outcome = { operation: 'web/choose', result: 'rejected' };
    const login = await requireSignedIn(request, reply);
    if (login === undefined) return reply;
    request.outcome = { operation: 'web/choose', result: 'rejected', login };
    const ctx = context(request, reply, '/my/choose', login);
    const t = translator(ctx.lang);
    const state = await describeOwnPin(services, login).catch(notEnabledAsUndefined);
    if (!state) return page(reply, 200, renderNotEnabled(ctx));
    const form = readForm(request);
    const pin = form.pin ?? '';
    const again = form.pin2 ?? '';
    if (pin === '' || again === '') {
      const errors = [
        ...(pin === '' ? [{ field: 'pin', messages: [t('choose.missing')] }] : []),
        ...(again === '' ? [{ field: 'pin2', messages: [t('choose.missingConfirm')] }] : []),
      ];
      return page(reply, 400, renderChoose(ctx, state, { errors }));
    }
    if (pin !== again) return page(reply, 400, renderChoose(ctx, state, { errors: [{ field: 'pin2', messages: [t('choose.mismatch')] }] }));
    try {
      await chooseOwnPin(services, login, pin, { actor: login, source: request.ip, via: 'web' });
    } catch (error) {
      request.outcome = { operation: 'web/choose', result: (error as { code?: string }).code ?? 'failed', login };
      if (error instanceof PinPolicyViolated) return page(reply, 400, renderChoose(ctx, state, { errors: [pinFailures(t, error.failures, state)] }));
      if (error instanceof ServerBusy) {
        reply.headers(error.httpHeaders);
        return page(reply, 503, renderChoose(ctx, state, { problem: 'choose.busy' }));
      }
      throw error;
    }
    request.outcome = { operation: 'web/choose', result: 'success', login };
    request.session.set('flash', 'pin-changed');
    return reply.code(303).header('location', '/my/pin').send();
  });

  web.post('/sign-out', { preHandler: web.csrfProtection }, async (request, reply) => {
    const login = await endSession(services, request.session, 'signed-out');
    request.outcome = { operation: 'web/sign-out', result: 'success', ...(login ? { login } : {}) };
    if (login !== undefined) await audit(request, 'web.sign-out', 'success', login);
    return reply.code(303).header('location', '/my/').send();
  });
}

export function pageLanguage(request: FastifyRequest): Language {
  // The session is absent when the request failed before the session plugin read the cookie.
  const fromSession = (request as { session?: FastifyRequest['session'] }).session;
  return (fromSession ? sessionLanguage(fromSession) : undefined) ?? negotiateLanguage(headerText(request.headers['accept-language']));
}

function context(request: FastifyRequest, reply: FastifyReply, path: string, login?: string): PageContext {
  return { lang: pageLanguage(request), path, csrf: reply.generateCsrf(), ...(login === undefined ? {} : { login }) };
}

export function page(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type(HTML).send(body);
}

export function errorPage(request: FastifyRequest, reply: FastifyReply, status: number, message: Parameters<typeof renderError>[1]): FastifyReply {
  const session = (request as { session?: FastifyRequest['session'] }).session;
  const signedIn = typeof session?.get('login') === 'string';
  return page(reply, status, renderError({ lang: pageLanguage(request), path: '/my/' }, message, signedIn ? '/my/pin' : '/my/'));
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** The urlencoded form's string fields; a repeated or over-long field counts as absent. */
function readForm(request: FastifyRequest): Record<string, string | undefined> {
  const body = request.body;
  if (typeof body !== 'object' || body === null || Buffer.isBuffer(body)) return {};
  const fields: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    fields[name] = typeof value === 'string' && value.length <= MAX_FIELD ? value : undefined;
  }
  return fields;
}

function notEnabledAsUndefined(error: unknown): undefined {
  if (error instanceof MailboxNotEnabled) return undefined;
  throw error;
}
