/**
 * Configuration from UMPIN_* environment variables, validated once into a
 * frozen object. A bad value stops the start with a message that names the
 * setting (STYLE 4: misconfiguration is a TypeError, not a fault), and so
 * does an UMPIN_* variable that is no setting (a typo would otherwise leave
 * its setting at the default without a word).
 *
 * SETTINGS is the one source of each setting's name, default, range, parsing
 * and help: `umpin serve --help` and docs/configuration.md are written from
 * it, and loadConfig reads through it. Hand-written rather than a schema
 * library (zod, envalid): the messages are the product (they name the
 * setting, suggest a fix and never echo a password), and a library would need
 * a custom message for nearly every field.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { redactUrl } from './lib/redact-url.ts';
import {
  checkPostgresUrl, pairTls, parseAccessNumber, parseAddressList, parseAttributeName, parseBoolean, parseInteger, parseLdapUrl, parseListen,
  parseLogLevel, parseMailFrom, parseNameList, parsePublicUrl, parseRealm, parseRedisUrl, parseTrustedProxies,
} from './config/parse.ts';

export { ConfigError };

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
  /** Audit events older than this are deleted by the running service; 0 keeps them for ever (docs/audit.md). */
  readonly auditRetentionDays: number;
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

/** What a setting's value is resolved against. */
export interface SettingContext {
  readonly cwd: string;
  readonly dataDir: string;
}

/**
 * One row of SETTINGS. `read` turns the trimmed value (undefined when unset or blank) into the
 * Config's type, applying the default, and throws a ConfigError naming the setting on a bad value.
 * A row without `read` yields the raw text (or undefined): the old two-field shape, still accepted
 * so a new row can be added first and given a builder (integer, flag, …) after.
 */
export interface SettingRow<T = unknown> {
  /** The default as `umpin serve --help` and docs/configuration.md show it. */
  readonly default: string;
  readonly help: string;
  readonly read?: SettingReader<T>;
}

type SettingReader<T> = (raw: string | undefined, name: string, context: SettingContext) => T;

/** A row made by a builder below: it always reads. */
interface Setting<T> extends SettingRow<T> {
  readonly read: SettingReader<T>;
}

/** A whole number in [min, max]; the default and range are written once, here, and shown in the help. */
function integer(fallback: number | { shown: string; value: () => number }, min: number, max: number, help: string): Setting<number> {
  const shown = typeof fallback === 'number' ? String(fallback) : fallback.shown;
  return {
    default: shown,
    help: `${help} (${min}–${max})`,
    read: (raw, name) => parseInteger(name, raw ?? String(typeof fallback === 'number' ? fallback : fallback.value()), min, max),
  };
}

function flag(fallback: boolean, help: string): Setting<boolean> {
  return { default: String(fallback), help, read: (raw, name) => parseBoolean(name, raw ?? String(fallback)) };
}

/** Text with a default, checked by `parse`. */
function text<T>(fallback: string, help: string, parse: (raw: string, name: string) => T): Setting<T> {
  return { default: fallback, help, read: (raw, name) => parse(raw ?? fallback, name) };
}

/** Absent unless set; `shown` says what happens then. */
function optional<T>(shown: string, help: string, parse: (raw: string, name: string, context: SettingContext) => T): Setting<T | undefined> {
  return { default: shown, help, read: (raw, name, context) => (raw === undefined ? undefined : parse(raw, name, context)) };
}

const asText = (raw: string): string => raw;

/** A file or directory, relative to the working directory; `fallback` is relative to the data directory. */
function inDataDir(fallback: string, help: string): Setting<string> {
  return { default: `<data dir>/${fallback}`, help, read: (raw, _name, { cwd, dataDir }) => resolve(cwd, raw ?? resolve(dataDir, fallback)) };
}

const path = (raw: string, _name: string, context: SettingContext): string => resolve(context.cwd, raw);

const DEFAULT_DATABASE_FILE = 'umpin.sqlite';

