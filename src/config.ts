/**
 * Configuration from UMPIN_* environment variables, validated once into a
 * frozen object. A bad value stops the start with a message that names the
 * setting (STYLE 4: misconfiguration is a TypeError, not a fault).
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

export class ConfigError extends TypeError {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.setting = setting;
  }
}

export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  /** PostgreSQL's `url` holds the password: log `describeDatabase(database)`, never the URL. */
  readonly database:
    | { readonly engine: 'sqlite'; readonly file: string }
    | { readonly engine: 'postgres'; readonly url: string };
  readonly secretFile: string;
  readonly pickupDir: string;
  readonly publicUrl: string | undefined;
  /** POST /autodiscover/autodiscover.xml answers the Voice Mail Settings URL (UMUrl); docs/autodiscover.md. */
  readonly autodiscover: boolean;
  readonly bodyLimit: number;
  readonly mailFrom: string;
  readonly mailReplyTo: string | undefined;
  readonly mailTimeoutMs: number;
  /** `smtp://…` / `smtps://…`; the pickup directory is used when absent. Parsed by the SMTP transport at start-up. */
  readonly smtpUrl: string | undefined;
  readonly smtpCaFile: string | undefined;
  readonly mailTemplateDir: string | undefined;
  readonly voiceAccessNumber: string | undefined;
  readonly outboxRetryMs: number;
  readonly outboxGiveUpMinutes: number;
  readonly outboxIntervalMs: number;
  /** Abuse limits (operations/limits.ts); each is a count per its window. */
  readonly limits: {
    readonly requestsPerAddressPerMinute: number;
    readonly failedSignInsPer15Minutes: number;
    readonly resetsPerLoginPerHour: number;
    readonly phoneFailuresPerSourcePer15Minutes: number;
    readonly autoResetsPerMailboxPerHour: number;
    /** IPv6 sources count per network of this many bits (docs/limits.md). */
    readonly ipv6PrefixLength: number;
  };
  /** Directory sign-in (auth/ldap-authenticator.ts); absent when UMPIN_LDAP_URL is unset. */
  readonly ldap: LdapConfig | undefined;
  /** Shares the abuse limits' counters between instances; in-memory when absent. Holds the password when there is one. */
  readonly redisUrl: string | undefined;
  /** HTTPS on the listener itself; absent: plain HTTP (TLS terminated in front, or loopback). */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Basic credentials over plain HTTP from a non-loopback peer: refused unless this is set. */
  readonly allowPlainHttpAuth: boolean;
  readonly hstsMaxAgeSeconds: number;
  /** Proxy addresses/CIDRs whose X-Forwarded-For names the real client (limits, audit); empty: none trusted. */
  readonly trustedProxies: readonly string[];
  /** Slow clients: the whole header block, and the whole request, must arrive within these. */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly realm: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly kdfConcurrency: number;
  /** A self-service session unused this long ends (src/web/). */
  readonly webIdleSeconds: number;
  /** The FastAGI listener for Asterisk (src/agi/); absent unless UMPIN_AGI_LISTEN is set. */
  readonly agi: AgiConfig | undefined;
  /** PBX contexts / domains whose mailbox numbers are umpin extensions (operations/pbx-pin.ts); `*`: any. */
  readonly pbxExtensionContexts: readonly string[];
}

export interface AgiConfig {
  readonly listen: { readonly host: string; readonly port: number };
  /** Peer addresses or CIDRs allowed to connect; everyone else is closed on at once. */
  readonly allow: readonly string[];
  /** Each line a peer owes (the environment block, each command's reply) must arrive within this. */
  readonly readTimeoutMs: number;
}

export interface LdapConfig {
  /** ldap://host:389 or ldaps://host:636 */
  readonly url: string;
  readonly startTls: boolean;
  /** The service account that searches for the user's entry; anonymous search when absent. */
  readonly bindDn: string | undefined;
  readonly bindPasswordFile: string | undefined;
  readonly baseDn: string;
  /** uid (OpenLDAP), userPrincipalName or sAMAccountName (Active Directory). */
  readonly loginAttribute: string;
  readonly mailAttribute: string;
  readonly extensionAttribute: string;
  readonly caFile: string | undefined;
  readonly timeoutMs: number;
}

