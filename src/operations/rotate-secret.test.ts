/**
 * Server secret rotation (rotate-secret.ts, docs/secret-rotation.md) on a
 * real SQLite store and a real keyring file in a temporary data directory:
 * what `status` counts, what `rotate` writes and rebinds, what `retire`
 * refuses (changing nothing) and what it removes; two commands at once, a
 * lock left behind, and a rotation from another host sharing the database.
 * A "restart" opens the services again from the same directory.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openServices, type OpenedServices } from '../open-services.ts';
import { loadConfig, type Config } from '../config.ts';
import { isAmongVerifiers } from '../crypto/kdf.ts';
import { decryptPayloadWithAny } from '../crypto/payload-cipher.ts';
import { deriveServerKeyring, newServerKey, readKeyringFile, writeKeyringFile } from '../crypto/secret-key.ts';
import { InvalidArgument } from '../errors.ts';
import { FIXED_NOW, QUIET, SteerableTransport } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { addUser } from './admin/users.ts';
import { deliverDueMail, listOutbox, retryOutboxMail } from './outbox.ts';
import { describeSecret, describeUses, retireSecretKey, rotateSecret, type KeyUsage } from './rotate-secret.ts';
import type { Services } from './services.ts';

interface Instance {
  readonly services: Services;
  readonly transport: SteerableTransport;
  close(): Promise<void>;
}

/** A data directory whose services can be opened (and opened again, as after a restart). */
async function dataDir(): Promise<{ config: Config; file: string; open(): Promise<Instance>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'umpin-rotate-'));
  const config = loadConfig({ UMPIN_DATA_DIR: dir, UMPIN_KDF_CONCURRENCY: '2' });
  const opened: OpenedServices[] = [];
  return {
    config,
    file: config.secretFile,
    async open() {
      const o = await openServices(config, QUIET);
      opened.push(o);
      const transport = new SteerableTransport();
      return { services: Object.freeze({ ...o.services, transport, now: () => FIXED_NOW }), transport, close: () => o.close() };
    },
    async remove() {
      for (const o of opened) await o.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function ringIds(file: string): string[] {
  return deriveServerKeyring(readKeyringFile(file)).keys.map((k) => k.keyId);
}

const usage = (keyId: string, role: KeyUsage['role'], counts: Partial<Omit<KeyUsage, 'keyId' | 'role'>> = {}): KeyUsage =>
  ({ keyId, role, passwords: 0, pins: 0, history: 0, pending: 0, apiKeys: 0, sealedMail: 0, ...counts });

async function rotationAudit(services: Services): Promise<unknown[]> {
  return (await services.store.listAudit({})).filter((e) => e.event.startsWith('secret.')).map((e) => [e.event, e.outcome, e.actor, e.detail]);
}

/** Every queued mail due now, as "umpin outbox retry" makes it, then one worker run. */
async function deliverNow(services: Services): Promise<string[]> {
  for (const mail of await listOutbox(services)) await retryOutboxMail(services, mail.id);
  return (await deliverDueMail(services)).results.map((r) => r.status);
}

async function isActivePin(services: Services, login: string, pin: string): Promise<boolean> {
  const mailbox = await services.store.findMailbox(login);
  const active = await services.store.findActivePinVerifier(login);
  if (!mailbox || !active) return false;
  return isAmongVerifiers(await services.kdf.pinVerifier(pin, mailbox.pinSalt, active.keyId), [active.verifier]);
}

describe('rotateSecret, describeSecret and retireSecretKey', () => {
  it('rotate: a new key at the head, the old one kept, the database rebound, a queued mail re-sealed and still delivered after a restart', async () => {
    const d = await dataDir();
    try {
      const first = await d.open();
      const k0 = first.services.keyring.keyId;
      await addUser(first.services, 'erin', 'erin password');
      await enableMailbox(first.services, 'erin', { email: 'erin@example.com', extension: '36697' });
      const erinPin = first.transport.lastPin();
      first.transport.mode = 'defer';
      await enableMailbox(first.services, 'frank', { email: 'frank@example.com', extension: '36698' });
      assert.deepEqual(await describeSecret(first.services), {
        currentKeyId: k0, boundKeyId: k0, keys: [usage(k0, 'current', { passwords: 1, pins: 1, pending: 1, sealedMail: 1 })],
      });

      const rotated = await rotateSecret(first.services, d.file);
      const k1 = rotated.to;
      assert.notEqual(k1, k0);
      assert.deepEqual(rotated, { from: k0, to: k1, keyIds: [k1, k0], resealed: 1 });
      assert.deepEqual(ringIds(d.file), [k1, k0], 'the file: the new key first, the old one kept');
      assert.equal(await first.services.store.findServerKeyId(), k1);
      assert.deepEqual(await rotationAudit(first.services), [['secret.rotate', 'success', 'admin', { from: k0, to: k1 }]]);
      assert.equal(existsSync(`${d.file}.lock`), false, 'the lock is released');
      const [sealed] = await first.services.store.listSealedMail();
      assert.ok(sealed);
      assert.equal(decryptPayloadWithAny(deriveServerKeyring(readKeyringFile(d.file)).keys, sealed.sealedMail, `pending:${sealed.id}`).keyId, k1, 'sealed again under the new key');
      await first.close();

      const second = await d.open();
      assert.equal(second.services.keyring.keyId, k1);
      assert.deepEqual(await describeSecret(second.services), {
        currentKeyId: k1, boundKeyId: k1,
        keys: [usage(k1, 'current', { sealedMail: 1 }), usage(k0, 'previous', { passwords: 1, pins: 1, pending: 1 })],
      });
      assert.equal(await isActivePin(second.services, 'erin', erinPin), true, 'a PIN made under the old key still verifies');
      assert.deepEqual(await deliverNow(second.services), ['Sent'], 'the re-sealed mail opens');
      assert.equal(await isActivePin(second.services, 'frank', second.transport.lastPin()), true);
    } finally {
      await d.remove();
    }
  });

  it('retire: refused for the current key, an unknown key, a key in use (without --force) and a key sealing a queued mail (even with --force), each changing nothing; then retired', async () => {
    const d = await dataDir();
    try {
      const first = await d.open();
      const k0 = first.services.keyring.keyId;
      await addUser(first.services, 'erin', 'erin password');
      const { to: k1 } = await rotateSecret(first.services, d.file);
      // An instance still running with the old file queues a mail sealed under the old key (docs: restart promptly).
      first.transport.mode = 'defer';
      await enableMailbox(first.services, 'gus', { email: 'gus@example.com', extension: '36699' });
      await first.close();

      const second = await d.open();
      const fileBefore = readFileSync(d.file);
      const auditBefore = await rotationAudit(second.services);
      const refusals: Array<[string, boolean, RegExp]> = [
        [k1, true, /is the current key/],
        ['0123456789abcdef', true, /holds no key 0123456789abcdef/],
        [k0, true, /still seals 1 queued PIN mail.*Nothing was changed/],
      ];
      for (const [keyId, force, message] of refusals) {
        await assert.rejects(retireSecretKey(second.services, d.file, keyId, force), (e: unknown) => e instanceof InvalidArgument && message.test(e.message));
      }
      assert.deepEqual(readFileSync(d.file), fileBefore, 'the file is as it was');
      assert.deepEqual(await rotationAudit(second.services), auditBefore, 'nothing audited');

      assert.deepEqual(await deliverNow(second.services), ['Sent'], 'the old key opens it; the PIN is made under the old key');
      await assert.rejects(retireSecretKey(second.services, d.file, k0, false), (e: unknown) =>
        e instanceof InvalidArgument && /still protects 1 password, 1 active PIN\. .*Nothing was changed/.test(e.message));
      assert.deepEqual(readFileSync(d.file), fileBefore);

      const forced = await retireSecretKey(second.services, d.file, k0, true);
      assert.deepEqual(forced, { keyIds: [k1], usage: usage(k0, 'previous', { passwords: 1, pins: 1 }) });
      assert.deepEqual(ringIds(d.file), [k1]);
      assert.deepEqual((await rotationAudit(second.services)).at(-1),
        ['secret.retire', 'forced', 'admin', { keyId: k0, passwords: 1, pins: 1, history: 0, pending: 0, apiKeys: 0 }]);
      await second.close();

      const third = await d.open();
      assert.deepEqual((await describeSecret(third.services)).keys, [usage(k1, 'current'), usage(k0, 'missing', { passwords: 1, pins: 1 })],
        'what the retired key protected is listed as missing');
      const { to: k2 } = await rotateSecret(third.services, d.file);
      await third.close();
      const fourth = await d.open();
      assert.deepEqual(await retireSecretKey(fourth.services, d.file, k1, false), { keyIds: [k2], usage: usage(k1, 'previous') }, 'nothing uses it: retired without --force');
      assert.deepEqual((await rotationAudit(fourth.services)).at(-1), ['secret.retire', 'success', 'admin', { keyId: k1, passwords: 0, pins: 0, history: 0, pending: 0, apiKeys: 0 }]);
    } finally {
      await d.remove();
    }
  });

  it('two rotations at once: one wins, the other is refused by the lock; a command started before the rotation is then refused; nothing half done', async () => {
    const d = await dataDir();
    try {
      const first = await d.open();
      const k0 = first.services.keyring.keyId;
      const outcomes = await Promise.allSettled([rotateSecret(first.services, d.file), rotateSecret(first.services, d.file)]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o) => o.status === 'rejected');
      assert.equal(won.length, 1);
      assert.ok(lost[0]?.status === 'rejected' && lost[0].reason instanceof InvalidArgument && /Another "umpin secret" command is changing/.test((lost[0].reason as Error).message));
      const k1 = won[0]?.status === 'fulfilled' ? won[0].value.to : '';
      assert.deepEqual(ringIds(d.file), [k1, k0]);
      assert.equal(await first.services.store.findServerKeyId(), k1);

      // `first` still holds the ring it started with: it must not rotate on top of a file it did not read.
      const fileBefore = readFileSync(d.file);
      await assert.rejects(rotateSecret(first.services, d.file), (e: unknown) => e instanceof InvalidArgument && /changed while this command started/.test(e.message));
      await assert.rejects(retireSecretKey(first.services, d.file, k0, true), (e: unknown) => e instanceof InvalidArgument && /changed while this command started/.test(e.message));
      assert.deepEqual(readFileSync(d.file), fileBefore);
      assert.equal(await first.services.store.findServerKeyId(), k1);
      assert.equal((await rotationAudit(first.services)).length, 1);
      assert.equal(existsSync(`${d.file}.lock`), false);
    } finally {
      await d.remove();
    }
  });

  it('a lock left behind: refused, naming it; the file, the binding and the lock stay as they were', async () => {
    const d = await dataDir();
    try {
      const first = await d.open();
      const k0 = first.services.keyring.keyId;
      writeFileSync(`${d.file}.lock`, '', { mode: 0o600 });
      const fileBefore = readFileSync(d.file);
      await assert.rejects(rotateSecret(first.services, d.file), (e: unknown) => e instanceof InvalidArgument && e.message.includes(`${d.file}.lock`));
      assert.deepEqual(readFileSync(d.file), fileBefore);
      assert.equal(await first.services.store.findServerKeyId(), k0);
      assert.equal(existsSync(`${d.file}.lock`), true, 'another command\'s lock is not removed');
    } finally {
      await d.remove();
    }
  });

  it('a rotation on another host sharing the database: the loser is refused, its file put back as it was', async () => {
    const d = await dataDir();
    try {
      const here = await d.open();
      const k0 = here.services.keyring.keyId;
      const otherFile = join(d.config.dataDir, 'other-host-secret.key');
      copyFileSync(d.file, otherFile);
      chmodSync(otherFile, 0o600);
      const otherBefore = readFileSync(otherFile);

      const { to: k1 } = await rotateSecret(here.services, d.file);
      // The other host started with the same ring (k0) and its own copy of the file.
      await assert.rejects(rotateSecret(here.services, otherFile), (e: unknown) => e instanceof InvalidArgument && /rebound to another key while this rotation ran/.test(e.message));
      assert.deepEqual(readFileSync(otherFile), otherBefore, 'the other host\'s file is put back');
      assert.deepEqual(ringIds(otherFile), [k0]);
      assert.equal(await here.services.store.findServerKeyId(), k1, 'the first rotation stands');
      assert.deepEqual((await rotationAudit(here.services)).map((a) => (a as unknown[])[1]), ['success']);
      assert.equal(existsSync(`${otherFile}.lock`), false);
    } finally {
      await d.remove();
    }
  });

  it('a rotation stopped after writing the file is finished at the next start: rebound, mail re-sealed, audited', async () => {
    const d = await dataDir();
    try {
      const first = await d.open();
      const k0 = first.services.keyring.keyId;
      first.transport.mode = 'defer';
      await enableMailbox(first.services, 'hank', { email: 'hank@example.com', extension: '36700' });
      await first.close();
      writeKeyringFile(d.file, [newServerKey(), ...readKeyringFile(d.file)]);
      const [k1] = ringIds(d.file);

      const second = await d.open();
      assert.equal(await second.services.store.findServerKeyId(), k1);
      assert.deepEqual(await rotationAudit(second.services), [['secret.rotate', 'finished-at-start', 'system', { from: k0, to: k1 }]]);
      assert.deepEqual((await describeSecret(second.services)).keys.map((k) => [k.keyId, k.sealedMail]), [[k1, 1], [k0, 0]]);
    } finally {
      await d.remove();
    }
  });
});

describe('describeUses', () => {
  it('names each kind still protected, singular or plural; nothing for an unused key', () => {
    assert.equal(describeUses(usage('k', 'previous', { passwords: 1, pins: 2, history: 3, pending: 1, apiKeys: 2 })),
      '1 password, 2 active PINs, 3 remembered PINs, 1 pending PIN change, 2 API keys');
    assert.equal(describeUses(usage('k', 'previous', { history: 1 })), '1 remembered PIN');
    assert.equal(describeUses(usage('k', 'previous', { sealedMail: 4 })), '', 'sealed mail is refused on its own, not listed here');
  });
});
