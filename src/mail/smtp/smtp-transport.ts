/**
 * The production transport (DESIGN §5): a pool of SMTP connections to one
 * relay, through nodemailer. A hand-off is done when the relay answered 250
 * to the end of DATA (RFC 5321 §4.1.1.4: from then on the relay is
 * responsible for the message).
 *
 * Every transport option is passed to nodemailer as an object, never as a
 * URL: with a URL the extra options (`requireTLS`, `tls.ca`, `pool`) are
 * easily lost, silently dropping the CA and the TLS requirement (DESIGN §6).
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { MailHandOffFailed, type HandOffFacts } from '../../errors.ts';
import { readCertificateFile } from '../../read-setting-file.ts';
import type { HandOffReceipt, MailMessage, MailTransport } from '../transport.ts';
import type { SmtpRelay } from './smtp-url.ts';

export const DEFAULT_SMTP_MAX_CONNECTIONS = 2;
export const DEFAULT_SMTP_TIMEOUT_MS = 15_000;
const MAX_REPLY_LENGTH = 200;

export interface SmtpTransportOptions {
  /** From `parseSmtpUrl(UMPIN_SMTP_URL)`. */
  readonly relay: SmtpRelay;
  /** PEM file of CAs trusted for the relay's certificate, in addition to Node's default CAs (UMPIN_SMTP_CA_FILE). */
  readonly caFile?: string;
  readonly maxConnections?: number;
  /** Bounds connecting, the greeting and each wait for a reply (an idle socket); an AbortSignal bounds the whole hand-off. */
  readonly timeoutMs?: number;
  /** The name sent with EHLO; nodemailer's default is the machine's host name. */
  readonly localName?: string;
}

export class SmtpTransport implements MailTransport {
  readonly #mailer;

  constructor(options: SmtpTransportOptions) {
    const { relay } = options;
    const maxConnections = options.maxConnections ?? DEFAULT_SMTP_MAX_CONNECTIONS;
    const timeoutMs = options.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new TypeError('SMTP maxConnections must be a whole number of at least 1.');
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('SMTP timeoutMs must be a whole number of milliseconds, at least 1.');
    const ca = options.caFile === undefined ? undefined : [...defaultCertificates(), ...readCertificateFile('UMPIN_SMTP_CA_FILE', options.caFile)];

    this.#mailer = nodemailer.createTransport({
      pool: true,
      maxConnections,
      host: relay.host,
      port: relay.port,
      secure: relay.secure,
      requireTLS: relay.requireTLS,
      ignoreTLS: relay.ignoreTLS,
      ...(relay.auth ? { auth: { user: relay.auth.user, pass: relay.auth.pass } } : {}),
      // Node's `ca` replaces its default CAs rather than adding to them, hence the merged list.
      tls: ca ? { ca } : {},
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
      ...(options.localName !== undefined ? { name: options.localName } : {}),
      logger: false,
    });
  }

  async handOff(message: MailMessage, signal: AbortSignal): Promise<HandOffReceipt> {
    if (signal.aborted) throw new MailHandOffFailed({ permanent: false, reply: 'EABORT' }, { cause: signal.reason });
    const mail: SendMailOptions = {
      from: message.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      headers: { ...message.headers },
      // nodemailer ≥ 10.5 drops a queued message or closes the connection delivering it.
      signal,
    };
    // MailMessage may grow an HTML part; send it when a composer provides one.
    if ('html' in message && typeof message.html === 'string') mail.html = message.html;
    try {
      const info = await this.#mailer.sendMail(mail);
      return { messageId: info.messageId, reply: info.response };
    } catch (error) {
      throw new MailHandOffFailed(classifySmtpError(error), { cause: error });
    }
  }

  async close(): Promise<void> {
    // Idle connections end now; one delivering a message finishes it, bounded by the timeouts.
    this.#mailer.close();
  }
}

/** What `classifySmtpError` reads: nodemailer's error fields, or a plain object in tests. */
export interface SmtpErrorShape {
  readonly code?: unknown;
  readonly originalCode?: unknown;
  readonly responseCode?: unknown;
  readonly response?: unknown;
}