/** Each setting, its default and meaning: the README's configuration table is written from this. */
export const SETTINGS = {
  UMPIN_LISTEN: { default: '127.0.0.1:8080', help: 'host:port to serve on ([::1]:8080 for IPv6)' },
  UMPIN_DATA_DIR: { default: './var', help: 'where the embedded state lives' },
  UMPIN_DATABASE_URL: { default: 'sqlite:<data dir>/umpin.sqlite', help: 'the database; sqlite:<file> or postgres://user:password@host:5432/database' },
  UMPIN_SECRET_FILE: { default: '<data dir>/secret.key', help: 'server secret (argon2 pepper, mail key); created 0600 on first start' },
  UMPIN_PICKUP_DIR: { default: '<data dir>/pickup', help: 'where PIN mails are written as .eml files' },
  UMPIN_PUBLIC_URL: { default: '(from the request)', help: 'scheme://host[:port] clients reach the service at; used in the WSDL' },
  UMPIN_AUTODISCOVER: { default: 'true', help: 'false: do not answer POST /autodiscover/autodiscover.xml (UMUrl for Outlook)' },
  UMPIN_BODY_LIMIT: { default: '65536', help: 'largest request body in bytes (1024–10485760)' },
  UMPIN_MAIL_FROM: { default: 'Voice Mail <voicemail@localhost>', help: 'From: of PIN mails (display name and address)' },
  UMPIN_MAIL_REPLY_TO: { default: '(none)', help: 'Reply-To: of PIN mails, e.g. the help desk' },
  UMPIN_SMTP_URL: { default: '(none: pickup directory)', help: 'smtp://user:pass@host:587 (STARTTLS required), smtps://host:465, ?tls=off for a loopback relay' },
  UMPIN_SMTP_CA_FILE: { default: '(system CAs)', help: "PEM file of CAs to trust for the relay's certificate, besides the system's" },
  UMPIN_MAIL_TEMPLATE_DIR: { default: '(built-in)', help: 'a directory of mail templates that override the built-in ones' },
  UMPIN_VOICE_ACCESS_NUMBER: { default: '(none)', help: 'the number users call for voice mail, named in PIN mails' },
  UMPIN_MAIL_TIMEOUT_MS: { default: '15000', help: 'how long a mail hand-off may take before the reset fails (100–300000)' },
  UMPIN_OUTBOX_RETRY_MS: { default: '30000', help: 'first retry of a queued PIN mail after this long, doubling up to an hour (100–3600000)' },
  UMPIN_OUTBOX_GIVE_UP_MINUTES: { default: '1440', help: 'a queued PIN mail not delivered within this is given up; the old PIN stays (1–43200)' },
  UMPIN_OUTBOX_INTERVAL_MS: { default: '5000', help: 'how often the outbox worker looks for due mail (100–600000)' },
  UMPIN_LIMIT_REQUESTS_PER_MINUTE: { default: '120', help: 'SOAP requests per client address per minute, before any password work' },
  UMPIN_LIMIT_FAILED_SIGNINS: { default: '10', help: 'failed sign-ins per login and address per 15 minutes' },
  UMPIN_LIMIT_RESETS_PER_HOUR: { default: '20', help: 'ResetPIN calls per login per hour' },
  UMPIN_LIMIT_PHONE_FAILURES: { default: '5', help: 'wrong phone PINs per mailbox and PBX address per 15 minutes (more are refused, not counted)' },
  UMPIN_LIMIT_AUTO_RESETS_PER_HOUR: { default: '3', help: 'automatic-reset mails per mailbox per hour' },
  UMPIN_LIMIT_IPV6_PREFIX: { default: '64', help: 'IPv6 client addresses count per network of this many bits in every limit (16–128)' },
  UMPIN_LDAP_URL: { default: '(none: local users only)', help: 'ldap://host:389 or ldaps://host:636: also check sign-ins against this directory' },
  UMPIN_LDAP_STARTTLS: { default: 'false', help: 'true: upgrade an ldap:// connection with StartTLS before any bind' },
  UMPIN_LDAP_BIND_DN: { default: '(anonymous search)', help: 'the service account that looks up the user entry' },
  UMPIN_LDAP_BIND_PASSWORD_FILE: { default: '(none)', help: "file holding the service account's password" },
  UMPIN_LDAP_BASE_DN: { default: '(required with UMPIN_LDAP_URL)', help: 'where user entries are searched, e.g. ou=people,dc=example,dc=com' },
  UMPIN_LDAP_LOGIN_ATTRIBUTE: { default: 'uid', help: 'the attribute a login is matched to: uid, userPrincipalName or sAMAccountName' },
  UMPIN_LDAP_MAIL_ATTRIBUTE: { default: 'mail', help: "the attribute holding the user's mail address" },
  UMPIN_LDAP_EXTENSION_ATTRIBUTE: { default: 'telephoneNumber', help: "the attribute holding the user's extension" },
  UMPIN_LDAP_CA_FILE: { default: '(system CAs)', help: "PEM file of CAs to trust for the directory's certificate" },
  UMPIN_LDAP_TIMEOUT_MS: { default: '5000', help: 'how long a directory may take to answer before sign-in fails (100–60000)' },
  UMPIN_REDIS_URL: { default: '(none: limits per instance)', help: 'redis://host:6379: instances share their abuse-limit counters here' },
  UMPIN_TLS_CERT: { default: '(none: plain HTTP)', help: 'PEM certificate chain to serve HTTPS with (needs UMPIN_TLS_KEY)' },
  UMPIN_TLS_KEY: { default: '(none)', help: 'PEM private key for UMPIN_TLS_CERT' },
  UMPIN_ALLOW_PLAIN_HTTP_AUTH: { default: 'false', help: 'true: accept passwords over plain HTTP from non-loopback peers (only behind a TLS proxy)' },
  UMPIN_HSTS_MAX_AGE: { default: '31536000', help: 'Strict-Transport-Security max-age in seconds on HTTPS answers; 0 sends none' },
  UMPIN_TRUSTED_PROXIES: { default: '(none)', help: 'comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed' },
  UMPIN_HEADERS_TIMEOUT_MS: { default: '10000', help: 'a client must send its request headers within this (1000–120000)' },
  UMPIN_REQUEST_TIMEOUT_MS: { default: '30000', help: 'a client must send its whole request within this (1000–300000)' },
  UMPIN_REALM: { default: 'umpin', help: 'the HTTP Basic realm' },
  UMPIN_LOG_LEVEL: { default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  UMPIN_KDF_CONCURRENCY: { default: '(number of cores)', help: 'argon2 hashes computed at once' },
  UMPIN_WEB_IDLE_SECONDS: { default: '900', help: 'a self-service (/my/) session unused this long ends (10–86400; 900 = 15 minutes)' },
  UMPIN_AGI_LISTEN: { default: '(none: no FastAGI)', help: 'host:port of the FastAGI listener for Asterisk, usually 127.0.0.1:4573 (docs/pbx.md)' },
  UMPIN_AGI_ALLOW: { default: '127.0.0.1,::1', help: 'comma-separated addresses or CIDRs of the Asterisk servers allowed to connect to the FastAGI listener' },
  UMPIN_AGI_READ_TIMEOUT_MS: { default: '60000', help: 'each line Asterisk owes the FastAGI listener (a reply, the caller typing) must arrive within this (1000–600000)' },
  UMPIN_PBX_EXTENSION_CONTEXTS: { default: 'default', help: "comma-separated PBX contexts/domains whose mailbox numbers are umpin extensions; * for any (docs/pbx.md)" },
} as const;

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const value = (name: keyof typeof SETTINGS) => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const dataDir = resolve(cwd, value('UMPIN_DATA_DIR') ?? './var');
  const inData = (name: keyof typeof SETTINGS, fallback: string) => resolve(cwd, value(name) ?? resolve(dataDir, fallback));
  const optional = <T>(name: keyof typeof SETTINGS, parse: (raw: string) => T): T | undefined => {
    const raw = value(name);
    return raw === undefined ? undefined : parse(raw);
  };

  return Object.freeze({
    listen: Object.freeze(parseListen(value('UMPIN_LISTEN') ?? SETTINGS.UMPIN_LISTEN.default)),
    dataDir,
    database: Object.freeze(parseDatabaseUrl(value('UMPIN_DATABASE_URL'), dataDir, cwd)),
    secretFile: inData('UMPIN_SECRET_FILE', 'secret.key'),
    pickupDir: inData('UMPIN_PICKUP_DIR', 'pickup'),
    publicUrl: parsePublicUrl(value('UMPIN_PUBLIC_URL')),
    autodiscover: parseBoolean('UMPIN_AUTODISCOVER', value('UMPIN_AUTODISCOVER') ?? 'true'),
    bodyLimit: parseInteger('UMPIN_BODY_LIMIT', value('UMPIN_BODY_LIMIT') ?? '65536', 1024, 10 * 1024 * 1024),
    mailFrom: parseMailFrom(value('UMPIN_MAIL_FROM') ?? SETTINGS.UMPIN_MAIL_FROM.default),
    mailReplyTo: optional('UMPIN_MAIL_REPLY_TO', (raw) => parseMailFrom(raw, 'UMPIN_MAIL_REPLY_TO')),
    smtpUrl: value('UMPIN_SMTP_URL'),
    smtpCaFile: optional('UMPIN_SMTP_CA_FILE', (raw) => resolve(cwd, raw)),
    mailTemplateDir: optional('UMPIN_MAIL_TEMPLATE_DIR', (raw) => resolve(cwd, raw)),
    voiceAccessNumber: optional('UMPIN_VOICE_ACCESS_NUMBER', parseAccessNumber),
    mailTimeoutMs: parseInteger('UMPIN_MAIL_TIMEOUT_MS', value('UMPIN_MAIL_TIMEOUT_MS') ?? '15000', 100, 300_000),
    outboxRetryMs: parseInteger('UMPIN_OUTBOX_RETRY_MS', value('UMPIN_OUTBOX_RETRY_MS') ?? '30000', 100, 3_600_000),
    outboxGiveUpMinutes: parseInteger('UMPIN_OUTBOX_GIVE_UP_MINUTES', value('UMPIN_OUTBOX_GIVE_UP_MINUTES') ?? '1440', 1, 43_200),
    outboxIntervalMs: parseInteger('UMPIN_OUTBOX_INTERVAL_MS', value('UMPIN_OUTBOX_INTERVAL_MS') ?? '5000', 100, 600_000),
    limits: Object.freeze({
      requestsPerAddressPerMinute: parseInteger('UMPIN_LIMIT_REQUESTS_PER_MINUTE', value('UMPIN_LIMIT_REQUESTS_PER_MINUTE') ?? '120', 1, 10_000_000),
      failedSignInsPer15Minutes: parseInteger('UMPIN_LIMIT_FAILED_SIGNINS', value('UMPIN_LIMIT_FAILED_SIGNINS') ?? '10', 1, 1_000_000),
      resetsPerLoginPerHour: parseInteger('UMPIN_LIMIT_RESETS_PER_HOUR', value('UMPIN_LIMIT_RESETS_PER_HOUR') ?? '20', 1, 1_000_000),
      phoneFailuresPerSourcePer15Minutes: parseInteger('UMPIN_LIMIT_PHONE_FAILURES', value('UMPIN_LIMIT_PHONE_FAILURES') ?? '5', 1, 1_000_000),
      autoResetsPerMailboxPerHour: parseInteger('UMPIN_LIMIT_AUTO_RESETS_PER_HOUR', value('UMPIN_LIMIT_AUTO_RESETS_PER_HOUR') ?? '3', 1, 1_000),
      ipv6PrefixLength: parseInteger('UMPIN_LIMIT_IPV6_PREFIX', value('UMPIN_LIMIT_IPV6_PREFIX') ?? '64', 16, 128),
    }),
    ldap: parseLdap(value, cwd),
    redisUrl: optional('UMPIN_REDIS_URL', parseRedisUrl),
    tls: parseTls(value('UMPIN_TLS_CERT'), value('UMPIN_TLS_KEY'), cwd),
    allowPlainHttpAuth: parseBoolean('UMPIN_ALLOW_PLAIN_HTTP_AUTH', value('UMPIN_ALLOW_PLAIN_HTTP_AUTH') ?? 'false'),
    hstsMaxAgeSeconds: parseInteger('UMPIN_HSTS_MAX_AGE', value('UMPIN_HSTS_MAX_AGE') ?? '31536000', 0, 63_072_000),
    trustedProxies: Object.freeze(parseTrustedProxies(value('UMPIN_TRUSTED_PROXIES'))),
    headersTimeoutMs: parseInteger('UMPIN_HEADERS_TIMEOUT_MS', value('UMPIN_HEADERS_TIMEOUT_MS') ?? '10000', 1000, 120_000),
    requestTimeoutMs: parseInteger('UMPIN_REQUEST_TIMEOUT_MS', value('UMPIN_REQUEST_TIMEOUT_MS') ?? '30000', 1000, 300_000),
    realm: parseRealm(value('UMPIN_REALM') ?? 'umpin'),
    logLevel: parseLogLevel(value('UMPIN_LOG_LEVEL') ?? 'info'),
    kdfConcurrency: parseInteger('UMPIN_KDF_CONCURRENCY', value('UMPIN_KDF_CONCURRENCY') ?? String(availableParallelism()), 1, 256),
    webIdleSeconds: parseInteger('UMPIN_WEB_IDLE_SECONDS', value('UMPIN_WEB_IDLE_SECONDS') ?? '900', 10, 86_400),
    agi: parseAgi(value),
    pbxExtensionContexts: Object.freeze(parseNameList('UMPIN_PBX_EXTENSION_CONTEXTS', value('UMPIN_PBX_EXTENSION_CONTEXTS') ?? 'default')),
  });
}

