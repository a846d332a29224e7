import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { CONFIGURATION_DOC, readSettingsSection } from '../scripts/write-configuration-doc.ts';
import { ConfigError, SETTINGS, describeDatabase, describeSettings, findNearestSetting, loadConfig } from './config.ts';

const CWD = '/srv/umpin';

/** Asserts that `env` is refused with a ConfigError naming `setting` and a message matching `accepted`. */
function assertRefused(env: Record<string, string>, setting: string, accepted: RegExp): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env, CWD);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
  assert.ok(caught instanceof TypeError, 'misconfiguration is a TypeError (STYLE 4)');
  assert.equal(caught.setting, setting);
  assert.ok(caught.message.startsWith(`${setting}: `), `the message names ${setting}: ${caught.message}`);
  assert.match(caught.message, accepted);
  return caught;
}

describe('loadConfig', () => {
  it('has the embedded defaults, resolved against the working directory', () => {
    const config = loadConfig({}, CWD);
    assert.deepEqual(config, {
      listen: { host: '127.0.0.1', port: 8080 },
      dataDir: '/srv/umpin/var',
      database: { engine: 'sqlite', file: '/srv/umpin/var/umpin.sqlite' },
      secretFile: '/srv/umpin/var/secret.key',
      pickupDir: '/srv/umpin/var/pickup',
      publicUrl: undefined,
      autodiscover: true,
      bodyLimit: 65536,
      mailFrom: 'Voice Mail <voicemail@localhost>',
      mailReplyTo: undefined,
      smtpUrl: undefined,
      smtpCaFile: undefined,
      mailTemplateDir: undefined,
      voiceAccessNumber: undefined,
      mailTimeoutMs: 15000,
      outboxRetryMs: 30000,
      outboxGiveUpMinutes: 1440,
      outboxIntervalMs: 5000,
      limits: { requestsPerAddressPerMinute: 120, failedSignInsPer15Minutes: 10, resetsPerLoginPerHour: 20, phoneFailuresPerSourcePer15Minutes: 5, autoResetsPerMailboxPerHour: 3, ipv6PrefixLength: 64 },
      ldap: undefined,
      redisUrl: undefined,
      tls: undefined,
      allowPlainHttpAuth: false,
      hstsMaxAgeSeconds: 31536000,
      trustedProxies: [],
      headersTimeoutMs: 10000,
      requestTimeoutMs: 30000,
      realm: 'umpin',
      logLevel: 'info',
      kdfConcurrency: availableParallelism(),
      auditRetentionDays: 365,
      webIdleSeconds: 900,
      agi: undefined,
      pbxExtensionContexts: ['default'],
    });
  });

  it('treats empty and blank values as unset', () => {
    assert.deepEqual(loadConfig({ UMPIN_LISTEN: '', UMPIN_BODY_LIMIT: '   ', UMPIN_DATA_DIR: '' }, CWD), loadConfig({}, CWD));
  });

  it('places the state files in UMPIN_DATA_DIR', () => {
    const config = loadConfig({ UMPIN_DATA_DIR: 'state' }, CWD);
    assert.equal(config.dataDir, '/srv/umpin/state');
    assert.deepEqual(config.database, { engine: 'sqlite', file: '/srv/umpin/state/umpin.sqlite' });
    assert.equal(config.secretFile, '/srv/umpin/state/secret.key');
    assert.equal(config.pickupDir, '/srv/umpin/state/pickup');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({}, CWD);
    assert.equal(Object.isFrozen(config), true);
    assert.throws(() => {
      (config as { bodyLimit: number }).bodyLimit = 1;
    }, TypeError);
    assert.equal(config.bodyLimit, 65536);
  });

  describe('UMPIN_LISTEN', () => {
    it('accepts host:port and a bracketed IPv6 address', () => {
      assert.deepEqual(loadConfig({ UMPIN_LISTEN: '0.0.0.0:9000' }, CWD).listen, { host: '0.0.0.0', port: 9000 });
      assert.deepEqual(loadConfig({ UMPIN_LISTEN: '[::1]:8080' }, CWD).listen, { host: '::1', port: 8080 });
    });

    it('refuses what is not host:port, and ports over 65535', () => {
      for (const value of ['nope', '1.2.3.4:99999']) {
        const error = assertRefused({ UMPIN_LISTEN: value }, 'UMPIN_LISTEN', /is not host:port, e\.g\. 127\.0\.0\.1:8080/);
        assert.ok(error.message.includes(`"${value}"`), 'the message quotes the value');
        assert.match(error.message, /\[::1\]:8080/);
      }
    });
  });

  describe('UMPIN_BODY_LIMIT', () => {
    it('accepts a whole number of bytes in range', () => {
      assert.equal(loadConfig({ UMPIN_BODY_LIMIT: '1024' }, CWD).bodyLimit, 1024);
      assert.equal(loadConfig({ UMPIN_BODY_LIMIT: '10485760' }, CWD).bodyLimit, 10485760);
    });

    it('refuses units, values under 1024 and values over 10 MiB', () => {
      for (const value of ['12kb', '10', '999999999']) {
        const error = assertRefused({ UMPIN_BODY_LIMIT: value }, 'UMPIN_BODY_LIMIT', /must be a whole number from 1024 to 10485760/);
        assert.ok(error.message.includes(`"${value}"`));
      }
    });
  });

  describe('UMPIN_WEB_IDLE_SECONDS', () => {
    it('accepts seconds from 10 to a day', () => {
      assert.equal(loadConfig({ UMPIN_WEB_IDLE_SECONDS: '10' }, CWD).webIdleSeconds, 10);
      assert.equal(loadConfig({ UMPIN_WEB_IDLE_SECONDS: '86400' }, CWD).webIdleSeconds, 86400);
    });

    it('refuses units and values out of range', () => {
      for (const value of ['15m', '9', '86401']) assertRefused({ UMPIN_WEB_IDLE_SECONDS: value }, 'UMPIN_WEB_IDLE_SECONDS', /must be a whole number from 10 to 86400/);
    });
  });

  describe('UMPIN_PUBLIC_URL', () => {
    it('accepts an http(s) URL and drops a trailing slash', () => {
      assert.equal(loadConfig({ UMPIN_PUBLIC_URL: 'https://um.example.com/' }, CWD).publicUrl, 'https://um.example.com');
    });

    it('refuses another scheme', () => {
      assertRefused({ UMPIN_PUBLIC_URL: 'ftp://x' }, 'UMPIN_PUBLIC_URL', /must start with https:\/\/ or http:\/\//);
    });

    it('refuses what is not a URL', () => {
      assertRefused({ UMPIN_PUBLIC_URL: 'not a url' }, 'UMPIN_PUBLIC_URL', /"not a url" is not a URL; use e\.g\. https:\/\/um\.example\.com/);
    });
  });

  describe('UMPIN_DATABASE_URL', () => {
    it('resolves a relative sqlite: file against the working directory', () => {
      assert.deepEqual(loadConfig({ UMPIN_DATABASE_URL: 'sqlite:relative.db' }, CWD).database, { engine: 'sqlite', file: '/srv/umpin/relative.db' });
      assert.deepEqual(loadConfig({ UMPIN_DATABASE_URL: 'sqlite:/var/lib/umpin/u.sqlite' }, CWD).database, { engine: 'sqlite', file: '/var/lib/umpin/u.sqlite' });
    });

    it('selects PostgreSQL for postgres:// and postgresql:// URLs, keeping the URL whole for the driver', () => {
      for (const url of [
        'postgres://umpin@db.example.com:5432/umpin',
        'postgresql://umpin:s3cret@10.0.0.5/umpin?sslmode=require',
        'postgres://[::1]:5432/umpin',
        'postgres:///umpin?host=/run/postgresql',
      ]) {
        assert.deepEqual(loadConfig({ UMPIN_DATABASE_URL: url }, CWD).database, { engine: 'postgres', url });
      }
    });

    it('describes the database for logs without the password', () => {
      assert.equal(describeDatabase(loadConfig({ UMPIN_DATABASE_URL: 'postgres://umpin:s3cret@db:5432/umpin?sslmode=require' }, CWD).database), 'postgres://umpin@db:5432/umpin?sslmode=require');
      assert.equal(describeDatabase(loadConfig({ UMPIN_DATABASE_URL: 'postgres://umpin@db.example:5432/umpin?password=s3cret&sslmode=require' }, CWD).database), 'postgres://umpin@db.example:5432/umpin?sslmode=require');
      assert.equal(describeDatabase(loadConfig({ UMPIN_DATABASE_URL: 'postgres://umpin:p%2Fa%40s%23s%25@db/umpin?sslpassword=k3y' }, CWD).database), 'postgres://umpin@db/umpin');
      assert.equal(describeDatabase(loadConfig({}, CWD).database), '/srv/umpin/var/umpin.sqlite');
    });

    it('refuses a PostgreSQL URL it cannot read, and never shows the password', () => {
      const cases: Array<[string, RegExp]> = [
        ['postgres://u:secret#pw@h/db', /"postgres:\/\/u@h\/db" is not a valid URL; use postgres:\/\/user:password@host:5432\/database \(a password with @ \/ : # \? or % percent-encoded\)\.$/],
        ['postgres://u:secretpw@/db', /"postgres:\/\/u@\/db" is not a valid URL/],
        ['postgres:///db', /"postgres:\/\/\/db" names no server; use postgres:\/\/user:password@host:5432\/database/],
        ['postgres:secretpw', /"postgres:secretpw" names no server/],
        ['postgres://u:12/secretpw@h/db', /"postgres:\/\/u@h\/db" does not end in a database name; use postgres:\/\//],
      ];
      for (const [url, message] of cases) {
        const error = assertRefused({ UMPIN_DATABASE_URL: url }, 'UMPIN_DATABASE_URL', message);
        if (url !== 'postgres:secretpw') assert.ok(!error.message.includes('secret'), error.message);
      }
    });

    it('refuses other URLs, and hides credentials in them too', () => {
      assertRefused({ UMPIN_DATABASE_URL: 'mysql://x' }, 'UMPIN_DATABASE_URL', /"mysql:\/\/x" is not a database URL; use sqlite:<file> or postgres:\/\/user:password@host:5432\/database\.$/);
      for (const url of ['mysql://u:secretpw@h/db', 'mysql://u:se/cret@pw@h/db']) {
        const error = assertRefused({ UMPIN_DATABASE_URL: url }, 'UMPIN_DATABASE_URL', /"mysql:\/\/u@h\/db" is not a database URL/);
        assert.ok(!error.message.includes('cret'), error.message);
      }
    });

    it('refuses sqlite: without a file', () => {
      assertRefused({ UMPIN_DATABASE_URL: 'sqlite:' }, 'UMPIN_DATABASE_URL', /sqlite: needs a file/);
    });
  });

  it('UMPIN_MAIL_FROM: accepts an address with or without a name, refuses one without @', () => {
    assert.equal(loadConfig({ UMPIN_MAIL_FROM: 'vm@example.com' }, CWD).mailFrom, 'vm@example.com');
    assert.equal(loadConfig({ UMPIN_MAIL_FROM: 'Voice Mail <vm@example.com>' }, CWD).mailFrom, 'Voice Mail <vm@example.com>');
    assertRefused({ UMPIN_MAIL_FROM: 'no-at-sign' }, 'UMPIN_MAIL_FROM', /"no-at-sign" is not an address such as voicemail@example\.com/);
  });

  it('UMPIN_REALM: refuses a double quote', () => {
    assertRefused({ UMPIN_REALM: 'um"pin' }, 'UMPIN_REALM', /1–64 printable ASCII characters without quotes or backslashes/);
  });

  it('UMPIN_LOG_LEVEL: accepts a level in any case, refuses an unknown one', () => {
    assert.equal(loadConfig({ UMPIN_LOG_LEVEL: 'DEBUG' }, CWD).logLevel, 'debug');
    assertRefused({ UMPIN_LOG_LEVEL: 'loud' }, 'UMPIN_LOG_LEVEL', /"loud" must be one of fatal, error, warn, info, debug, trace, silent/);
  });

  it('UMPIN_MAIL_TIMEOUT_MS: refuses less than 100 ms', () => {
    assert.equal(loadConfig({ UMPIN_MAIL_TIMEOUT_MS: '100' }, CWD).mailTimeoutMs, 100);
    assertRefused({ UMPIN_MAIL_TIMEOUT_MS: '50' }, 'UMPIN_MAIL_TIMEOUT_MS', /"50" must be a whole number from 100 to 300000/);
  });

  it('UMPIN_LDAP_*: reads a directory with AD-style login, resolves files, refuses half a setting', () => {
    const { ldap } = loadConfig({
      UMPIN_LDAP_URL: 'ldaps://dc1.example.com:636/', UMPIN_LDAP_BASE_DN: 'dc=example,dc=com', UMPIN_LDAP_LOGIN_ATTRIBUTE: 'sAMAccountName',
      UMPIN_LDAP_BIND_DN: 'cn=umpin,dc=example,dc=com', UMPIN_LDAP_BIND_PASSWORD_FILE: 'ldap.pw', UMPIN_LDAP_CA_FILE: 'ca.pem',
    }, CWD);
    assert.deepEqual(ldap, {
      url: 'ldaps://dc1.example.com:636', startTls: false, bindDn: 'cn=umpin,dc=example,dc=com', bindPasswordFile: '/srv/umpin/ldap.pw',
      baseDn: 'dc=example,dc=com', loginAttribute: 'sAMAccountName', mailAttribute: 'mail', extensionAttribute: 'telephoneNumber',
      caFile: '/srv/umpin/ca.pem', timeoutMs: 5000,
    });
    assertRefused({ UMPIN_LDAP_BASE_DN: 'dc=x' }, 'UMPIN_LDAP_BASE_DN', /UMPIN_LDAP_URL is not/);
    assertRefused({ UMPIN_LDAP_URL: 'ldap://x' }, 'UMPIN_LDAP_BASE_DN', /is required/);
    assertRefused({ UMPIN_LDAP_URL: 'http://x', UMPIN_LDAP_BASE_DN: 'dc=x' }, 'UMPIN_LDAP_URL', /not ldap:\/\/host/);
    assertRefused({ UMPIN_LDAP_URL: 'ldap://x', UMPIN_LDAP_BASE_DN: 'dc=x', UMPIN_LDAP_BIND_DN: 'cn=a' }, 'UMPIN_LDAP_BIND_PASSWORD_FILE', /go together/);
    assertRefused({ UMPIN_LDAP_URL: 'ldap://x', UMPIN_LDAP_BASE_DN: 'dc=x', UMPIN_LDAP_LOGIN_ATTRIBUTE: 'uid)(x' }, 'UMPIN_LDAP_LOGIN_ATTRIBUTE', /not an attribute name/);
    assertRefused({ UMPIN_LDAP_URL: 'ldaps://x', UMPIN_LDAP_BASE_DN: 'dc=x', UMPIN_LDAP_STARTTLS: 'true' }, 'UMPIN_LDAP_STARTTLS', /already TLS/);
  });

  it('UMPIN_TLS_CERT/KEY, UMPIN_TRUSTED_PROXIES, UMPIN_REDIS_URL: read and checked', () => {
    const config = loadConfig({ UMPIN_TLS_CERT: 'tls/cert.pem', UMPIN_TLS_KEY: '/etc/umpin/key.pem', UMPIN_TRUSTED_PROXIES: '10.0.0.0/8, ::1', UMPIN_REDIS_URL: 'redis://127.0.0.1:6379/2' }, CWD);
    assert.deepEqual(config.tls, { certFile: '/srv/umpin/tls/cert.pem', keyFile: '/etc/umpin/key.pem' });
    assert.deepEqual(config.trustedProxies, ['10.0.0.0/8', '::1']);
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379/2');
    assertRefused({ UMPIN_TLS_CERT: 'c.pem' }, 'UMPIN_TLS_KEY', /without a key/);
    assertRefused({ UMPIN_TRUSTED_PROXIES: '10.0.0.0/33' }, 'UMPIN_TRUSTED_PROXIES', /"10\.0\.0\.0\/33" is not an address or CIDR/);
    assertRefused({ UMPIN_REDIS_URL: 'http://:secret@r' }, 'UMPIN_REDIS_URL', /is not redis:\/\//);
    assert.doesNotMatch(loadConfigError({ UMPIN_REDIS_URL: 'http://:secret@r' }), /secret/);
    assertRefused({ UMPIN_ALLOW_PLAIN_HTTP_AUTH: 'maybe' }, 'UMPIN_ALLOW_PLAIN_HTTP_AUTH', /must be true or false/);
  });

  it('UMPIN_AUTODISCOVER: on by default, false turns it off, anything else is refused', () => {
    assert.equal(loadConfig({ UMPIN_AUTODISCOVER: 'false' }, CWD).autodiscover, false);
    assert.equal(loadConfig({ UMPIN_AUTODISCOVER: 'TRUE' }, CWD).autodiscover, true);
    assertRefused({ UMPIN_AUTODISCOVER: 'sometimes' }, 'UMPIN_AUTODISCOVER', /"sometimes" must be true or false/);
  });

  it('UMPIN_AGI_*, UMPIN_PBX_EXTENSION_CONTEXTS: off by default, loopback-only allowlist, checked', () => {
    assert.deepEqual(loadConfig({ UMPIN_AGI_LISTEN: '127.0.0.1:4573' }, CWD).agi, { listen: { host: '127.0.0.1', port: 4573 }, allow: ['127.0.0.1', '::1'], readTimeoutMs: 60000 });
    const wide = loadConfig({ UMPIN_AGI_LISTEN: '[::]:4573', UMPIN_AGI_ALLOW: '10.0.0.5, 192.168.10.0/24', UMPIN_AGI_READ_TIMEOUT_MS: '5000', UMPIN_PBX_EXTENSION_CONTEXTS: 'default, pbx.example.com' }, CWD);
    assert.deepEqual(wide.agi, { listen: { host: '::', port: 4573 }, allow: ['10.0.0.5', '192.168.10.0/24'], readTimeoutMs: 5000 });
    assert.deepEqual(wide.pbxExtensionContexts, ['default', 'pbx.example.com']);
    assertRefused({ UMPIN_AGI_LISTEN: '4573' }, 'UMPIN_AGI_LISTEN', /is not host:port, e\.g\. 127\.0\.0\.1:4573/);
    assertRefused({ UMPIN_AGI_ALLOW: '10.0.0.5' }, 'UMPIN_AGI_ALLOW', /UMPIN_AGI_LISTEN is not/);
    assertRefused({ UMPIN_AGI_LISTEN: '127.0.0.1:4573', UMPIN_AGI_ALLOW: 'asterisk.local' }, 'UMPIN_AGI_ALLOW', /is not an address or CIDR/);
    assertRefused({ UMPIN_AGI_LISTEN: '127.0.0.1:4573', UMPIN_AGI_ALLOW: ' , ' }, 'UMPIN_AGI_ALLOW', /names no address/);
    assertRefused({ UMPIN_AGI_LISTEN: '127.0.0.1:4573', UMPIN_AGI_READ_TIMEOUT_MS: '10' }, 'UMPIN_AGI_READ_TIMEOUT_MS', /from 1000 to 600000/);
    assertRefused({ UMPIN_PBX_EXTENSION_CONTEXTS: 'sales office' }, 'UMPIN_PBX_EXTENSION_CONTEXTS', /"sales office" is not a context or domain name/);
  });
});

describe('UMPIN_* names', () => {
  it('refuses a mistyped setting, naming the one meant, instead of quietly using the default', () => {
    const cases: Array<[string, string]> = [
      ['UMPIN_SMTP_ULR', 'UMPIN_SMTP_URL'], // two letters swapped: the report that started issue 13
      ['UMPIN_SMPT_URL', 'UMPIN_SMTP_URL'],
      ['UMPIN_DATADIR', 'UMPIN_DATA_DIR'],
      ['UMPIN_LDAP_BIND_PASSWORD', 'UMPIN_LDAP_BIND_PASSWORD_FILE'],
      ['UMPIN_LIMIT_FAILED_SIGNIN', 'UMPIN_LIMIT_FAILED_SIGNINS'],
      ['umpin_smtp_url', 'UMPIN_SMTP_URL'],
      ['UMPIN_AUDIT_RETENTION', 'UMPIN_AUDIT_RETENTION_DAYS'],
    ];
    for (const [typo, meant] of cases) {
      const error = assertRefused({ UMPIN_SMTP_URL: 'smtp://relay.example.com', [typo]: 'smtp://relay:587' }, typo, /is not a setting/);
      assert.equal(error.message, `${typo}: is not a setting umpin knows; did you mean ${meant}?`);
    }
  });

  it('suggests nothing for a name near no setting, and points at the list', () => {
    const error = assertRefused({ UMPIN_COLOUR: 'blue' }, 'UMPIN_COLOUR', /is not a setting/);
    assert.equal(error.message, 'UMPIN_COLOUR: is not a setting umpin knows; run "umpin serve --help" for the list of settings.');
    assert.equal(findNearestSetting('UMPIN_WEBHOOK_SECRET'), undefined);
  });

  it('refuses an unknown name even with an empty value, and checks names before any value', () => {
    assertRefused({ UMPIN_SMTP_ULR: '' }, 'UMPIN_SMTP_ULR', /did you mean UMPIN_SMTP_URL\?$/);
    assertRefused({ UMPIN_BODY_LIMIT: '12kb', UMPIN_SMTP_ULR: 'x' }, 'UMPIN_SMTP_ULR', /did you mean UMPIN_SMTP_URL\?$/);
  });

  it('lets through the variables of the project\'s own tools and anything not UMPIN_*', () => {
    const tools = { UMPIN_REQUIRE_PEERS: '1', UMPIN_TEST_ENGINES: 'sqlite', UMPIN_FUZZ_SEED: '7', UMPIN_BENCH_RUNS: '1', UMPIN_BIN: '/x', PATH: '/bin', UMPINX: 'y' };
    assert.deepEqual(loadConfig(tools, CWD), loadConfig({}, CWD));
  });
});

describe('SETTINGS', () => {
  it('knows every setting loadConfig reads, and each row states a default and help', () => {
    for (const [name, row] of Object.entries(SETTINGS)) {
      assert.match(name, /^UMPIN_[A-Z0-9_]+$/);
      assert.ok(row.default.length > 0 && row.help.length > 0, name);
      assert.equal(findNearestSetting(name), name, `${name} is its own nearest name`);
    }
  });

  it('shows each whole-number range once, from the row that enforces it', () => {
    const line = describeSettings().split('\n').find((l) => l.includes('UMPIN_BODY_LIMIT'));
    assert.equal(line?.trim().replace(/\s+/g, ' '), 'UMPIN_BODY_LIMIT largest request body in bytes (1024–10485760) (default 65536)');
    assertRefused({ UMPIN_BODY_LIMIT: '1023' }, 'UMPIN_BODY_LIMIT', /"1023" must be a whole number from 1024 to 10485760\.$/);
    assert.equal(loadConfig({ UMPIN_AUDIT_RETENTION_DAYS: '0' }, CWD).auditRetentionDays, 0);
    assertRefused({ UMPIN_AUDIT_RETENTION_DAYS: '-1' }, 'UMPIN_AUDIT_RETENTION_DAYS', /from 0 to 36500/);
  });

  it('agrees with docs/configuration.md (node --import tsx scripts/write-configuration-doc.ts rewrites its table)', () => {
    const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
    for (const name of Object.keys(SETTINGS)) assert.ok(doc.includes(`| \`${name}\` |`), `docs/configuration.md lists ${name}`);
    assert.equal(readSettingsSection(doc), describeSettings('markdown'));
  });
});

function loadConfigError(env: Record<string, string>): string {
  try {
    loadConfig(env, CWD);
  } catch (error) {
    return String(error);
  }
  return '';
}