/**
 * Failures without a reply code that no retry mends: refused or missing
 * credentials, a relay that will not speak TLS when we require it (it will
 * not start offering STARTTLS on the next attempt), a message or envelope
 * nodemailer itself refuses to send. Each needs the administrator.
 */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'EAUTH', 'ENOAUTH', 'EOAUTH2', 'ETLS', 'EREQUIRETLS', 'ECONFIG', 'EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS', 'ERR_ACCESS_DENIED',
]);

/**
 * Node's codes for a certificate it will not trust (tls docs, "X509
 * certificate error codes", less OUT_OF_MEM). nodemailer reports these as
 * ESOCKET, keeping Node's code as `originalCode`, for STARTTLS and implicit
 * TLS alike.
 */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A system error under nodemailer's code that no retry mends: an untrusted
 * certificate, or an OpenSSL protocol error (`ERR_SSL_…`, e.g.
 * ERR_SSL_WRONG_VERSION_NUMBER for smtps:// to a plain-text port), which is
 * a mismatch of configuration; a flaky network shows as ECONNRESET instead.
 */
function isTlsConfigurationCode(code: string | undefined): boolean {
  return code !== undefined && (CERTIFICATE_CODES.has(code) || code.startsWith('ERR_SSL_'));
}

/**
 * STYLE 10: retry or give up is decided from the SMTP reply code, else from
 * nodemailer's error code and the system code under it, never from message
 * text. A 4xx reply is transient and a 5xx reply permanent (RFC 5321
 * §4.2.1), 503 included: nodemailer's own `err.permanent` calls 503
 * transient, but a relay that finds our command sequence wrong will find it
 * wrong again. Without a reply, the codes above are permanent and everything
 * else (ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, EABORT, a Node errno such as
 * ECONNREFUSED, an unknown code) is transient: the outbox's attempt limit
 * ends a failure that never clears.
 */
export function classifySmtpError(error: unknown): HandOffFacts {
  const shape: SmtpErrorShape = typeof error === 'object' && error !== null ? error : {};
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const originalCode = typeof shape.originalCode === 'string' ? shape.originalCode : undefined;
  const responseCode = typeof shape.responseCode === 'number' && Number.isInteger(shape.responseCode) ? shape.responseCode : undefined;
  const response = typeof shape.response === 'string' ? oneLine(shape.response) : '';

  const reply = response !== '' ? response : codeReply(code, originalCode);
  const facts = (permanent: boolean): HandOffFacts => ({
    permanent,
    ...(responseCode !== undefined ? { responseCode } : {}),
    ...(reply !== undefined ? { reply } : {}),
  });

  if (responseCode !== undefined && responseCode >= 400 && responseCode <= 599) return facts(responseCode >= 500);
  return facts((code !== undefined && PERMANENT_CODES.has(code)) || isTlsConfigurationCode(code) || isTlsConfigurationCode(originalCode));
}

/** A multi-line reply on one line, cut to a length a log line and `pin show` can hold. */
function oneLine(response: string): string {
  const flat = response.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_REPLY_LENGTH ? `${flat.slice(0, MAX_REPLY_LENGTH - 1)}…` : flat;
}

/** e.g. `ESOCKET (ECONNREFUSED)`: nodemailer's code with the system error under it. */
function codeReply(code: string | undefined, originalCode: string | undefined): string | undefined {
  if (code === undefined) return originalCode;
  return originalCode !== undefined && originalCode !== code ? `${code} (${originalCode})` : code;
}

/** The CAs Node trusts when no `ca` is given. */
function defaultCertificates(): readonly string[] {
  // Node ≥ 22.15 lists them all; Node 20 knows only its bundled store and the NODE_EXTRA_CA_CERTS file.
  const lister = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  if (typeof lister === 'function') return lister('default');
  const extraFile = process.env['NODE_EXTRA_CA_CERTS'];
  if (extraFile === undefined || extraFile === '') return tls.rootCertificates;
  try {
    return [...tls.rootCertificates, ...pemCertificates(readFileSync(extraFile, 'utf8'))];
  } catch {
    // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; so do we, by leaving it out.
    return tls.rootCertificates;
  }
}

function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
