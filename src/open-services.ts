/**
 * Opens everything an operation needs, from the configuration: the store,
 * the server secret, the KDF and the mail transport. The CLI uses it for
 * every command; `serve` adds the HTTP server on top (main.ts), so admin
 * commands never load Fastify. What only some configurations use (the LDAP
 * client, the SMTP client) is imported only when configured: a CLI command's
 * time is mostly module loading.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { localAuthenticator, type Authenticator } from './auth/authenticate.ts';
import { CredentialCache } from './auth/credential-cache.ts';
import type { UserDirectory } from './auth/ldap-authenticator.ts';
import { ConfigError, type Config } from './config.ts';
import { Kdf } from './crypto/kdf.ts';
import { loadOrCreateServerSecret, type ServerKeyring } from './crypto/secret-key.ts';
import { finishRotation } from './operations/rotate-secret.ts';
import { KeyedMutex } from './lib/keyed-mutex.ts';
import type { MailTransport } from './mail/transport.ts';
import { PickupTransport } from './mail/pickup/pickup-transport.ts';
import { parseSmtpUrl } from './mail/smtp/smtp-url.ts';
import { redactUrl } from './lib/redact-url.ts';
import { Limits, limitKeySecret, limitSettings } from './operations/limits.ts';
import { NO_METRICS, type Metrics } from './observability/metrics.ts';
import type { Logger, Services } from './operations/services.ts';
import { cryptoDigits } from './pin/index.ts';
import { openPinStore, type PinStore } from './store/index.ts';

export interface OpenedServices {
  readonly services: Services;
  readonly secretCreated: boolean;
  close(): Promise<void>;
}

/** `metrics`: what `serve` collects for /metrics, given the store (outbox depth); the CLI collects nothing. */
export async function openServices(config: Config, log: Logger, options: { metrics?: (store: PinStore) => Metrics } = {}): Promise<OpenedServices> {
  const store = await openPinStore(config.database);
  const metrics = options.metrics?.(store) ?? NO_METRICS;
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
  try {
    await checkServerKeyBinding(store, secret, config.secretFile, log);
  } catch (error) {
    await store.close();
    throw error;
  }
  const kdf = new Kdf({ pepper: secret.pepper, keyId: secret.keyId, previous: secret.previous, concurrency: config.kdfConcurrency, observe: (purpose, seconds) => metrics.observeKdf(purpose, seconds) });
  let authenticator: Authenticator;
  let userDirectory: UserDirectory | undefined;
  try {
    const ldap = config.ldap ? await import('./auth/ldap-authenticator.ts') : undefined;
    const directory = ldap && config.ldap ? ldap.ldapAuthenticator(config.ldap, config.realm, log) : undefined;
    userDirectory = ldap && config.ldap ? ldap.ldapUserDirectory(config.ldap, log) : undefined;
    authenticator = localAuthenticator(store, kdf, config.realm, new CredentialCache({ pepper: secret.pepper }), directory);
  } catch (error) {
    await store.close();
    throw error;
  }
  let transport: MailTransport;
  try {
    transport = await openMailTransport(config);
  } catch (error) {
    await store.close();
    throw error;
  }
  const services: Services = Object.freeze({
    store,
    kdf,
    authenticator,
    keyring: secret,
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
    now: () => new Date(),
    digits: cryptoDigits,
    owner: { host: hostname(), pid: process.pid },
    mailboxLocks: new KeyedMutex(),
    limits: await openLimits(config, secret.pepper, log),
    log,
    metrics,
    ...(userDirectory ? { directory: userDirectory } : {}),
  });
  return {
    services,
    secretCreated: created,
    async close() {
      await services.limits.close();
      await transport.close();
      await store.close();
    },
  };
}

/**
 * The database remembers the key its verifiers are made under (docs/secret-rotation.md). It must be
 * the keyring's current key. Bound to a previous key of the ring, a rotation wrote the file but did
 * not rebind the database (it stopped between the two, or the ring was rotated by hand): the start
 * finishes it, since the ring still holds every key in use. Bound to a key the ring lacks: refused,
 * as every verifier would fail.
 */
async function checkServerKeyBinding(store: PinStore, secret: ServerKeyring, file: string, log: Logger): Promise<void> {
  const binding = await store.bindServerKey(secret.keyId);
  if (binding.status !== 'mismatch') return;
  if (secret.previous.some((key) => key.keyId === binding.expected)) {
    await finishRotation(store, secret, binding.expected, new Date());
    log.warn({ from: binding.expected, to: secret.keyId }, 'the database was bound to a previous key of the server keyring; it is now bound to the current key (a rotation finished at start)');
    return;
  }
  throw new ConfigError(
    'UMPIN_SECRET_FILE',
    `${file} is not the secret this database was created with or rotated to (the file's key id is ${secret.keyId}; the database is bound to ` +
      `key id ${binding.expected}, which the file does not hold). ` +
      'If the secret was rotated ("umpin secret rotate"), copy the rotated file to this host and start again; otherwise point UMPIN_SECRET_FILE at ' +
      'the file this database was created with. Instances that share a database must share its secret file.',
  );
}

/** SMTP when UMPIN_SMTP_URL is set, else the pickup directory. A bad URL or CA file is a configuration error. */
async function openMailTransport(config: Config): Promise<MailTransport> {
  if (config.smtpUrl === undefined) return new PickupTransport(config.pickupDir);
  const { SmtpTransport } = await import('./mail/smtp/smtp-transport.ts');
  // parseSmtpUrl and the CA file's reader throw ConfigErrors naming their settings themselves.
  return new SmtpTransport({
    relay: parseSmtpUrl(config.smtpUrl),
    ...(config.smtpCaFile ? { caFile: config.smtpCaFile } : {}),
    timeoutMs: config.mailTimeoutMs,
  });
}

/** Where mail goes, without secrets, for the start-up log line. */
export function describeMail(config: Config): string {
  return config.smtpUrl === undefined ? `pickup directory ${config.pickupDir}` : `SMTP relay ${redactUrl(config.smtpUrl)}`;
}

/**
 * The abuse limits of the configuration: in memory, or shared through Redis
 * when UMPIN_REDIS_URL is set (its client loaded only then). Counter names
 * are keyed with a key derived from the server secret (`pepper`), which
 * instances sharing a database already share.
 */
async function openLimits(config: Config, pepper: Uint8Array, log: Logger): Promise<Limits> {
  const settings = limitSettings(config.limits);
  if (config.redisUrl === undefined) return new Limits(settings);
  const { RedisCounters, RedisRateLimiter, openRedisClient } = await import('./lib/redis-rate-limiter.ts');
  const client = openRedisClient(config.redisUrl);
  const redis = redactUrl(config.redisUrl);
  const counters = new RedisCounters({
    client,
    keySecret: limitKeySecret(pepper),
    onUnavailable: (error) => log.warn({ redis, err: error.message },
      'Redis is not answering: each instance enforces the abuse limits on its own counters until it does; check that Redis is running and reachable'),
    onRestored: () => log.info({ redis }, 'Redis answers again: the abuse limits are shared between instances again'),
  });
  return new Limits(settings, Date.now, {
    counter: (rule, limit, memory) => new RedisRateLimiter(counters, rule, limit, memory),
    close: async () => client.disconnect(),
  });
}
