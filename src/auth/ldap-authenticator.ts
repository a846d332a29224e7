/**
 * Credentials → caller, against an LDAP directory (issue 7; docs/ldap.md).
 *
 * Search, then bind: the service account (or an anonymous session) looks
 * for exactly one entry whose login attribute equals the login, and the
 * caller is who the directory then accepts a simple bind as, with that
 * entry's DN and the given password. The filter is an ldapts filter object,
 * BER-encoded as a literal value, so no character of a login can change its
 * meaning. Each sign-in uses its own connection, always unbound, and ends
 * within `timeoutMs`: a directory that is down or silent answers ServerBusy
 * (503, not counted as a failed sign-in), never a hang and never "wrong
 * password".
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, EqualityFilter, ResultCodeError, type Entry } from 'ldapts';
import { ConfigError, type LdapConfig } from '../config.ts';
import { AuthenticationFailed, ServerBusy } from '../errors.ts';
import { readCertificateFile, readSettingFile } from '../read-setting-file.ts';
import { withDeadline } from '../lib/with-deadline.ts';
import type { Logger } from '../observability/logger.ts';
import type { Authenticator } from './authenticate.ts';

/** What the directory tells the operator: warnings and errors of the one logger shape. */
export type DirectoryLog = Pick<Logger, 'warn' | 'error'>;

export const DIRECTORY_RETRY_AFTER_SECONDS = 30;

export const DIRECTORY_UNAVAILABLE_MESSAGE =
  'The directory that checks your password did not answer, so you were not signed in; try again in a minute, and tell your administrator if it keeps failing.';

/** RFC 4511 §4.1.9 result codes that the bind of the *user* may answer for a refused password or account. */
const BUSY_RESULT_CODES = new Set([
  3, // timeLimitExceeded
  11, // adminLimitExceeded
  51, // busy
  52, // unavailable
]);
const SIZE_LIMIT_EXCEEDED = 4;

type Phase = 'connect' | 'service-bind' | 'search' | 'user-bind';

export function ldapAuthenticator(config: LdapConfig, realm: string, log: DirectoryLog): Authenticator {
  const directory = openDirectory(config, log);
  const { settings } = directory;
  // Not an entry anyone can hold: the unknown-login path binds here, so it costs the round trip a wrong password costs.
  const decoyDn = `cn=umpin-no-such-entry-${randomBytes(8).toString('hex')},${settings.baseDn}`;

  return {
    async authenticate(credentials) {
      if (!credentials) refuse(realm);
      const { login, password } = credentials;
      // RFC 4513 §5.1.2: a simple bind with a DN and an empty password is an unauthenticated bind, which "succeeds".
      if (password === '') refuse(realm);
      return directory.session(realm, async (client, enter) => {
        const entry = await findOneEntry(client, settings, login, log);
        enter('user-bind');
        if (entry === undefined) {
          await client.bind(decoyDn, randomBytes(16).toString('base64url')).catch(rethrowUnlessRefused);
          return refuse(realm);
        }
        await client.bind(entry.dn, password);
        return { login: canonicalLogin(entry, settings.loginAttribute, login) ?? refuse(realm) };
      });
    },
  };
}

/** What the directory says about a user, for `umpin mailbox enable --from-directory`. */
export interface DirectoryUser {
  readonly login: string;
  readonly mail: string | undefined;
  readonly extension: string | undefined;
}

/** The directory's entries, as `umpin mailbox enable --from-directory` reads them (operations/admin/mailboxes.ts). */
export interface UserDirectory {
  /** The attributes read, named in the messages that tell an administrator what the entry lacks. */
  readonly loginAttribute: string;
  readonly mailAttribute: string;
  readonly extensionAttribute: string;
  findUser(login: string): Promise<DirectoryUser | undefined>;
}