function parseListen(raw: string, setting = 'UMPIN_LISTEN', examplePort = '8080'): Config['listen'] {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(setting, `"${raw}" is not host:port, e.g. 127.0.0.1:${examplePort}, 0.0.0.0:${examplePort} or [::1]:${examplePort}.`);
  return { host: match[1] ?? match[2] ?? '', port };
}

function parseDatabaseUrl(raw: string | undefined, dataDir: string, cwd: string): Config['database'] {
  if (raw === undefined) return { engine: 'sqlite', file: resolve(dataDir, 'umpin.sqlite') };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new ConfigError('UMPIN_DATABASE_URL', 'sqlite: needs a file, e.g. sqlite:/var/lib/umpin/umpin.sqlite.');
    return { engine: 'sqlite', file: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (/^postgres(ql)?:/.test(raw)) return { engine: 'postgres', url: checkPostgresUrl(raw) };
  throw new ConfigError('UMPIN_DATABASE_URL', `"${withoutCredentials(raw)}" is not a database URL; use sqlite:<file> or postgres://user:password@host:5432/database.`);
}

/** libpq's URL form; the driver reads the rest (sslmode, options, …). A refusal never shows the password. */
function checkPostgresUrl(raw: string): string {
  const example = 'use postgres://user:password@host:5432/database (a password with @ / : # ? or % percent-encoded)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('UMPIN_DATABASE_URL', `"${withoutCredentials(raw)}" is not a valid URL; ${example}.`);
  }
  if (!raw.includes('//') || (url.hostname === '' && !url.searchParams.has('host'))) {
    throw new ConfigError('UMPIN_DATABASE_URL', `"${withoutCredentials(raw)}" names no server; ${example}.`);
  }
  // postgres://u:12/x@host/db parses as host "u", port 12 and database "x@host/db": a password cut short.
  if (/[/@]/.test(url.pathname.slice(1))) {
    throw new ConfigError('UMPIN_DATABASE_URL', `"${withoutCredentials(raw)}" does not end in a database name; ${example}.`);
  }
  return raw;
}

