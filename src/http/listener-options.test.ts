import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../config.ts';
import { makeTestCertificate } from '../../test/support/smtp-peer.ts';
import { buildListenerOptions, readTlsCredentials, type ListenerConfig } from './listener-options.ts';

const PLAIN: ListenerConfig = { tls: undefined, trustedProxies: [], headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

function configError(setting: string, message: string): (error: unknown) => boolean {
  return (error) => error instanceof ConfigError && error.setting === setting && error.message === `${setting}: ${message}`;
}

describe('buildListenerOptions', () => {
  it('plain HTTP: the two deadlines, a deadline check at most a second apart, no proxy believed', () => {
    assert.deepEqual(buildListenerOptions(PLAIN), {
      server: { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 },
      https: undefined,
      requestTimeout: 30_000,
      trustProxy: false,
      certificateValidTo: undefined,
    });
  });

  it('checks short deadlines at half their length, and copies the trusted proxies', () => {
    const proxies = ['127.0.0.1', '10.0.0.0/8'];
    const options = buildListenerOptions({ ...PLAIN, headersTimeoutMs: 801, requestTimeoutMs: 900, trustedProxies: proxies });
    assert.equal(options.server.connectionsCheckingInterval, 401);
    assert.deepEqual(options.trustProxy, proxies);
    assert.notEqual(options.trustProxy, proxies, 'a copy: Fastify may not change the config');
  });

  it('refuses a headers timeout longer than the request timeout, naming both settings', () => {
    assert.throws(() => buildListenerOptions({ ...PLAIN, headersTimeoutMs: 30_001 }), configError('UMPIN_HEADERS_TIMEOUT_MS',
      '30001 is longer than UMPIN_REQUEST_TIMEOUT_MS (30000); the headers are part of the request, so make it shorter.'));
  });

  it('HTTPS: the PEM files, the same deadlines, and when the certificate expires', async () => {
    const made = await makeTestCertificate('IP:127.0.0.1', 'ec');
    try {
      const options = buildListenerOptions({ ...PLAIN, tls: { certFile: made.certFile, keyFile: made.keyFile } });
      assert.deepEqual(options.https, { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000, cert: made.cert, key: made.key });
      const validTo = options.certificateValidTo?.getTime() ?? 0;
      assert.ok(Math.abs(validTo - (Date.now() + 24 * 3600_000)) < 5 * 60_000, `valid for about a day: ${options.certificateValidTo?.toISOString()}`);
    } finally {
      await rm(dirname(made.certFile), { recursive: true, force: true });
    }
  });
});

describe('readTlsCredentials', () => {
  it('refuses a file that holds no certificate, no key, or another certificate\'s key, each by its setting', async () => {
    const made = await makeTestCertificate('IP:127.0.0.1', 'ec');
    const dir = dirname(made.certFile);
    const other = join(dir, 'other-key.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(other, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    try {
      assert.throws(() => readTlsCredentials({ certFile: made.keyFile, keyFile: made.keyFile }), configError('UMPIN_TLS_CERT',
        `${made.keyFile} holds no PEM certificate; point it at the certificate chain (-----BEGIN CERTIFICATE-----), server certificate first.`));
      assert.throws(() => readTlsCredentials({ certFile: made.certFile, keyFile: made.certFile }), configError('UMPIN_TLS_KEY',
        `${made.certFile} holds no PEM private key; point it at the key (-----BEGIN PRIVATE KEY-----) of UMPIN_TLS_CERT.`));
      assert.throws(() => readTlsCredentials({ certFile: made.certFile, keyFile: other }), configError('UMPIN_TLS_KEY',
        `${other} is not the private key of the certificate in UMPIN_TLS_CERT (${made.certFile}); give the key the certificate was issued for.`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Node 20 on OpenSSL 3 reports a PKCS#8 key without its passphrase as ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED, not
  // ERR_MISSING_PASSPHRASE: the advice to decrypt the key was never given (found 2026-12-02).
  it('names an encrypted key as encrypted, PKCS#8 or the older PEM with a Proc-Type header', async () => {
    const made = await makeTestCertificate('IP:127.0.0.1', 'ec');
    const pkcs8 = join(dirname(made.certFile), 'encrypted-pkcs8.pem');
    const traditional = join(dirname(made.certFile), 'encrypted-rsa.pem');
    const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(pkcs8, ec.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }), { mode: 0o600 });
    const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(traditional, rsa.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }), { mode: 0o600 });
    try {
      for (const keyFile of [pkcs8, traditional]) {
        assert.throws(() => readTlsCredentials({ certFile: made.certFile, keyFile }), configError('UMPIN_TLS_KEY',
          `${keyFile} is encrypted with a passphrase, which umpin cannot prompt for; decrypt it (openssl pkey -in encrypted.pem -out key.pem) and keep it mode 0600.`));
      }
    } finally {
      await rm(dirname(made.certFile), { recursive: true, force: true });
    }
  });
});
