/**
 * Reading and pruning the audit trail on a real SQLite store: pages, never
 * the table; retention deletes only what is older, and records that it did.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { openServices, type OpenedServices } from '../open-services.ts';
import { loadConfig } from '../config.ts';
import type { AuditEvent, PinStore, StoredAuditEvent } from '../store/index.ts';
import { auditAdminChange, listAudit, pruneAudit, pruneExpiredAudit, streamAudit } from './audit.ts';
import type { Logger, Services } from './services.ts';

const QUIET: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const NOW = new Date('2026-12-02T12:00:00.000Z');
const DAY_MS = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY_MS);

describe('audit trail over years', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umpin-audit-'));
  let opened: OpenedServices;
  let services: Services;
  /** The most rows any one store read returned, and whether anything read the whole table. */
  let largestRead = 0;
  let wholeTableReads = 0;

  before(async () => {
    opened = await openServices(loadConfig({ UMPIN_DATA_DIR: dir, UMPIN_KDF_CONCURRENCY: '1' }), QUIET);
    const store = opened.services.store;
    const watching: Partial<PinStore> = {
      listAuditPage: async (filter) => {
        const page = await store.listAuditPage(filter);
        largestRead = Math.max(largestRead, page.length);
        return page;
      },
      listAudit: async (filter) => {
        wholeTableReads += 1;
        return store.listAudit(filter);
      },
    };
    const watched = new Proxy(store, {
      get: (target, name) => {
        const own = (watching as Record<string | symbol, unknown>)[name];
        if (own !== undefined) return own;
        const member = Reflect.get(target, name) as unknown;
        return typeof member === 'function' ? member.bind(target) : member;
      },
    });
    services = { ...opened.services, store: watched, now: () => NOW };
  });
  after(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await opened.services.store.pruneAudit(new Date('9999-01-01T00:00:00Z'), 1_000_000);
    largestRead = 0;
    wholeTableReads = 0;
  });

  const logon = (login: string, at: Date): AuditEvent => ({ at, event: 'pin.logon', outcome: 'ok', login, actor: 'phone', source: '192.0.2.10' });
  const collect = async (events: AsyncIterable<StoredAuditEvent>) => {
    const all: StoredAuditEvent[] = [];
    for await (const event of events) all.push(event);
    return all;
  };

  it('streams every matching event oldest first, a page at a time, and the newest N when asked', async () => {
    for (let i = 0; i < 210; i += 1) await opened.services.store.appendAudit(logon(i % 3 === 0 ? 'alice' : 'bob', new Date(NOW.getTime() - (210 - i) * 1_000)));
    const everything = await collect(streamAudit(services, {}, 20));
    assert.equal(everything.length, 210);
    assert.deepEqual(everything.map((e) => e.id), [...everything.map((e) => e.id)].sort((a, b) => a - b), 'oldest first');
    assert.equal(largestRead, 20, 'no read returned more than a page');
    assert.equal(wholeTableReads, 0);

    const alice = await collect(streamAudit(services, { login: 'alice' }, 20));
    assert.equal(alice.length, 70);
    assert.ok(alice.every((e) => e.login === 'alice'));
    const newest = await collect(streamAudit(services, { login: 'alice', newest: 45 }, 20));
    assert.deepEqual(newest, alice.slice(-45));
    assert.deepEqual(await collect(streamAudit(services, { newest: 500 }, 20)), everything, 'asking for more than there are gives them all');
    const recent = await collect(streamAudit(services, { since: new Date(NOW.getTime() - 10_000) }, 4));
    assert.deepEqual(recent, everything.slice(-10));
    assert.deepEqual(await collect(streamAudit(services, { login: 'nobody' })), []);
  });

  it('retention deletes only what is older, in batches, and records the prune; 0 keeps everything', async () => {
    const store = opened.services.store;
    const batch = 10;
    const old = 2 * batch + 3; // more than two batches
    for (let i = 0; i < old; i += 1) await store.appendAudit(logon('alice', daysAgo(400)));
    await store.appendAudit(logon('alice', daysAgo(365.5)));
    const kept = [logon('alice', daysAgo(364)), logon('bob', daysAgo(1))];
    for (const event of kept) await store.appendAudit(event);

    assert.equal(await pruneExpiredAudit(services, 0, batch), undefined);
    assert.equal((await collect(streamAudit(services, {}))).length, old + 3, 'retention 0 keeps everything');

    assert.deepEqual(await pruneExpiredAudit(services, 365, batch), { before: daysAgo(365), deleted: old + 1 });
    const left = await collect(streamAudit(services, {}));
    assert.deepEqual(left.map(({ id: _id, ...event }) => event), [
      ...kept.map((event) => ({ ...event, detail: {} })),
      { at: NOW, event: 'audit.prune', outcome: 'success', login: null, actor: 'system', source: 'retention', detail: { before: daysAgo(365).toISOString(), deleted: old + 1 } },
    ]);
  });

  it('a prune with nothing to delete changes nothing, not even the trail', async () => {
    const store = opened.services.store;
    await store.appendAudit(logon('alice', daysAgo(2)));
    const before = await collect(streamAudit(services, {}));
    assert.equal(await pruneAudit(services, daysAgo(3)), 0);
    assert.deepEqual(await collect(streamAudit(services, {})), before);
  });

  it('auditAdminChange records a success by the administrator at the command line, with the detail only when given; listAudit reads it back', async () => {
    await auditAdminChange(services, 'policy.new', null, { policy: 'sales' });
    await auditAdminChange(services, 'pin.unlock', 'alice');
    const recorded = (await listAudit(services, {})).map(({ id: _id, ...event }) => event);
    assert.deepEqual(recorded, [
      { at: NOW, event: 'policy.new', outcome: 'success', login: null, actor: 'admin', source: 'cli', detail: { policy: 'sales' } },
      { at: NOW, event: 'pin.unlock', outcome: 'success', login: 'alice', actor: 'admin', source: 'cli', detail: {} },
    ]);
    assert.deepEqual((await listAudit(services, { login: 'alice' })).map((e) => e.event), ['pin.unlock']);
  });
});