/** Everything between `//` and the last `@` goes: a password may hold `/`, `:` or `@` itself. */
function withoutCredentials(raw: string): string {
  return raw.replace(/\/\/.*@/, '//…@');
}

/** Where the state lives, for logs: the SQLite file, or the PostgreSQL URL without its user and password. */
export function describeDatabase(database: Config['database']): string {
  if (database.engine === 'sqlite') return database.file;
  const url = new URL(database.url);
  url.password = '';
  return url.href;
}

type SettingValue = (name: keyof typeof SETTINGS) => string | undefined;

function parseLdap(value: SettingValue, cwd: string): LdapConfig | undefined {
  const url = value('UMPIN_LDAP_URL');
  if (url === undefined) {
    const stray = (Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]).find((name) => name.startsWith('UMPIN_LDAP_') && value(name) !== undefined);
    if (stray) throw new ConfigError(stray, 'is set but UMPIN_LDAP_URL is not; set UMPIN_LDAP_URL=ldap://host:389 too, or remove it.');
    return undefined;
  }
  if (!/^ldaps?:\/\/[^/\s]+\/?$/.test(url)) throw new ConfigError('UMPIN_LDAP_URL', `"${url}" is not ldap://host[:port] or ldaps://host[:port].`);
  const startTls = parseBoolean('UMPIN_LDAP_STARTTLS', value('UMPIN_LDAP_STARTTLS') ?? 'false');
  if (startTls && url.startsWith('ldaps:')) throw new ConfigError('UMPIN_LDAP_STARTTLS', 'ldaps:// is already TLS; StartTLS is for ldap:// only.');
  const baseDn = value('UMPIN_LDAP_BASE_DN');
  if (baseDn === undefined) throw new ConfigError('UMPIN_LDAP_BASE_DN', 'is required with UMPIN_LDAP_URL, e.g. ou=people,dc=example,dc=com.');
  const bindDn = value('UMPIN_LDAP_BIND_DN');
  const bindPasswordFile = value('UMPIN_LDAP_BIND_PASSWORD_FILE');
  if ((bindDn === undefined) !== (bindPasswordFile === undefined)) {
    throw new ConfigError(bindDn === undefined ? 'UMPIN_LDAP_BIND_DN' : 'UMPIN_LDAP_BIND_PASSWORD_FILE', 'UMPIN_LDAP_BIND_DN and UMPIN_LDAP_BIND_PASSWORD_FILE go together; set both, or neither for an anonymous search.');
  }
  const attribute = (name: keyof typeof SETTINGS, fallback: string) => {
    const raw = value(name) ?? fallback;
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(raw)) throw new ConfigError(name, `"${raw}" is not an attribute name such as uid or sAMAccountName.`);
    return raw;
  };
  const caFile = value('UMPIN_LDAP_CA_FILE');
  return Object.freeze({
    url: url.replace(/\/$/, ''),
    startTls,
    bindDn,
    bindPasswordFile: bindPasswordFile === undefined ? undefined : resolve(cwd, bindPasswordFile),
    baseDn,
    loginAttribute: attribute('UMPIN_LDAP_LOGIN_ATTRIBUTE', 'uid'),
    mailAttribute: attribute('UMPIN_LDAP_MAIL_ATTRIBUTE', 'mail'),
    extensionAttribute: attribute('UMPIN_LDAP_EXTENSION_ATTRIBUTE', 'telephoneNumber'),
    caFile: caFile === undefined ? undefined : resolve(cwd, caFile),
    timeoutMs: parseInteger('UMPIN_LDAP_TIMEOUT_MS', value('UMPIN_LDAP_TIMEOUT_MS') ?? '5000', 100, 60_000),
  });
}

