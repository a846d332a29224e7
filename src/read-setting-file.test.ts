import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTestCertificate, type TestCertificate } from '../test/support/smtp-peer.ts';
import { ConfigError } from './errors.ts';
import { readCertificateFile, readSettingFile } from './read-setting-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'umpin-setting-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function assertConfigError(work: () => unknown, setting: string, message: string): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof ConfigError && error instanceof TypeError, String(error));
    assert.equal(error.setting, setting);
    assert.equal(error.message, `${setting}: ${message}`);
    return true;
  });
}

describe('readSettingFile', () => {
  it('returns the text of a readable file', () => {
    const file = join(dir, 'password');
    writeFileSync(file, 's3cret\n');
    assert.equal(readSettingFile('UMPIN_LDAP_BIND_PASSWORD_FILE', file), 's3cret\n');
  });

  it('names the setting, the path and the reason when the file cannot be read', () => {
    const missing = join(dir, 'missing.pem');
    assertConfigError(() => readSettingFile('UMPIN_TLS_KEY', missing), 'UMPIN_TLS_KEY', `${missing} cannot be read (ENOENT); check the path and that the service's user may read it.`);
    assertConfigError(() => readSettingFile('UMPIN_TLS_KEY', dir), 'UMPIN_TLS_KEY', `${dir} cannot be read (EISDIR); check the path and that the service's user may read it.`);
  });
});

describe('readCertificateFile', () => {
  let certificate: TestCertificate;
  before(async () => {
    certificate = await makeTestCertificate();
  });
  after(() => certificate.dispose());

  it('returns each PEM certificate of the file', () => {
    const bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, `# two CAs\n${certificate.cert}\n${certificate.cert}\n`);
    assert.deepEqual(readCertificateFile('UMPIN_SMTP_CA_FILE', bundle), [certificate.cert.trim(), certificate.cert.trim()]);
  });

  it('refuses a file without a certificate, or with one that does not parse, naming the setting', () => {
    const key = join(dir, 'key.pem');
    writeFileSync(key, certificate.key);
    assertConfigError(() => readCertificateFile('UMPIN_LDAP_CA_FILE', key), 'UMPIN_LDAP_CA_FILE', `${key} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    assertConfigError(() => readCertificateFile('UMPIN_SMTP_CA_FILE', broken), 'UMPIN_SMTP_CA_FILE', `${broken} holds a certificate that does not parse.`);
  });
});
