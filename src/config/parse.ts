/**
 * The value parsers of the settings table (config.ts): each turns one
 * setting's text into its value or throws a ConfigError that names the
 * setting, says what a good value looks like and never echoes a password.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.ts';
import { redactUrl } from '../lib/redact-url.ts';
import type { Config } from '../config.ts';

export function parseListen(raw: string, setting = 'UMPIN_LISTEN', examplePort = '8080'): Config['listen'] {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(setting, `"${raw}" is not host:port, e.g. 127.0.0.1:${examplePort}, 0.0.0.0:${examplePort} or [::1]:${examplePort}.`);
  return { host: match[1] ?? match[2] ?? '', port };
}

/** libpq's URL form; the driver reads the rest (sslmode, options, …). A refusal never shows the password. */
export function checkPostgresUrl(raw: string): string {
  const example = 'use postgres://user:password@host:5432/database (a password with @ / : # ? or % percent-encoded)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('UMPIN_DATABASE_URL', `"${redactUrl(raw)}" is not a valid URL; ${example}.`);
  }
  if (!raw.includes('//') || (url.hostname === '' && !url.searchParams.has('host'))) {
    throw new ConfigError('UMPIN_DATABASE_URL', `"${redactUrl(raw)}" names no server; ${example}.`);
  }
  // postgres://u:12/x@host/db parses as host "u", port 12 and database "x@host/db": a password cut short.
  if (/[/@]/.test(url.pathname.slice(1))) {
    throw new ConfigError('UMPIN_DATABASE_URL', `"${redactUrl(raw)}" does not end in a database name; ${example}.`);
  }
  return raw;
}

export function parseLdapUrl(raw: string): string {
  if (!/^ldaps?:\/\/[^/\s]+\/?$/.test(raw)) throw new ConfigError('UMPIN_LDAP_URL', `"${raw}" is not ldap://host[:port] or ldaps://host[:port].`);
  return raw.replace(/\/$/, '');
}

export function parseAttributeName(raw: string, name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(raw)) throw new ConfigError(name, `"${raw}" is not an attribute name such as uid or sAMAccountName.`);
  return raw;
}

export function parseRedisUrl(raw: string): string {
  if (!/^rediss?:\/\/\S+$/.test(raw)) throw new ConfigError('UMPIN_REDIS_URL', `"${redactUrl(raw)}" is not redis://[:password@]host:6379[/db] or rediss://….`);
  return raw;
}

export function pairTls(cert: string | undefined, key: string | undefined): Config['tls'] {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined) throw new ConfigError('UMPIN_TLS_CERT', 'UMPIN_TLS_KEY is set without a certificate; set UMPIN_TLS_CERT to the PEM chain too.');
  if (key === undefined) throw new ConfigError('UMPIN_TLS_KEY', 'UMPIN_TLS_CERT is set without a key; set UMPIN_TLS_KEY to the PEM private key too.');
  return Object.freeze({ certFile: cert, keyFile: key });
}

/** Each entry is an IPv4/IPv6 address or CIDR; Fastify's proxy-addr reads them. */
export function parseTrustedProxies(raw: string): string[] {
  return parseAddressList(raw, 'UMPIN_TRUSTED_PROXIES');
}

export function parseAddressList(raw: string, setting: string): string[] {
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

export function parseBoolean(name: string, raw: string): boolean {
  if (/^(true|yes|1|on)$/i.test(raw)) return true;
  if (/^(false|no|0|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `"${raw}" must be true or false.`);
}

export function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('UMPIN_PUBLIC_URL', `"${raw}" is not a URL; use e.g. https://um.example.com.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('UMPIN_PUBLIC_URL', 'must start with https:// or http://.');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

export function parseInteger(name: string, raw: string, min: number, max: number): number {
  const parsed = Number(raw);
  if (!/^\d+$/.test(raw) || parsed < min || parsed > max) throw new ConfigError(name, `"${raw}" must be a whole number from ${min} to ${max}.`);
  return parsed;
}

export function parseAccessNumber(raw: string): string {
  if (!/^\+?[0-9][0-9 ()./-]{2,30}$/.test(raw)) {
    throw new ConfigError('UMPIN_VOICE_ACCESS_NUMBER', `"${raw}" is not a telephone number such as +1 555 0100.`);
  }
  return raw;
}

export function parseMailFrom(raw: string, setting = 'UMPIN_MAIL_FROM'): string {
  if (!/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(raw)) {
    throw new ConfigError(setting, `"${raw}" is not an address such as voicemail@example.com or "Voice Mail <voicemail@example.com>".`);
  }
  return raw;
}

export function parseRealm(raw: string): string {
  if (!/^[\x20-\x7e]{1,64}$/.test(raw) || raw.includes('"') || raw.includes('\\')) {
    throw new ConfigError('UMPIN_REALM', 'must be 1–64 printable ASCII characters without quotes or backslashes.');
  }
  return raw;
}

export function parseLogLevel(raw: string): Config['logLevel'] {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const level = levels.find((l) => l === raw.toLowerCase());
  if (!level) throw new ConfigError('UMPIN_LOG_LEVEL', `"${raw}" must be one of ${levels.join(', ')}.`);
  return level;
}

/** Asterisk contexts and FreeSWITCH domains: letters, digits and `._-`, or `*`. */
export function parseNameList(raw: string, setting: string): string[] {
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = entries.find((entry) => entry !== '*' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(entry));
  if (bad !== undefined) throw new ConfigError(setting, `"${bad}" is not a context or domain name such as default or pbx.example.com (or * for any).`);
  return entries;
}
