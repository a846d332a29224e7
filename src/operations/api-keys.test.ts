/**
 * API keys for the phone-side API (api-keys.ts) on a real SQLite store: the
 * key shown once, what a presented key must be to pass, revocation, and the
 * verifier re-made under the current server key, also by two checks at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveServerSecret, newServerKey, type ServerKeyring, type ServerSecret } from '../crypto/secret-key.ts';
import { InvalidArgument, toUmpinError } from '../errors.ts';
import { FIXED_NOW, openOperationsHarness, type OperationsHarness } from '../../test/support/operations.ts';
import { createApiKey, isValidApiKey, listApiKeys, revokeApiKey } from './api-keys.ts';
import type { Services } from './services.ts';

const KEY = /^umpin_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then((value) => (typeof value === 'string' ? 'ok' : String(value)), (error: unknown) => `${toUmpinError(error).name}: ${toUmpinError(error).message}`);
}

function idOf(key: string): string {
  const id = KEY.exec(key)?.[1];
  if (id === undefined) throw new Error(`not an API key: ${key}`);
  return id;
}

/** The services with a keyring of `current` first and then `previous`, as after a rotation. */
function withRing(h: OperationsHarness, current: ServerSecret, ...previous: ServerSecret[]): Services {
  const keyring: ServerKeyring = { ...current, previous, keys: [current, ...previous] };
  return { ...h.services, keyring };
}

function only(secret: ServerSecret): ServerSecret {
  return { keyId: secret.keyId, pepper: secret.pepper, payloadKey: secret.payloadKey };
}

async function snapshot(h: OperationsHarness, ids: readonly string[]) {
  return {
    keys: await listApiKeys(h.services),
    verifiers: await Promise.all(ids.map((id) => h.services.store.findApiKeyVerifier(id))),
    audit: (await h.services.store.listAudit({})).length,
  };
}

describe('createApiKey', () => {
  it('shows the key once as umpin_<id>_<secret>; it is valid, listed by name, audited without its secret', async () => {
    const h = await openOperationsHarness();
    try {
      const key = await createApiKey(h.services, 'asterisk-1');
      const [, id, secret] = KEY.exec(key) ?? [];
      assert.ok(id !== undefined && secret !== undefined, key);
      assert.equal(await isValidApiKey(h.services, key), true);
      assert.deepEqual(await listApiKeys(h.services), [{ id, name: 'asterisk-1', createdAt: FIXED_NOW, revokedAt: null }]);
      const audit = await h.services.store.listAudit({});
      assert.deepEqual(audit.map((e) => [e.event, e.outcome, e.actor, e.source, e.detail]), [['apikey.add', 'success', 'admin', 'cli', { name: 'asterisk-1', id }]]);
      assert.ok(!JSON.stringify(audit).includes(secret), 'the audit never holds the secret');
      const stored = await h.services.store.findApiKeyVerifier(id);
      assert.equal(stored?.keyId, h.services.keyring.keyId);
      assert.ok(!stored?.verifier.toString('latin1').includes(secret) && !stored?.verifier.equals(Buffer.from(secret, 'base64url')), 'only a verifier is stored');
      assert.notEqual(idOf(await createApiKey(h.services, 'asterisk-2')), id, 'each key its own id');
    } finally {
      await h.close();
    }
  });

  it('refuses a bad or taken name with InvalidArgument and stores nothing; a revoked key gives its name back', async () => {
    const h = await openOperationsHarness();
    try {
      const first = await createApiKey(h.services, 'pbx');
      const before = await snapshot(h, [idOf(first)]);
      const naming = 'InvalidArgument: An API key name is 1–64 letters, digits, dots, dashes or underscores, such as "asterisk-1".';
      for (const name of ['', '-pbx', '.pbx', 'p bx', 'pbx\n', 'pbx:1', 'pbx/1', 'pbxé', 'p'.repeat(65)]) {
        assert.equal(await outcome(createApiKey(h.services, name)), naming, JSON.stringify(name));
      }
      assert.equal(await outcome(createApiKey(h.services, 'pbx')), 'InvalidArgument: An API key named "pbx" exists already; revoke it first or choose another name.');
      assert.deepEqual(await snapshot(h, [idOf(first)]), before);
      assert.equal(await outcome(createApiKey(h.services, `P${'b'.repeat(62)}_`)), 'ok', '64 characters');

      await revokeApiKey(h.services, 'pbx');
      const second = await createApiKey(h.services, 'pbx');
      assert.deepEqual([await isValidApiKey(h.services, first), await isValidApiKey(h.services, second)], [false, true]);
    } finally {
      await h.close();
    }
  });

  it('two concurrent creations of one name: one key, the other told the name is taken', async () => {
    const h = await openOperationsHarness();
    try {
      const keys = await Promise.all([createApiKey(h.services, 'pbx').catch((e: unknown) => e), createApiKey(h.services, 'pbx').catch((e: unknown) => e)]);
      const made = keys.filter((k): k is string => typeof k === 'string');
      const refused = keys.filter((k) => k instanceof InvalidArgument);
      assert.deepEqual([made.length, refused.length], [1, 1], String(keys));
      assert.equal(await isValidApiKey(h.services, made[0] as string), true);
      assert.deepEqual((await listApiKeys(h.services)).map((k) => k.id), [idOf(made[0] as string)]);
      assert.equal((await h.services.store.listAudit({})).length, 1);
    } finally {
      await h.close();
    }
  });
});