/** Each setting, its default, range and meaning, in the order `umpin serve --help` lists them. */
export const SETTINGS = {
  UMPIN_LISTEN: text('127.0.0.1:8080', 'host:port to serve on ([::1]:8080 for IPv6)', parseListen),
  UMPIN_DATA_DIR: { default: './var', help: 'where the embedded state lives', read: (raw: string | undefined, _name: string, { cwd }: SettingContext) => resolve(cwd, raw ?? './var') },
  UMPIN_DATABASE_URL: {
    default: `sqlite:<data dir>/${DEFAULT_DATABASE_FILE}`,
    help: 'the database; sqlite:<file> or postgres://user:password@host:5432/database',
    read: (raw: string | undefined, _name: string, context: SettingContext) => Object.freeze(parseDatabaseUrl(raw, context)),
  },
  UMPIN_SECRET_FILE: inDataDir('secret.key', 'server secret (argon2 pepper, mail key); created 0600 on first start'),
  UMPIN_PICKUP_DIR: inDataDir('pickup', 'where PIN mails are written as .eml files'),
  UMPIN_PUBLIC_URL: optional('(from the request)', 'scheme://host[:port] clients reach the service at; used in the WSDL', parsePublicUrl),
  UMPIN_AUTODISCOVER: flag(true, 'false: do not answer POST /autodiscover/autodiscover.xml (UMUrl for Outlook)'),
  UMPIN_BODY_LIMIT: integer(65536, 1024, 10 * 1024 * 1024, 'largest request body in bytes'),
  UMPIN_MAIL_FROM: text('Voice Mail <voicemail@localhost>', 'From: of PIN mails (display name and address)', parseMailFrom),
  UMPIN_MAIL_REPLY_TO: optional('(none)', 'Reply-To: of PIN mails, e.g. the help desk', parseMailFrom),
  UMPIN_SMTP_URL: optional('(none: pickup directory)', 'smtp://user:pass@host:587 (STARTTLS required), smtps://host:465, ?tls=off for a loopback relay', asText),
  UMPIN_SMTP_CA_FILE: optional('(system CAs)', "PEM file of CAs to trust for the relay's certificate, besides the system's", path),
  UMPIN_MAIL_TEMPLATE_DIR: optional('(built-in)', 'a directory of mail templates that override the built-in ones', path),
  UMPIN_VOICE_ACCESS_NUMBER: optional('(none)', 'the number users call for voice mail, named in PIN mails', parseAccessNumber),
  UMPIN_MAIL_TIMEOUT_MS: integer(15000, 100, 300_000, 'how long a mail hand-off may take before the reset fails'),
  UMPIN_OUTBOX_RETRY_MS: integer(30000, 100, 3_600_000, 'first retry of a queued PIN mail after this long, doubling up to an hour'),
  UMPIN_OUTBOX_GIVE_UP_MINUTES: integer(1440, 1, 43_200, 'a queued PIN mail not delivered within this is given up; the old PIN stays'),
  UMPIN_OUTBOX_INTERVAL_MS: integer(5000, 100, 600_000, 'how often the outbox worker looks for due mail'),
  UMPIN_LIMIT_REQUESTS_PER_MINUTE: integer(120, 1, 10_000_000, 'SOAP requests per client address per minute, before any password work'),
  UMPIN_LIMIT_FAILED_SIGNINS: integer(10, 1, 1_000_000, 'failed sign-ins per login and address per 15 minutes'),
  UMPIN_LIMIT_RESETS_PER_HOUR: integer(20, 1, 1_000_000, 'ResetPIN calls per login per hour'),
  UMPIN_LIMIT_PHONE_FAILURES: integer(5, 1, 1_000_000, 'wrong phone PINs per mailbox and PBX address per 15 minutes (more are refused, not counted)'),
  UMPIN_LIMIT_AUTO_RESETS_PER_HOUR: integer(3, 1, 1_000, 'automatic-reset mails per mailbox per hour'),
  UMPIN_LIMIT_IPV6_PREFIX: integer(64, 16, 128, 'IPv6 client addresses count per network of this many bits in every limit'),
  UMPIN_LDAP_URL: optional('(none: local users only)', 'ldap://host:389 or ldaps://host:636: also check sign-ins against this directory', parseLdapUrl),
  UMPIN_LDAP_STARTTLS: flag(false, 'true: upgrade an ldap:// connection with StartTLS before any bind'),
  UMPIN_LDAP_BIND_DN: optional('(anonymous search)', 'the service account that looks up the user entry', asText),
  UMPIN_LDAP_BIND_PASSWORD_FILE: optional('(none)', "file holding the service account's password", path),
  UMPIN_LDAP_BASE_DN: optional('(required with UMPIN_LDAP_URL)', 'where user entries are searched, e.g. ou=people,dc=example,dc=com', asText),
  UMPIN_LDAP_LOGIN_ATTRIBUTE: text('uid', 'the attribute a login is matched to: uid, userPrincipalName or sAMAccountName', parseAttributeName),
  UMPIN_LDAP_MAIL_ATTRIBUTE: text('mail', "the attribute holding the user's mail address", parseAttributeName),
  UMPIN_LDAP_EXTENSION_ATTRIBUTE: text('telephoneNumber', "the attribute holding the user's extension", parseAttributeName),
  UMPIN_LDAP_CA_FILE: optional('(system CAs)', "PEM file of CAs to trust for the directory's certificate", path),
  UMPIN_LDAP_TIMEOUT_MS: integer(5000, 100, 60_000, 'how long a directory may take to answer before sign-in fails'),
  UMPIN_REDIS_URL: optional('(none: limits per instance)', 'redis://host:6379: instances share their abuse-limit counters here', parseRedisUrl),
  UMPIN_TLS_CERT: optional('(none: plain HTTP)', 'PEM certificate chain to serve HTTPS with (needs UMPIN_TLS_KEY)', path),
  UMPIN_TLS_KEY: optional('(none)', 'PEM private key for UMPIN_TLS_CERT', path),
  UMPIN_ALLOW_PLAIN_HTTP_AUTH: flag(false, 'true: accept passwords over plain HTTP from non-loopback peers (only behind a TLS proxy)'),
  UMPIN_HSTS_MAX_AGE: integer(31536000, 0, 63_072_000, 'Strict-Transport-Security max-age in seconds on HTTPS answers; 0 sends none'),
  UMPIN_TRUSTED_PROXIES: optional('(none)', 'comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed', parseTrustedProxies),
  UMPIN_HEADERS_TIMEOUT_MS: integer(10000, 1000, 120_000, 'a client must send its request headers within this'),
  UMPIN_REQUEST_TIMEOUT_MS: integer(30000, 1000, 300_000, 'a client must send its whole request within this'),
  UMPIN_REALM: text('umpin', 'the HTTP Basic realm', parseRealm),
  UMPIN_LOG_LEVEL: text('info', 'fatal, error, warn, info, debug, trace or silent', parseLogLevel),
  UMPIN_KDF_CONCURRENCY: integer({ shown: '(number of cores)', value: availableParallelism }, 1, 256, 'argon2 hashes computed at once'),
  UMPIN_AGI_LISTEN: optional('(none: no FastAGI)', 'host:port of the FastAGI listener for Asterisk, usually 127.0.0.1:4573 (docs/pbx.md)', (raw, name) => parseListen(raw, name, '4573')),
  UMPIN_AGI_ALLOW: text('127.0.0.1,::1', 'comma-separated addresses or CIDRs of the Asterisk servers allowed to connect to the FastAGI listener', parseAddressList),
  UMPIN_AGI_READ_TIMEOUT_MS: integer(60000, 1000, 600_000, 'each line Asterisk owes the FastAGI listener (a reply, the caller typing) must arrive within this'),
  UMPIN_PBX_EXTENSION_CONTEXTS: text('default', 'comma-separated PBX contexts/domains whose mailbox numbers are umpin extensions; * for any (docs/pbx.md)', parseNameList),
  UMPIN_WEB_IDLE_SECONDS: integer(900, 10, 86_400, 'a self-service (/my/) session unused this long ends, in seconds (900 = 15 minutes)'),
  UMPIN_AUDIT_RETENTION_DAYS: integer(365, 0, 36_500, 'audit events older than this many days are deleted by the running service, hourly; 0 keeps them for ever'),
} as const satisfies Record<`UMPIN_${string}`, SettingRow>;

