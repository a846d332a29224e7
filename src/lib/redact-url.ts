/**
 * The one way a connection URL (database, SMTP relay, Redis, directory) reaches a log line, an error
 * message, the CLI's output, /readyz or the metrics: without its secrets. Secrets sit in two places:
 * the userinfo password (`scheme://user:password@host`) and query parameters that drivers honour as
 * passwords (libpq and `pg` read `?password=` and `?sslpassword=`).
 *
 * Written on the text, not on `new URL()`: an operator's URL often holds a password with an
 * unencoded `/`, `@`, `#` or `%`, which `URL` either refuses or splits in the wrong place (the
 * password then lands in the host, the path or the fragment, and a redaction by field would print it).
 */

/** Query parameters whose value is a secret (compared case-insensitively). */
const SECRET_PARAMETERS: ReadonlySet<string> = new Set([
  'password', 'passwd', 'pass', 'pwd', 'sslpassword', 'passphrase', 'secret', 'token', 'access_token', 'auth', 'authtoken', 'apikey', 'api_key',
]);

interface UrlParts {
  /** `scheme:` and the `//` when there is one, e.g. `postgres://`. */
  readonly head: string;
  /** The user name as written (percent-encoded), or '' when none. */
  readonly user: string;
  /** The password as written, or undefined when the userinfo has none. */
  readonly password: string | undefined;
  /** host, port and path. */
  readonly location: string;
  /** name=value pairs as written, in order. */
  readonly query: readonly string[];
}

/** The URL with the userinfo password and every secret query parameter (and any fragment) removed. */
export function redactUrl(raw: string): string {
  const parts = splitUrl(raw);
  const kept = withoutSecretParameters(parts.query);
  const user = parts.user === '' ? '' : `${parts.user}@`;
  return `${parts.head}${user}${parts.location}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
}

/** `text` (a driver's message, say) with each secret of `url` replaced by `***`, both as written and decoded. */
export function redactSecretsIn(text: string, url: string): string {
  const parts = splitUrl(url);
  const kept = new Set(withoutSecretParameters(parts.query));
  const secrets = [parts.password, ...parts.query.filter((pair) => !kept.has(pair)).map((pair) => pair.slice(pair.indexOf('=') + 1))]
    .filter((secret): secret is string => secret !== undefined && secret !== '')
    .flatMap((secret) => [secret, decodeQuietly(secret), decodeQuietly(secret.replace(/\+/g, ' '))]);
  let redacted = text.split(url).join(redactUrl(url));
  // Longest first, so that a secret which contains another is replaced whole.
  for (const secret of [...new Set(secrets)].sort((a, b) => b.length - a.length)) redacted = redacted.split(secret).join('***');
  return redacted;
}

function splitUrl(raw: string): UrlParts {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:(?:\/\/)?/.exec(raw)?.[0] ?? '';
  let rest = raw.slice(scheme.length);
  let user = '';
  let password: string | undefined;
  // The last `@` ends the userinfo: a password may hold `@`, `/`, `?` or `#` itself. A query value with
  // an `@` then reads as userinfo too, which hides more than needed but never less.
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    password = colon < 0 ? undefined : userinfo.slice(colon + 1);
    // A user name cannot hold `/`, `?` or `#` unencoded; if it seems to, the whole userinfo is suspect.
    if (/[/?#]/.test(user)) {
      user = '';
      password = userinfo;
    }
    rest = rest.slice(at + 1);
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  const location = question < 0 ? rest : rest.slice(0, question);
  const query = question < 0 ? [] : rest.slice(question + 1).split('&').filter((pair) => pair !== '');
  return { head: scheme, user, password, location, query };
}

/**
 * The pairs that are not secrets. A pair without `=` right after a secret one is taken as the rest of
 * that secret: a password with an unencoded `&` splits there.
 */
function withoutSecretParameters(pairs: readonly string[]): string[] {
  const kept: string[] = [];
  let inSecret = false;
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals >= 0) inSecret = SECRET_PARAMETERS.has(decodeQuietly(pair.slice(0, equals)).toLowerCase());
    if (!inSecret) kept.push(pair);
  }
  return kept;
}

function decodeQuietly(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
