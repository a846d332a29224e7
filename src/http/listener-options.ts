/**
 * How the listener itself is built: HTTPS from UMPIN_TLS_CERT/UMPIN_TLS_KEY,
 * the slow-client timeouts, and which proxies may name the client. Read once
 * at start-up; anything wrong stops the start with a ConfigError naming the
 * setting, rather than failing at the first handshake.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { ServerOptions as HttpServerOptions } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { ConfigError, type Config } from '../config.ts';
import { readSettingFile } from '../read-setting-file.ts';

export type ListenerConfig = Pick<Config, 'tls' | 'trustedProxies' | 'headersTimeoutMs' | 'requestTimeoutMs'>;

/**
 * Node checks the header and request deadlines on a timer
 * (`connectionsCheckingInterval`, 30 s by default), so a deadline is only
 * enforced to within that interval. A second at most keeps a 10 s headers
 * timeout meaning about 10 s; the check walks the open connections only.
 */
const MAX_DEADLINE_CHECK_MS = 1_000;

export interface ListenerOptions {
  /** Node server options for either kind of listener. */
  readonly server: HttpServerOptions;
  /** Present when the listener speaks TLS itself. */
  readonly https: HttpsServerOptions | undefined;
  readonly requestTimeout: number;
  /** Fastify's `trustProxy`: proxy-addr's list of addresses/CIDRs, or false to believe no X-Forwarded-* header. */
  readonly trustProxy: string[] | false;
  /** When the certificate stops being valid, for the start-up log. */
  readonly certificateValidTo: Date | undefined;
}

export function buildListenerOptions(config: ListenerConfig): ListenerOptions {
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    // Node refuses this combination with a RangeError that names neither setting.
    throw new ConfigError('UMPIN_HEADERS_TIMEOUT_MS', `${config.headersTimeoutMs} is longer than UMPIN_REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}); the headers are part of the request, so make it shorter.`);
  }
  const server: HttpServerOptions = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(MAX_DEADLINE_CHECK_MS, Math.ceil(config.headersTimeoutMs / 2)),
  };
  const tls = config.tls === undefined ? undefined : readTlsCredentials(config.tls);
  return {
    server,
    https: tls === undefined ? undefined : { ...server, cert: tls.cert, key: tls.key },
    requestTimeout: config.requestTimeoutMs,
    trustProxy: config.trustedProxies.length === 0 ? false : [...config.trustedProxies],
    certificateValidTo: tls?.validTo,
  };
}

interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  readonly validTo: Date;
}

/** Reads and checks the PEM files: a readable chain, a readable unencrypted key, and the key belongs to the certificate. */
export function readTlsCredentials(files: NonNullable<Config['tls']>): TlsCredentials {
  const cert = readSettingFile('UMPIN_TLS_CERT', files.certFile);
  const keyPem = readSettingFile('UMPIN_TLS_KEY', files.keyFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert); // the first certificate of the chain is the server's own
  } catch {
    throw new ConfigError('UMPIN_TLS_CERT', `${files.certFile} holds no PEM certificate; point it at the certificate chain (-----BEGIN CERTIFICATE-----), server certificate first.`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem); // parsed here only to check it; TLS is given the PEM
  } catch (error) {
    // Node 20 reports a PKCS#8 key without its passphrase as ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED, not
    // ERR_MISSING_PASSPHRASE: the PEM's own markers (PKCS#8 and the older Proc-Type header) say it for sure.
    const encrypted = (error as { code?: string }).code === 'ERR_MISSING_PASSPHRASE'
      || /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED$/m.test(keyPem.toString());
    throw new ConfigError('UMPIN_TLS_KEY', encrypted
      ? `${files.keyFile} is encrypted with a passphrase, which umpin cannot prompt for; decrypt it (openssl pkey -in encrypted.pem -out key.pem) and keep it mode 0600.`
      : `${files.keyFile} holds no PEM private key; point it at the key (-----BEGIN PRIVATE KEY-----) of UMPIN_TLS_CERT.`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new ConfigError('UMPIN_TLS_KEY', `${files.keyFile} is not the private key of the certificate in UMPIN_TLS_CERT (${files.certFile}); give the key the certificate was issued for.`);
  }
  return { cert, key: keyPem, validTo: new Date(leaf.validTo) };
}