/** The configured directory as a UserDirectory; nothing is read or connected until a lookup. */
export function ldapUserDirectory(config: LdapConfig, log: DirectoryLog): UserDirectory {
  const { loginAttribute, mailAttribute, extensionAttribute } = config;
  return Object.freeze({ loginAttribute, mailAttribute, extensionAttribute, findUser: (login: string) => lookupDirectoryUser(config, login, log) });
}

/**
 * Looks a login up as the service account (or anonymously) and reads its
 * mail and extension attributes; undefined when no single entry matches.
 * A directory that does not answer is the same ServerBusy as at sign-in.
 */
export async function lookupDirectoryUser(config: LdapConfig, login: string, log: DirectoryLog): Promise<DirectoryUser | undefined> {
  const { settings, session } = openDirectory(config, log);
  try {
    return await session('', async (client) => {
      const entry = await findOneEntry(client, settings, login, log, [settings.loginAttribute, settings.mailAttribute, settings.extensionAttribute]);
      const canonical = entry && canonicalLogin(entry, settings.loginAttribute, login);
      if (entry === undefined || canonical === undefined) return undefined;
      return { login: canonical, mail: attributeValues(entry, settings.mailAttribute)[0], extension: attributeValues(entry, settings.extensionAttribute)[0] };
    });
  } catch (error) {
    if (error instanceof AuthenticationFailed) return undefined; // several entries matched: no one user
    throw error;
  }
}

/**
 * The directory as configured, read once: `session` opens one connection,
 * upgrades it (StartTLS) and binds the service account as configured, runs
 * `work` from the search on, within `timeoutMs` as a whole, classifies any
 * failure (wrong password or directory unavailable) and always unbinds.
 */
function openDirectory(config: LdapConfig, log: DirectoryLog) {
  const settings = Object.freeze({ ...config });
  const servicePassword = settings.bindPasswordFile === undefined ? undefined : readBindPassword(settings.bindPasswordFile);
  const tlsOptions = directoryTlsOptions(settings);

  async function session<T>(realm: string, work: (client: Client, enter: (phase: Phase) => void) => Promise<T>): Promise<T> {
    const client = new Client({
      url: settings.url,
      timeout: settings.timeoutMs,
      connectTimeout: settings.timeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is given, so only ldaps:// gets them here.
      ...(settings.url.startsWith('ldaps:') ? { tlsOptions } : {}),
    });
    let phase: Phase = 'connect';
    const enter = (next: Phase) => {
      phase = next;
    };
    const run = async (): Promise<T> => {
      if (settings.startTls) await client.startTLS({ ...tlsOptions });
      if (settings.bindDn !== undefined && servicePassword !== undefined) {
        enter('service-bind');
        await client.bind(settings.bindDn, servicePassword);
      }
      enter('search');
      return work(client, enter);
    };
    try {
      // ldapts times out each message and the TCP connect, but not a TLS handshake after StartTLS; one
      // deadline over the whole sign-in covers every step. The `finally` below then closes the socket.
      return await withDeadline(settings.timeoutMs, () => run());
    } catch (error) {
      throw classify(error, phase, settings, realm, log);
    } finally {
      // unbind() also closes the socket, whatever state the session is in.
      await client.unbind().catch(() => undefined);
    }
  }

  return { settings, session };
}

async function findOneEntry(
  client: Client, settings: LdapConfig, login: string, log: DirectoryLog, attributes: readonly string[] = [settings.loginAttribute],
): Promise<Entry | undefined> {
  const { searchEntries } = await client.search(settings.baseDn, {
    scope: 'sub',
    filter: new EqualityFilter({ attribute: settings.loginAttribute, value: login }),
    attributes: [...attributes],
    derefAliases: 'never',
    // Two are enough to know the login is ambiguous.
    sizeLimit: 2,
    timeLimit: Math.max(1, Math.ceil(settings.timeoutMs / 1000)),
  });
  if (searchEntries.length > 1) {
    log.warn({ loginAttribute: settings.loginAttribute, entries: searchEntries.map((e) => e.dn) }, 'a login matched several directory entries; refused');
    return undefined;
  }
  return searchEntries[0];
}