export type SettingName = keyof typeof SETTINGS;

/** What loadConfig reads a setting as: its row's `read` result, or the raw text for a row without one. */
type SettingValue<K extends SettingName> = (typeof SETTINGS)[K] extends { read: (...args: never[]) => infer T } ? T : string | undefined;

/**
 * UMPIN_* variables that tests, the bench and CI scripts read, not the service. They are passed down
 * to the processes those tools start, so they must not stop a start.
 */
const TOOLING_VARIABLES = /^UMPIN_(?:TEST_|FUZZ_|BENCH_|REQUIRE_)|^UMPIN_BIN$/;

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  checkSettingNames(env);
  const value = (name: SettingName): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const read = <K extends SettingName>(name: K, context: SettingContext): SettingValue<K> => {
    const row: SettingRow = SETTINGS[name];
    return (row.read ? row.read(value(name), name, context) : value(name)) as SettingValue<K>;
  };
  const dataDir = read('UMPIN_DATA_DIR', { cwd, dataDir: cwd });
  const context = { cwd, dataDir };
  const setting = <K extends SettingName>(name: K): SettingValue<K> => read(name, context);

  return Object.freeze({
    listen: Object.freeze(setting('UMPIN_LISTEN')),
    dataDir,
    database: setting('UMPIN_DATABASE_URL'),
    secretFile: setting('UMPIN_SECRET_FILE'),
    pickupDir: setting('UMPIN_PICKUP_DIR'),
    publicUrl: setting('UMPIN_PUBLIC_URL'),
    autodiscover: setting('UMPIN_AUTODISCOVER'),
    bodyLimit: setting('UMPIN_BODY_LIMIT'),
    mailFrom: setting('UMPIN_MAIL_FROM'),
    mailReplyTo: setting('UMPIN_MAIL_REPLY_TO'),
    smtpUrl: setting('UMPIN_SMTP_URL'),
    smtpCaFile: setting('UMPIN_SMTP_CA_FILE'),
    mailTemplateDir: setting('UMPIN_MAIL_TEMPLATE_DIR'),
    voiceAccessNumber: setting('UMPIN_VOICE_ACCESS_NUMBER'),
    mailTimeoutMs: setting('UMPIN_MAIL_TIMEOUT_MS'),
    outboxRetryMs: setting('UMPIN_OUTBOX_RETRY_MS'),
    outboxGiveUpMinutes: setting('UMPIN_OUTBOX_GIVE_UP_MINUTES'),
    outboxIntervalMs: setting('UMPIN_OUTBOX_INTERVAL_MS'),
    limits: Object.freeze({
      requestsPerAddressPerMinute: setting('UMPIN_LIMIT_REQUESTS_PER_MINUTE'),
      failedSignInsPer15Minutes: setting('UMPIN_LIMIT_FAILED_SIGNINS'),
      resetsPerLoginPerHour: setting('UMPIN_LIMIT_RESETS_PER_HOUR'),
      phoneFailuresPerSourcePer15Minutes: setting('UMPIN_LIMIT_PHONE_FAILURES'),
      autoResetsPerMailboxPerHour: setting('UMPIN_LIMIT_AUTO_RESETS_PER_HOUR'),
      ipv6PrefixLength: setting('UMPIN_LIMIT_IPV6_PREFIX'),
    }),
    ldap: readLdap(setting, value),
    redisUrl: setting('UMPIN_REDIS_URL'),
    tls: pairTls(setting('UMPIN_TLS_CERT'), setting('UMPIN_TLS_KEY')),
    allowPlainHttpAuth: setting('UMPIN_ALLOW_PLAIN_HTTP_AUTH'),
    hstsMaxAgeSeconds: setting('UMPIN_HSTS_MAX_AGE'),
    trustedProxies: Object.freeze(setting('UMPIN_TRUSTED_PROXIES') ?? []),
    headersTimeoutMs: setting('UMPIN_HEADERS_TIMEOUT_MS'),
    requestTimeoutMs: setting('UMPIN_REQUEST_TIMEOUT_MS'),
    realm: setting('UMPIN_REALM'),
    logLevel: setting('UMPIN_LOG_LEVEL'),
    kdfConcurrency: setting('UMPIN_KDF_CONCURRENCY'),
    auditRetentionDays: setting('UMPIN_AUDIT_RETENTION_DAYS'),
    webIdleSeconds: setting('UMPIN_WEB_IDLE_SECONDS'),
    agi: readAgi(setting, value),
    pbxExtensionContexts: Object.freeze(setting('UMPIN_PBX_EXTENSION_CONTEXTS')),
  });
}