function parseRedisUrl(raw: string): string {
  if (!/^rediss?:\/\/\S+$/.test(raw)) throw new ConfigError('UMPIN_REDIS_URL', `"${withoutCredentials(raw)}" is not redis://[:password@]host:6379[/db] or rediss://….`);
  return raw;
}

function parseTls(cert: string | undefined, key: string | undefined, cwd: string): Config['tls'] {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined) throw new ConfigError('UMPIN_TLS_CERT', 'UMPIN_TLS_KEY is set without a certificate; set UMPIN_TLS_CERT to the PEM chain too.');
  if (key === undefined) throw new ConfigError('UMPIN_TLS_KEY', 'UMPIN_TLS_CERT is set without a key; set UMPIN_TLS_KEY to the PEM private key too.');
  return Object.freeze({ certFile: resolve(cwd, cert), keyFile: resolve(cwd, key) });
}

/** Each entry is an IPv4/IPv6 address or CIDR; Fastify's proxy-addr reads them. */
function parseTrustedProxies(raw: string | undefined): string[] {
  return raw === undefined ? [] : parseAddressList('UMPIN_TRUSTED_PROXIES', raw);
}

function parseAddressList(setting: string, raw: string): string[] {
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const version = isIP(address);
    const maxBits = version === 6 ? 128 : 32;
    if (version === 0 || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > maxBits))) {
      throw new ConfigError(setting, `"${entry}" is not an address or CIDR such as 10.0.0.5 or 10.0.0.0/8.`);
    }
  }
  return entries;
}

