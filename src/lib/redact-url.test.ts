import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { redactSecretsIn, redactUrl } from './redact-url.ts';

describe('redactUrl', () => {
  it('drops the userinfo password and keeps the user, host, port, path and other parameters', () => {
    assert.equal(redactUrl('postgres://umpin:s3cret@db.example:5432/umpin?sslmode=require'), 'postgres://umpin@db.example:5432/umpin?sslmode=require');
    assert.equal(redactUrl('redis://:s3cret@redis.example.com:6380/2'), 'redis://redis.example.com:6380/2');
    assert.equal(redactUrl('rediss://user:s3cret@redis.example.com'), 'rediss://user@redis.example.com');
    assert.equal(redactUrl('smtp://umpin%40example.com:pa%3Ass@relay.example.com:587'), 'smtp://umpin%40example.com@relay.example.com:587');
  });

  it('drops ?password= and ?sslpassword= (which pg honours), in any case and position', () => {
    assert.equal(redactUrl('postgres://umpin@db.example:5432/umpin?password=s3cret&sslmode=require'), 'postgres://umpin@db.example:5432/umpin?sslmode=require');
    assert.equal(redactUrl('postgres://db/umpin?sslmode=verify-full&sslpassword=k3y&application_name=x'), 'postgres://db/umpin?sslmode=verify-full&application_name=x');
    assert.equal(redactUrl('postgres://db/umpin?PASSWORD=s3cret'), 'postgres://db/umpin');
    assert.equal(redactUrl('postgres://db/umpin?pass%77ord=s3cret&host=/run/pg'), 'postgres://db/umpin?host=/run/pg');
    assert.equal(redactUrl('postgres:///umpin?host=/run/postgresql&password=s3cret'), 'postgres:///umpin?host=/run/postgresql');
  });

  it('removes passwords that hold / @ # % : ? unencoded, which URL() splits in the wrong place', () => {
    assert.equal(redactUrl('postgres://umpin:p/a@s#s%w:r?d@db:5432/umpin'), 'postgres://umpin@db:5432/umpin');
    assert.equal(redactUrl('smtp://relay-user:a#b@relay.example.com:587'), 'smtp://relay-user@relay.example.com:587');
    assert.equal(redactUrl('postgres://db/umpin?password=a&b#c&sslmode=require'), 'postgres://db/umpin');
    assert.equal(redactUrl('postgres://db/umpin?password=a&b&sslmode=require'), 'postgres://db/umpin?sslmode=require');
  });

  it('leaves URLs without secrets as they are', () => {
    for (const url of ['sqlite:/var/lib/umpin/umpin.sqlite', 'ldap://ldap.example.com:389', 'smtp://[::1]:25?tls=off', 'redis://127.0.0.1:6379/0', 'postgres://umpin@db/umpin']) {
      assert.equal(redactUrl(url), url);
    }
  });

  it('never shows a password, however it is written', () => {
    const password = fc.string({ unit: fc.constantFrom(...'abcXYZ019/@#%:?!$ ~'), minLength: 4, maxLength: 24 })
      .filter((p) => !/^[a-z]*$/.test(p) && p.trim() !== '');
    fc.assert(fc.property(password, fc.boolean(), (secret, encoded) => {
      const written = encoded ? encodeURIComponent(secret) : secret;
      const shown = redactUrl(`postgres://umpin:${written}@db.example:5432/umpin?sslmode=require`);
      assert.equal(shown, 'postgres://umpin@db.example:5432/umpin?sslmode=require');
      const inQuery = redactUrl(`postgres://db.example/umpin?sslpassword=${encodeURIComponent(secret)}&sslmode=require`);
      assert.equal(inQuery, 'postgres://db.example/umpin?sslmode=require');
    }), { numRuns: 300 });
  });
});

describe('redactSecretsIn', () => {
  it('replaces each secret of the URL in a message, as written and decoded, and the URL itself', () => {
    const url = 'postgres://umpin:p%40ss%2Fw0rd@db:5432/umpin?sslpassword=k%23ey';
    assert.equal(
      redactSecretsIn(`password authentication failed (p@ss/w0rd, k#ey) for ${url}`, url),
      'password authentication failed (***, ***) for postgres://umpin@db:5432/umpin',
    );
  });

  it('changes nothing in a message without the secrets', () => {
    assert.equal(redactSecretsIn('connect ECONNREFUSED 127.0.0.1:1', 'postgres://umpin:s3cret@127.0.0.1:1/umpin'), 'connect ECONNREFUSED 127.0.0.1:1');
  });
});