/** Every UMPIN_* variable must be a setting (or a tool's); a typo is refused with the nearest name. */
function checkSettingNames(env: Env): void {
  for (const [name, raw] of Object.entries(env)) {
    // umpin_smtp_url is a typo too: Linux keeps the case, and umpin reads only the upper-case name.
    if (raw === undefined || !name.toUpperCase().startsWith('UMPIN_') || Object.hasOwn(SETTINGS, name) || TOOLING_VARIABLES.test(name)) continue;
    const nearest = findNearestSetting(name);
    throw new ConfigError(name, `is not a setting umpin knows; ${nearest === undefined ? 'run "umpin serve --help" for the list of settings.' : `did you mean ${nearest}?`}`);
  }
}

/** The setting whose name is fewest edits away, if it is near enough to be the one meant. */
export function findNearestSetting(name: string): SettingName | undefined {
  const wanted = name.toUpperCase();
  let best: { name: SettingName; distance: number } | undefined;
  for (const candidate of Object.keys(SETTINGS) as SettingName[]) {
    // A name cut short or run on (UMPIN_LDAP_BIND_PASSWORD for …_FILE) is as near as a typo.
    const [shorter, longer] = wanted.length < candidate.length ? [wanted, candidate] : [candidate, wanted];
    const distance = shorter.length >= 'UMPIN_'.length + 4 && longer.startsWith(shorter) ? 1 : editDistance(wanted, candidate);
    if (best === undefined || distance < best.distance) best = { name: candidate, distance };
  }
  // A third of the part after UMPIN_ (at least 2) catches typos and transpositions, not other words.
  const allowed = Math.max(2, Math.floor((wanted.length - 'UMPIN_'.length) / 3));
  return best !== undefined && best.distance <= allowed ? best.name : undefined;
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbours (ULR for URL) each count one. Fifty short names: no library needed.
 */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const row = rows[i] as number[];
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The settings as `umpin serve --help` lists them (text) and as docs/configuration.md holds them
 * (markdown, between its settings markers; config.test.ts checks the file agrees).
 */
export function describeSettings(format: 'text' | 'markdown' = 'text'): string {
  const rows: Array<[string, SettingRow]> = Object.entries(SETTINGS);
  if (format === 'markdown') {
    const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return ['| Setting | Default | Meaning |', '|---|---|---|', ...rows.map(([name, row]) => `| \`${name}\` | \`${row.default.replace(/\|/g, '\\|')}\` | ${cell(row.help)} |`)].join('\n');
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, row]) => `  ${name.padEnd(width)}  ${row.help} (default ${row.default})`).join('\n');
}