describe('isValidApiKey', () => {
  it('malformed, unknown, wrong-secret and revoked keys are all just false', async () => {
    const h = await openOperationsHarness();
    try {
      const key = await createApiKey(h.services, 'pbx');
      const [, id = '', secret = ''] = KEY.exec(key) ?? [];
      const otherSecret = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      const presented = [
        '', 'umpin', secret, `${key}\n`, ` ${key}`, `Bearer ${key}`, key.toUpperCase(), `umpin_${id}_${secret}x`, `umpin_${id}_${secret.slice(1)}`,
        `umpin_${id.slice(1)}_${secret}`, `umpinx${id}_${secret}`, `umpin_${'0'.repeat(16)}_${secret}`, `umpin_${id}_${otherSecret}`,
      ];
      for (const candidate of presented) assert.equal(await isValidApiKey(h.services, candidate), false, JSON.stringify(candidate));
      assert.equal(await isValidApiKey(h.services, key), true, 'the key itself still is');

      assert.equal(await outcome(revokeApiKey(h.services, 'other')), 'InvalidArgument: There is no active API key named "other"; list them with: umpin apikey list');
      await revokeApiKey(h.services, 'pbx');
      assert.equal(await isValidApiKey(h.services, key), false);
      assert.equal(await outcome(revokeApiKey(h.services, 'pbx')), 'InvalidArgument: There is no active API key named "pbx"; list them with: umpin apikey list');
      assert.deepEqual((await listApiKeys(h.services)).map((k) => [k.name, k.revokedAt]), [['pbx', FIXED_NOW]]);
      assert.deepEqual((await h.services.store.listAudit({})).map((e) => [e.event, e.detail]), [['apikey.add', { name: 'pbx', id }], ['apikey.revoke', { name: 'pbx' }]]);
    } finally {
      await h.close();
    }
  });

  it('after a rotation, two concurrent checks of a key made under the previous key both pass, and it is re-made under the current key', async () => {
    const h = await openOperationsHarness();
    try {
      const key = await createApiKey(h.services, 'pbx');
      const id = idOf(key);
      const old = only(h.services.keyring);
      const current = deriveServerSecret(newServerKey());
      const rotated = withRing(h, current, old);
      const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;

      const madeUnderOld = await h.services.store.findApiKeyVerifier(id);
      assert.equal(await isValidApiKey(rotated, wrong), false);
      assert.deepEqual(await h.services.store.findApiKeyVerifier(id), madeUnderOld, 'a wrong key re-makes nothing');

      assert.deepEqual(await Promise.all([isValidApiKey(rotated, key), isValidApiKey(rotated, key)]), [true, true]);
      assert.equal((await h.services.store.findApiKeyVerifier(id))?.keyId, current.keyId);
      assert.equal(await isValidApiKey(withRing(h, current), key), true, 'the previous key can now be retired');
      assert.equal(await isValidApiKey(withRing(h, old), key), false, 'and the old key alone no longer opens it');
      assert.equal(await isValidApiKey(withRing(h, deriveServerSecret(newServerKey())), key), false, 'a ring without its key: false, not an error');
      assert.equal((await h.services.store.countVerifiersByKey()).apiKeys[current.keyId], 1);
    } finally {
      await h.close();
    }
  });

  it('a revocation racing a check that re-makes the verifier: the key stays revoked', async () => {
    const h = await openOperationsHarness();
    try {
      const key = await createApiKey(h.services, 'pbx');
      const current = deriveServerSecret(newServerKey());
      const rotated = withRing(h, current, only(h.services.keyring));
      await Promise.all([isValidApiKey(rotated, key), revokeApiKey(h.services, 'pbx')]);
      assert.deepEqual([await isValidApiKey(rotated, key), await isValidApiKey(withRing(h, current), key)], [false, false]);
      assert.equal((await listApiKeys(h.services))[0]?.revokedAt?.toISOString(), FIXED_NOW.toISOString());
    } finally {
      await h.close();
    }
  });
});