/**
 * The caller is the entry's own value of the login attribute, so "ALICE" or
 * " alice" (which the directory's matching rule equates with "alice") maps to
 * the mailbox "alice". Of several values, the one the login spells.
 */
function canonicalLogin(entry: Entry, attribute: string, login: string): string | undefined {
  const values = attributeValues(entry, attribute);
  if (values.length === 1) return values[0];
  const fold = (s: string) => s.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
  return values.find((value) => fold(value) === fold(login));
}

/** An entry's values of `attribute` as text; attribute names are case-insensitive in LDAP. */
function attributeValues(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((name) => name.toLowerCase() === attribute.toLowerCase());
  const raw = key === undefined ? undefined : entry[key];
  return (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

function refuse(realm: string): never {
  throw new AuthenticationFailed(realm);
}

function rethrowUnlessRefused(error: unknown): void {
  if (!(error instanceof ResultCodeError) || BUSY_RESULT_CODES.has(error.code)) throw error;
}

/**
 * Only the directory refusing the user's own bind (or an ambiguous login) is
 * a wrong password. Everything else — no connection, TLS refused, a silent
 * server, the service account refused, a wrong base DN — is the directory
 * being unavailable, which the operator must hear about and the caller must
 * not mistake for a wrong password.
 */
function classify(error: unknown, phase: Phase, settings: LdapConfig, realm: string, log: DirectoryLog): Error {
  if (error instanceof AuthenticationFailed) return error;
  const resultCode = error instanceof ResultCodeError ? error.code : undefined;
  if (phase === 'user-bind' && resultCode !== undefined && !BUSY_RESULT_CODES.has(resultCode)) return new AuthenticationFailed(realm);
  if (phase === 'search' && resultCode === SIZE_LIMIT_EXCEEDED) {
    log.warn({ loginAttribute: settings.loginAttribute }, 'a login matched several directory entries; refused');
    return new AuthenticationFailed(realm);
  }
  const detail = { directory: settings.url, phase, resultCode, err: error instanceof Error ? error.message : String(error) };
  if (resultCode === undefined || BUSY_RESULT_CODES.has(resultCode)) log.warn(detail, 'the directory did not answer a sign-in');
  else if (phase === 'service-bind') log.error(detail, 'the directory refused the service account: check UMPIN_LDAP_BIND_DN and UMPIN_LDAP_BIND_PASSWORD_FILE');
  else log.error(detail, 'the directory refused the search: check UMPIN_LDAP_BASE_DN and UMPIN_LDAP_LOGIN_ATTRIBUTE');
  return new ServerBusy(DIRECTORY_RETRY_AFTER_SECONDS, DIRECTORY_UNAVAILABLE_MESSAGE);
}

function readBindPassword(file: string): string {
  const text = readSettingFile('UMPIN_LDAP_BIND_PASSWORD_FILE', file);
  // One trailing newline is what an editor or `echo` leaves; the password is the rest.
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new ConfigError('UMPIN_LDAP_BIND_PASSWORD_FILE', `${file} is empty; write the service account's password in it.`);
  return password;
}

/**
 * TLS for ldaps:// and StartTLS. With UMPIN_LDAP_CA_FILE only its CAs are
 * trusted: a directory's certificate comes from the organisation's own CA,
 * and trusting no public CA besides narrows who could impersonate it.
 */
function directoryTlsOptions(settings: LdapConfig): ConnectionOptions {
  const host = new URL(settings.url).hostname.replace(/^\[|\]$/g, '');
  const options: ConnectionOptions = { host, minVersion: 'TLSv1.2' };
  // SNI takes a host name only; an address is still checked against the certificate's IP SANs.
  if (isIP(host) === 0) options.servername = host;
  if (settings.caFile !== undefined) options.ca = readCertificateFile('UMPIN_LDAP_CA_FILE', settings.caFile);
  return options;
}