function parseDatabaseUrl(raw: string | undefined, { cwd, dataDir }: SettingContext): Config['database'] {
  if (raw === undefined) return { engine: 'sqlite', file: resolve(dataDir, DEFAULT_DATABASE_FILE) };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new ConfigError('UMPIN_DATABASE_URL', 'sqlite: needs a file, e.g. sqlite:/var/lib/umpin/umpin.sqlite.');
    return { engine: 'sqlite', file: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (/^postgres(ql)?:/.test(raw)) return { engine: 'postgres', url: checkPostgresUrl(raw) };
  throw new ConfigError('UMPIN_DATABASE_URL', `"${redactUrl(raw)}" is not a database URL; use sqlite:<file> or postgres://user:password@host:5432/database.`);
}

/** Where the state lives, for logs and the CLI: the SQLite file, or the PostgreSQL URL without its secrets. */
export function describeDatabase(database: Config['database']): string {
  return database.engine === 'sqlite' ? database.file : redactUrl(database.url);
}

/**
 * The directory settings are read only with UMPIN_LDAP_URL; without it any of them set is a mistake
 * (half a configuration would silently sign in local users only).
 */
function readLdap(setting: <K extends SettingName>(name: K) => SettingValue<K>, value: (name: SettingName) => string | undefined): LdapConfig | undefined {
  const url = setting('UMPIN_LDAP_URL');
  if (url === undefined) {
    const stray = (Object.keys(SETTINGS) as SettingName[]).find((name) => name.startsWith('UMPIN_LDAP_') && value(name) !== undefined);
    if (stray) throw new ConfigError(stray, 'is set but UMPIN_LDAP_URL is not; set UMPIN_LDAP_URL=ldap://host:389 too, or remove it.');
    return undefined;
  }
  const startTls = setting('UMPIN_LDAP_STARTTLS');
  if (startTls && url.startsWith('ldaps:')) throw new ConfigError('UMPIN_LDAP_STARTTLS', 'ldaps:// is already TLS; StartTLS is for ldap:// only.');
  const baseDn = setting('UMPIN_LDAP_BASE_DN');
  if (baseDn === undefined) throw new ConfigError('UMPIN_LDAP_BASE_DN', 'is required with UMPIN_LDAP_URL, e.g. ou=people,dc=example,dc=com.');
  const bindDn = setting('UMPIN_LDAP_BIND_DN');
  const bindPasswordFile = setting('UMPIN_LDAP_BIND_PASSWORD_FILE');
  if ((bindDn === undefined) !== (bindPasswordFile === undefined)) {
    throw new ConfigError(bindDn === undefined ? 'UMPIN_LDAP_BIND_DN' : 'UMPIN_LDAP_BIND_PASSWORD_FILE', 'UMPIN_LDAP_BIND_DN and UMPIN_LDAP_BIND_PASSWORD_FILE go together; set both, or neither for an anonymous search.');
  }
  return Object.freeze({
    url,
    startTls,
    bindDn,
    bindPasswordFile,
    baseDn,
    loginAttribute: setting('UMPIN_LDAP_LOGIN_ATTRIBUTE'),
    mailAttribute: setting('UMPIN_LDAP_MAIL_ATTRIBUTE'),
    extensionAttribute: setting('UMPIN_LDAP_EXTENSION_ATTRIBUTE'),
    caFile: setting('UMPIN_LDAP_CA_FILE'),
    timeoutMs: setting('UMPIN_LDAP_TIMEOUT_MS'),
  });
}

/** The FastAGI settings are read only with UMPIN_AGI_LISTEN; without it any of them set is a mistake. */
function readAgi(setting: <K extends SettingName>(name: K) => SettingValue<K>, value: (name: SettingName) => string | undefined): AgiConfig | undefined {
  const listen = setting('UMPIN_AGI_LISTEN');
  if (listen === undefined) {
    const stray = (['UMPIN_AGI_ALLOW', 'UMPIN_AGI_READ_TIMEOUT_MS'] as const).find((name) => value(name) !== undefined);
    if (stray) throw new ConfigError(stray, 'is set but UMPIN_AGI_LISTEN is not; set UMPIN_AGI_LISTEN=127.0.0.1:4573 too, or remove it.');
    return undefined;
  }
  const allow = setting('UMPIN_AGI_ALLOW');
  if (allow.length === 0) throw new ConfigError('UMPIN_AGI_ALLOW', 'names no address; list the Asterisk servers, e.g. 127.0.0.1 or 10.0.0.5.');
  return Object.freeze({
    listen: Object.freeze(listen),
    allow: Object.freeze(allow),
    readTimeoutMs: setting('UMPIN_AGI_READ_TIMEOUT_MS'),
  });
}