function parseBoolean(name: string, raw: string): boolean {
  if (/^(true|yes|1|on)$/i.test(raw)) return true;
  if (/^(false|no|0|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `"${raw}" must be true or false.`);
}

function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('UMPIN_PUBLIC_URL', `"${raw}" is not a URL; use e.g. https://um.example.com.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('UMPIN_PUBLIC_URL', 'must start with https:// or http://.');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  const parsed = Number(raw);
  if (!/^\d+$/.test(raw) || parsed < min || parsed > max) throw new ConfigError(name, `"${raw}" must be a whole number from ${min} to ${max}.`);
  return parsed;
}

function parseAccessNumber(raw: string): string {
  if (!/^\+?[0-9][0-9 ()./-]{2,30}$/.test(raw)) {
    throw new ConfigError('UMPIN_VOICE_ACCESS_NUMBER', `"${raw}" is not a telephone number such as +1 555 0100.`);
  }
  return raw;
}

function parseMailFrom(raw: string, setting = 'UMPIN_MAIL_FROM'): string {
  if (!/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(raw)) {
    throw new ConfigError(setting, `"${raw}" is not an address such as voicemail@example.com or "Voice Mail <voicemail@example.com>".`);
  }
  return raw;
}

function parseRealm(raw: string): string {
  if (!/^[\x20-\x7e]{1,64}$/.test(raw) || raw.includes('"') || raw.includes('\\')) {
    throw new ConfigError('UMPIN_REALM', 'must be 1–64 printable ASCII characters without quotes or backslashes.');
  }
  return raw;
}

function parseLogLevel(raw: string): Config['logLevel'] {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const level = levels.find((l) => l === raw.toLowerCase());
  if (!level) throw new ConfigError('UMPIN_LOG_LEVEL', `"${raw}" must be one of ${levels.join(', ')}.`);
  return level;
}

function parseAgi(value: SettingValue): AgiConfig | undefined {
  const listen = value('UMPIN_AGI_LISTEN');
  if (listen === undefined) {
    const stray = (['UMPIN_AGI_ALLOW', 'UMPIN_AGI_READ_TIMEOUT_MS'] as const).find((name) => value(name) !== undefined);
    if (stray) throw new ConfigError(stray, 'is set but UMPIN_AGI_LISTEN is not; set UMPIN_AGI_LISTEN=127.0.0.1:4573 too, or remove it.');
    return undefined;
  }
  const allow = parseAddressList('UMPIN_AGI_ALLOW', value('UMPIN_AGI_ALLOW') ?? '127.0.0.1,::1');
  if (allow.length === 0) throw new ConfigError('UMPIN_AGI_ALLOW', 'names no address; list the Asterisk servers, e.g. 127.0.0.1 or 10.0.0.5.');
  return Object.freeze({
    listen: Object.freeze(parseListen(listen, 'UMPIN_AGI_LISTEN', '4573')),
    allow: Object.freeze(allow),
    readTimeoutMs: parseInteger('UMPIN_AGI_READ_TIMEOUT_MS', value('UMPIN_AGI_READ_TIMEOUT_MS') ?? '60000', 1000, 600_000),
  });
}

/** Asterisk contexts and FreeSWITCH domains: letters, digits and `._-`, or `*`. */
function parseNameList(setting: string, raw: string): string[] {
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = entries.find((entry) => entry !== '*' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(entry));
  if (bad !== undefined) throw new ConfigError(setting, `"${bad}" is not a context or domain name such as default or pbx.example.com (or * for any).`);
  return entries;
}
