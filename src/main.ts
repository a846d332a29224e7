/**
 * `umpin serve`: the composition root of the running service — services
 * (open-services.ts), the HTTP server, the recovery sweeper and the outbox worker.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import { startAgiServer, type AgiServer } from './agi/agi-server.ts';
import { describeMail, openServices } from './open-services.ts';
import { describeDatabase, type Config } from './config.ts';
import { buildListenerOptions } from './http/listener-options.ts';
import { buildHttpServer } from './http/server.ts';
import { PrometheusMetrics } from './observability/prometheus-metrics.ts';
import { pruneExpiredAudit } from './operations/audit.ts';
import { deliverDueMail } from './operations/outbox.ts';
import { discardAbandonedPinChanges } from './operations/recover-abandoned.ts';

const RECOVERY_INTERVAL_MS = 30_000;
/** Retention runs this often; an hour's worth of events is little, and every instance may run it (a delete is idempotent). */
const AUDIT_RETENTION_INTERVAL_MS = 3_600_000;

/** `umpin serve`: recover, listen, sweep abandoned changes, stop cleanly on SIGTERM/SIGINT. */
export async function serve(config: Config): Promise<void> {
  // Unreadable or mismatched TLS files stop the start here, before the database is opened or migrated.
  const listener = buildListenerOptions(config);
  const logger: PinoLogger = pino({ level: config.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
  const opened = await openServices(config, logger, { metrics: (store) => new PrometheusMetrics({ outboxDepth: () => store.countQueuedMail() }) });
  const { services } = opened;
  if (opened.secretCreated) logger.info({ file: config.secretFile }, 'created a new server secret; back it up with the database');

  const recover = async () => {
    const { results } = await discardAbandonedPinChanges(services);
    for (const r of results) {
      if (r.status === 'Failed') logger.error({ login: r.login, err: r.error }, 'could not recover an abandoned PIN change');
      else if (r.status === 'Requeued') logger.warn({ login: r.login, changeId: r.id }, 'queued again a PIN mail whose worker stopped');
      else logger.warn({ login: r.login, changeId: r.id }, 'discarded an abandoned PIN change; the old PIN stays');
    }
  };
  let delivering = false;
  const deliver = async () => {
    if (delivering) return; // one run at a time in this process; other instances are kept apart by the claim
    delivering = true;
    try {
      for (const r of (await deliverDueMail(services)).results) {
        const line = { login: r.login, id: r.id, reply: r.reply };
        if (r.status === 'Sent') logger.info(line, 'delivered a queued PIN mail; its PIN is now active');
        else if (r.status === 'Retry') logger.warn(line, 'a queued PIN mail could not be delivered yet; it will be retried');
        else logger.error(line, 'gave up on a queued PIN mail; the old PIN stays');
      }
    } finally {
      delivering = false;
    }
  };
  const pruneAudit = async () => {
    const pruned = await pruneExpiredAudit(services, config.auditRetentionDays);
    if (pruned && pruned.deleted > 0) logger.info({ deleted: pruned.deleted, before: pruned.before.toISOString() }, 'deleted audit events older than UMPIN_AUDIT_RETENTION_DAYS');
  };
  await recover();

  const app = buildHttpServer(services, config, logger);
  const sweeper = setInterval(() => void recover().catch((err) => logger.error({ err }, 'recovery sweep failed')), RECOVERY_INTERVAL_MS);
  sweeper.unref();
  const worker = setInterval(() => void deliver().catch((err) => logger.error({ err }, 'outbox run failed')), config.outboxIntervalMs);
  worker.unref();
  const retention = setInterval(() => void pruneAudit().catch((err) => logger.error({ err }, 'audit retention run failed')), AUDIT_RETENTION_INTERVAL_MS);
  retention.unref();
  // Not awaited: the first run after an upgrade may have years to delete, and serving must not wait for it.
  void pruneAudit().catch((err) => logger.error({ err }, 'audit retention run failed'));

  let agi: AgiServer | undefined;
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    clearInterval(sweeper);
    clearInterval(worker);
    clearInterval(retention);
    await agi?.close();
    await app.close();
    await opened.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.listen.host, port: config.listen.port });
  if (config.agi) {
    agi = await startAgiServer(services, { agi: config.agi, extensionContexts: config.pbxExtensionContexts });
    logger.info({ address: agi.address.address, port: agi.address.port, allow: config.agi.allow }, 'FastAGI listener for Asterisk is up (scripts: logon, change-pin)');
  }
  const tls = listener.certificateValidTo === undefined ? {} : { certificateValidTo: listener.certificateValidTo.toISOString() };
  // listeningOrigin says https:// when the listener speaks TLS itself.
  logger.info({ database: describeDatabase(config.database), mail: describeMail(config), ...tls }, `umpin is serving ResetPIN at ${app.listeningOrigin}/EWS/UM2007Legacy.asmx`);
}
