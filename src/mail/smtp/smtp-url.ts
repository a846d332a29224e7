/**
 * `UMPIN_SMTP_URL` → the relay's address, credentials and TLS mode
 * (DESIGN §5: STARTTLS is required unless the URL says otherwise).
 *
 *   smtp://user:pass@host[:587]          STARTTLS required (RFC 3207); no plain-text fallback
 *   smtps://user:pass@host[:465]         implicit TLS (RFC 8314 §3.3)
 *   smtp://host:25?tls=opportunistic     STARTTLS when the relay offers it, else plain text
 *   smtp://127.0.0.1:25?tls=off          plain text, never STARTTLS: only for a relay on the
 *                                        loopback interface, since the PIN travels in the clear
 *   ?tls=required                        the default for smtp://, spelled out
 *
 * User and password are percent-decoded, so a password holding `@`, `:`, `/`
 * or `%` must be percent-encoded in the URL.
 *
 * A bad URL throws a ConfigError naming the setting (STYLE 4). The messages
 * quote no part of the URL: a password holding a `/` or `#` ends the
 * authority early and lands in the host, port or path, so none of those is
 * safe to echo.
 */
import { ConfigError } from '../../errors.ts';

export const DEFAULT_SMTP_PORT = 587;
export const DEFAULT_SMTPS_PORT = 465;

/** How the connection is protected; the nodemailer flags below are derived from it. */
export type SmtpTlsMode = 'implicit' | 'required' | 'opportunistic' | 'off';

export interface SmtpRelay {
  readonly host: string;
  readonly port: number;
  readonly tlsMode: SmtpTlsMode;
  /** nodemailer: TLS from the first byte (smtps://). */
  readonly secure: boolean;
  /** nodemailer: send STARTTLS even when not advertised, and fail unless the upgrade succeeds. */
  readonly requireTLS: boolean;
  /** nodemailer: never send STARTTLS. */
  readonly ignoreTLS: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
}

const SETTING = 'UMPIN_SMTP_URL';
const TLS_QUERY_VALUES: readonly SmtpTlsMode[] = ['required', 'opportunistic', 'off'];

export function parseSmtpUrl(url: string): SmtpRelay {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    invalid('is not a valid URL; expected smtp://user:password@host:587 or smtps://user:password@host:465 (percent-encode @ : / % # ? in the password)');
  }

  const implicit = parsed.protocol === 'smtps:';
  if (!implicit && parsed.protocol !== 'smtp:') invalid('must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)');
  // A non-special scheme keeps an IPv6 literal in brackets; net.connect wants it bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') invalid('has no host name');
  if (parsed.pathname !== '' && parsed.pathname !== '/') invalid('must not have a path after the host and port (percent-encode / in the password)');
  if (parsed.hash !== '') invalid('must not have a #fragment (percent-encode # in the password)');

  const port = parsed.port === '' ? (implicit ? DEFAULT_SMTPS_PORT : DEFAULT_SMTP_PORT) : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) invalid('has a port outside 1-65535');

  const tlsMode = parseTlsMode(parsed.searchParams, implicit);
  const auth = parseCredentials(parsed);

  return Object.freeze({
    host,
    port,
    tlsMode,
    secure: tlsMode === 'implicit',
    requireTLS: tlsMode === 'required',
    ignoreTLS: tlsMode === 'off',
    ...(auth ? { auth: Object.freeze(auth) } : {}),
  });
}

function parseTlsMode(query: URLSearchParams, implicit: boolean): SmtpTlsMode {
  let mode: SmtpTlsMode | undefined;
  for (const [key, value] of query) {
    if (key !== 'tls') invalid('has an unknown query parameter; the only one is tls=required|opportunistic|off');
    if (mode !== undefined) invalid('names tls= more than once');
    const known = TLS_QUERY_VALUES.find((candidate) => candidate === value);
    if (known === undefined) invalid('has a tls= value other than required, opportunistic or off');
    mode = known;
  }
  if (implicit) {
    if (mode !== undefined && mode !== 'required') invalid('combines smtps:// (always TLS) with tls=opportunistic or tls=off; use smtp:// for those');
    return 'implicit';
  }
  return mode ?? 'required';
}

function parseCredentials(parsed: URL): { user: string; pass: string } | undefined {
  if (parsed.username === '' && parsed.password === '') return undefined;
  if (parsed.username === '' || parsed.password === '') invalid('must give both a user and a password, or neither');
  try {
    return { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) };
  } catch {
    invalid('has a malformed %-escape in the user or password');
  }
}

function invalid(problem: string): never {
  throw new ConfigError(SETTING, `${problem}.`);
}
