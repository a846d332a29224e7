/**
 * The directory authenticator's TLS: ldaps:// and StartTLS against a real
 * slapd holding a throw-away self-signed certificate (openssl), trusted only
 * through UMPIN_LDAP_CA_FILE. An untrusted certificate is the directory
 * being unavailable, and the password never reaches it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LdapConfig } from '../config.ts';
import { AuthenticationFailed, ServerBusy } from '../errors.ts';
import { makeTestCertificate, type TestCertificate } from '../../test/support/smtp-peer.ts';
import { BASE_DN, DIRECTORY_USERS, SERVICE_DN, SERVICE_PASSWORD, startSlapd, userDn, type Slapd } from '../../test/support/slapd.ts';
import { ldapAuthenticator, type DirectoryLog } from './ldap-authenticator.ts';
import { peerSkip } from '../../test/support/peers.ts';

const ALICE_PASSWORD = DIRECTORY_USERS[0]?.password ?? '';

describe('ldapAuthenticator over TLS (real slapd)', { skip: await peerSkip('slapd') }, () => {
  let dir: string;
  let certificate: TestCertificate;
  let slapd: Slapd;
  let caFile: string;
  let passwordFile: string;
  const logged: string[] = [];
  const log: DirectoryLog = { warn: (_o, m) => logged.push(`warn: ${m}`), error: (_o, m) => logged.push(`error: ${m}`) };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umpin-ldap-tls-'));
    certificate = await makeTestCertificate();
    caFile = certificate.certFile;
    const keyFile = join(dir, 'server.key');
    await writeFile(keyFile, certificate.key, { mode: 0o600 });
    passwordFile = join(dir, 'bind-password');
    await writeFile(passwordFile, SERVICE_PASSWORD, { mode: 0o600 });
    slapd = await startSlapd({ tls: { certFile: certificate.certFile, keyFile } });
  });
  after(async () => {
    await slapd?.stop();
    await certificate?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (overrides: Partial<LdapConfig>): LdapConfig => ({
    url: slapd.url, startTls: false, bindDn: SERVICE_DN, bindPasswordFile: passwordFile, baseDn: BASE_DN,
    loginAttribute: 'uid', mailAttribute: 'mail', extensionAttribute: 'telephoneNumber', caFile, timeoutMs: 5000, ...overrides,
  });

  it('ldaps:// with the CA file: the right password signs in, a wrong one is AuthenticationFailed', async () => {
    const auth = ldapAuthenticator(config({ url: slapd.ldapsUrl ?? '' }), 'umpin', log);
    assert.deepEqual(await auth.authenticate({ login: 'alice', password: ALICE_PASSWORD }), { login: 'alice' });
    await assert.rejects(auth.authenticate({ login: 'alice', password: 'wrong' }), AuthenticationFailed);
  });

  it('StartTLS on ldap:// with the CA file signs in', async () => {
    const auth = ldapAuthenticator(config({ startTls: true }), 'umpin', log);
    assert.deepEqual(await auth.authenticate({ login: 'alice', password: ALICE_PASSWORD }), { login: 'alice' });
  });

  for (const [name, overrides] of [
    ['ldaps://', { url: '', caFile: undefined }],
    ['StartTLS', { startTls: true, caFile: undefined }],
  ] as const) {
    it(`${name} without the CA file: the certificate is untrusted, a 503 ServerBusy, and nobody bound`, async () => {
      const url = name === 'ldaps://' ? (slapd.ldapsUrl ?? '') : slapd.url;
      const auth = ldapAuthenticator(config({ ...overrides, url }), 'umpin', log);
      const attempted = (await slapd.attemptedBinds()).length;
      logged.length = 0;
      await assert.rejects(auth.authenticate({ login: 'alice', password: ALICE_PASSWORD }), (error: unknown) => {
        assert.ok(error instanceof ServerBusy);
        assert.equal(error.httpStatus, 503);
        return true;
      });
      assert.equal((await slapd.attemptedBinds()).length, attempted, 'no password went to an unverified server');
      assert.deepEqual(logged, ['warn: the directory did not answer a sign-in']);
    });
  }

  it('a wrong service account password is a 503 that names the settings in the log, and alice never binds', async () => {
    const wrongFile = join(dir, 'wrong-password');
    await writeFile(wrongFile, 'not the service password', { mode: 0o600 });
    const auth = ldapAuthenticator(config({ bindPasswordFile: wrongFile }), 'umpin', log);
    logged.length = 0;
    await assert.rejects(auth.authenticate({ login: 'alice', password: ALICE_PASSWORD }), ServerBusy);
    assert.deepEqual(logged, ['error: the directory refused the service account: check UMPIN_LDAP_BIND_DN and UMPIN_LDAP_BIND_PASSWORD_FILE']);
    assert.notEqual((await slapd.attemptedBinds()).at(-1), userDn('alice'));
  });
});
