/**
 * Health and metrics for the operator (issue 6): `/healthz` (the process
 * serves), `/readyz` (the database answers and its schema is current) and
 * `/metrics` (Prometheus text format). Not authenticated and not rate
 * limited: they hold no login, PIN or address, and a load balancer or
 * Prometheus must reach them without a key; restrict them at the proxy when
 * they must not be public (docs/metrics.md). They set no `request.outcome`,
 * so they are neither counted as service requests nor logged per request.
 */
import type { FastifyInstance, FastifyReply, LogLevel } from 'fastify';
import { withDeadline } from '../lib/with-deadline.ts';
import type { Services } from '../operations/services.ts';

/** A database that takes longer than this is not ready; a probe must answer before the balancer gives up on it. */
export const READY_TIMEOUT_MS = 3_000;

const TEXT = 'text/plain; charset=utf-8';
const QUIETER_THAN_WARN = ['error', 'fatal', 'silent'] as const;

export function registerHealthRoutes(app: FastifyInstance, services: Services): void {
  // At least warn: the per-request "answered" line is info, and a scrape every 15 s would drown the log.
  // Never lower than the configured level, or a silent service would start logging here.
  const logLevel: LogLevel = QUIETER_THAN_WARN.find((level) => level === app.log.level) ?? 'warn';
  const options = { logLevel };

  app.get('/healthz', options, async (_request, reply) => {
    noStore(reply).type(TEXT);
    return 'ok\n';
  });

  app.get('/readyz', options, async (request, reply) => {
    noStore(reply).type(TEXT);
    const reason = await findNotReadyReason(services);
    if (reason === undefined) return 'ready\n';
    request.log.warn({ reason: reason.text, err: reason.cause }, 'not ready');
    reply.code(503);
    return `not ready: ${reason.text}\n`;
  });

  app.get('/metrics', options, async (_request, reply) => {
    const scrape = await services.metrics.scrape();
    noStore(reply);
    if (scrape === undefined) {
      reply.code(404).type(TEXT);
      return 'This process collects no metrics.\n';
    }
    reply.type(scrape.contentType);
    return scrape.text;
  });
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

/**
 * Why the service cannot do its work now, in words safe to show anyone
 * (never the database URL or the driver's message: those go to the log).
 */
async function findNotReadyReason(services: Services): Promise<{ text: string; cause?: unknown } | undefined> {
  const timedOut = new Error(`the database did not answer within ${READY_TIMEOUT_MS} ms`);
  let state: Awaited<ReturnType<Services['store']['checkReady']>>;
  try {
    state = await withDeadline(READY_TIMEOUT_MS, () => services.store.checkReady(), () => timedOut);
  } catch (error) {
    if (error === timedOut) return { text: `the database did not answer within ${READY_TIMEOUT_MS / 1000} s` };
    return { text: 'the database cannot be reached', cause: error };
  }
  const pending = state.pendingMigrations;
  if (pending.length > 0) {
    return { text: `the database schema is not current: ${pending.length} migration(s) not applied (${pending.join(', ')}); restart umpin to apply them` };
  }
  return undefined;
}
