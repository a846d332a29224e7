/**
 * The composition root: the only place (with the CLI) that picks concrete
 * engines and transports (DESIGN §5).
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino, type Logger as PinoLogger } from 'pino';
import { localAuthenticator } from './auth/authenticate.ts';
import { ConfigError, type Config } from './config.ts';
import { Kdf } from './crypto/kdf.ts';
import { loadOrCreateServerSecret } from './crypto/secret-key.ts';
import { buildHttpServer } from './http/server.ts';
import { KeyedMutex } from './lib/keyed-mutex.ts';
import type { MailTransport } from './mail/mail-message.ts';
import { PickupTransport } from './mail/pickup/pickup-transport.ts';
import { SmtpTransport } from './mail/smtp/smtp-transport.ts';
import { describeSmtpRelay, parseSmtpUrl } from './mail/smtp/smtp-url.ts';
import { cryptoDigits } from './pin/index.ts';
import { deliverDueMail } from './operations/outbox.ts';
import { discardAbandonedPinChanges } from './operations/recover-abandoned.ts';
import type { Logger, Services } from './operations/services.ts';
import { openPinStore } from './store/index.ts';

export interface OpenedServices {
  readonly services: Services;
  readonly secretCreated: boolean;
  close(): Promise<void>;
}

export async function openServices(config: Config, log: Logger): Promise<OpenedServices> {
  const store = await openPinStore(config.database);
  const boundKeyId = await store.findServerKeyId();
  if (boundKeyId !== undefined && !existsSync(config.secretFile)) {
    await store.close();
    // Creating a fresh secret here would only leave a useless key file behind.
    throw new ConfigError('UMPIN_SECRET_FILE', `${config.secretFile} does not exist, but this database was created with a secret (key id ${boundKeyId}). Restore that file or point UMPIN_SECRET_FILE at it.`);
  }
  let loaded;
  try {
    loaded = loadOrCreateServerSecret(config.secretFile);
  } catch (error) {
    await store.close();
    throw error;
  }
  const { secret, created } = loaded;
  const binding = await store.bindServerKey(secret.keyId);
  if (binding.status === 'mismatch') {
    await store.close();
    throw new ConfigError(
      'UMPIN_SECRET_FILE',
      `${config.secretFile} is not the secret this database was created with (key id ${secret.keyId}, the database expects ${binding.expected}). ` +
        'Point UMPIN_SECRET_FILE at the original file; instances that share a database must share its secret.',
    );
  }
  const kdf = new Kdf({ pepper: secret.pepper, concurrency: config.kdfConcurrency });
  let transport: MailTransport;
  try {
    transport = openMailTransport(config);
  } catch (error) {
    await store.close();
    throw error;
  }
  const services: Services = Object.freeze({
    store,
    kdf,
    authenticator: localAuthenticator(store, kdf, config.realm),
    secret,
    transport,
    mail: {
      from: config.mailFrom,
      handOffTimeoutMs: config.mailTimeoutMs,
      retryBaseMs: config.outboxRetryMs,
      giveUpAfterMs: config.outboxGiveUpMinutes * 60_000,
      ...(config.mailReplyTo ? { replyTo: config.mailReplyTo } : {}),
      ...(config.mailTemplateDir ? { templateDir: config.mailTemplateDir } : {}),
      ...(config.voiceAccessNumber ? { accessNumber: config.voiceAccessNumber } : {}),
    },
    realm: config.realm,
    now: () => new Date(),
    digits: cryptoDigits,
    owner: { host: hostname(), pid: process.pid },
    mailboxLocks: new KeyedMutex(),
    log,
  });
  return {
    services,
    secretCreated: created,
    async close() {
      await transport.close();
      await store.close();
    },
  };
}

/** SMTP when UMPIN_SMTP_URL is set, else the pickup directory. A bad URL or CA file is a configuration error. */
function openMailTransport(config: Config): MailTransport {
  if (config.smtpUrl === undefined) return new PickupTransport(config.pickupDir);
  try {
    return new SmtpTransport({
      relay: parseSmtpUrl(config.smtpUrl),
      ...(config.smtpCaFile ? { caFile: config.smtpCaFile } : {}),
      timeoutMs: config.mailTimeoutMs,
    });
  } catch (error) {
    if (!(error instanceof TypeError) || error instanceof ConfigError) throw error;
    const setting = error.message.startsWith('UMPIN_SMTP_CA_FILE') ? 'UMPIN_SMTP_CA_FILE' : 'UMPIN_SMTP_URL';
    throw new ConfigError(setting, error.message.replace(/^UMPIN_SMTP_(URL|CA_FILE):?\s*/, ''));
  }
}

/** Where mail goes, without secrets, for the start-up log line. */
function describeMail(config: Config): string {
  return config.smtpUrl === undefined ? `pickup directory ${config.pickupDir}` : `SMTP relay ${describeSmtpRelay(parseSmtpUrl(config.smtpUrl))}`;
}

const RECOVERY_INTERVAL_MS = 30_000;

/** `umpin serve`: recover, listen, sweep abandoned changes, stop cleanly on SIGTERM/SIGINT. */
export async function serve(config: Config): Promise<void> {
  const logger: PinoLogger = pino({ level: config.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
  const opened = await openServices(config, logger);
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
  await recover();

  const app = buildHttpServer(services, config, logger);
  const sweeper = setInterval(() => void recover().catch((err) => logger.error({ err }, 'recovery sweep failed')), RECOVERY_INTERVAL_MS);
  sweeper.unref();
  const worker = setInterval(() => void deliver().catch((err) => logger.error({ err }, 'outbox run failed')), config.outboxIntervalMs);
  worker.unref();

  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    clearInterval(sweeper);
    clearInterval(worker);
    await app.close();
    await opened.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.listen.host, port: config.listen.port });
  logger.info({ database: config.database.file, mail: describeMail(config) }, `umpin is serving ResetPIN at ${app.listeningOrigin}/EWS/UM2007Legacy.asmx`);
}
