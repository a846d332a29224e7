/**
 * services.ts declares types only (Services, Actor, Logger); nothing in it
 * runs. What it promises is tested here where it shows: the Services the
 * composition root builds fill the contract its comments state, an Actor's
 * `via` reaches the audit detail, and the mail timings are what a queued
 * change is scheduled by. Real SQLite store, real KDF, fixed clock.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openServices } from '../open-services.ts';
import { loadConfig } from '../config.ts';
import { NO_METRICS } from '../observability/metrics.ts';
import { FIXED_NOW, QUIET, openOperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { RESET_EFFECTS, changePin } from './change-pin.ts';
import { listOutbox } from './outbox.ts';
import type { Actor, Services } from './services.ts';

async function opened(env: Record<string, string>, use: (services: Services) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'umpin-services-'));
  try {
    const { services, close } = await openServices(loadConfig({ UMPIN_DATA_DIR: dir, UMPIN_KDF_CONCURRENCY: '1', ...env }), QUIET);
    try {
      await use(services);
    } finally {
      await close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('Services as the composition root builds them', () => {
  it('names this process as owner, has no dialer and no metrics by default, and takes the mail settings from the configuration', async () => {
    await opened({ UMPIN_MAIL_TIMEOUT_MS: '2500', UMPIN_OUTBOX_RETRY_MS: '7000', UMPIN_OUTBOX_GIVE_UP_MINUTES: '90' }, (services) => {
      assert.deepEqual(services.owner, { host: hostname(), pid: process.pid });
      assert.equal(services.dialer, undefined, 'no telephony back end unless configured');
      assert.equal(services.metrics, NO_METRICS);
      assert.deepEqual(services.mail, { from: 'Voice Mail <voicemail@localhost>', handOffTimeoutMs: 2500, retryBaseMs: 7000, giveUpAfterMs: 90 * 60_000 });
      assert.ok(Object.isFrozen(services));
      assert.ok(Math.abs(services.now().getTime() - Date.now()) < 60_000, 'the real clock unless a test fixes it');
    });
    await opened({ UMPIN_MAIL_REPLY_TO: 'Help Desk <help@example.com>', UMPIN_VOICE_ACCESS_NUMBER: '+1 555 0100' }, (services) => {
      assert.deepEqual([services.mail.replyTo, services.mail.accessNumber, services.mail.templateDir], ['Help Desk <help@example.com>', '+1 555 0100', undefined]);
    });
  });
});

describe('Actor and the mail timings, as the operations use them', () => {
  it('an Actor\'s via is written into the audit detail, and only when given; the event is stamped with services.now', async () => {
    const h = await openOperationsHarness({ UMPIN_MAIL_REPLY_TO: 'help@example.com' });
    try {
      await enableMailbox(h.services, 'carol', { email: 'carol@example.com', extension: '36697' });
      const web: Actor = { actor: 'carol', source: '198.51.100.7', via: 'web' };
      const soap: Actor = { actor: 'carol', source: '198.51.100.8' };
      for (const by of [web, soap]) await changePin(h.services, 'carol', { reason: 'reset', by, effects: RESET_EFFECTS });
      const resets = (await h.services.store.listAudit({ login: 'carol' })).filter((e) => e.event === 'pin.reset');
      assert.deepEqual(resets.map((e) => [e.at.toISOString(), e.actor, e.source, e.detail?.via]), [
        [FIXED_NOW.toISOString(), 'carol', '198.51.100.7', 'web'],
        [FIXED_NOW.toISOString(), 'carol', '198.51.100.8', undefined],
      ]);
      assert.ok(!('via' in (resets[1]?.detail ?? {})));
      assert.equal(h.transport.taken.at(-1)?.headers['Reply-To'], 'help@example.com', 'mail.replyTo reaches the PIN mail');
    } finally {
      await h.close();
    }
  });

  it('a change the relay defers is retried after mail.retryBaseMs and given up after mail.giveUpAfterMs', async () => {
    const h = await openOperationsHarness({ UMPIN_OUTBOX_RETRY_MS: '4000', UMPIN_OUTBOX_GIVE_UP_MINUTES: '45' });
    try {
      h.transport.mode = 'defer';
      const outcome = await enableMailbox(h.services, 'carol', { email: 'carol@example.com', extension: '36697' });
      assert.equal(outcome.queued?.nextAttemptAt.toISOString(), new Date(FIXED_NOW.getTime() + 4000).toISOString());
      const [row] = await listOutbox(h.services);
      assert.deepEqual([row?.nextAttemptAt.toISOString(), row?.giveUpAt.toISOString()], [
        new Date(FIXED_NOW.getTime() + 4000).toISOString(),
        new Date(FIXED_NOW.getTime() + 45 * 60_000).toISOString(),
      ]);
    } finally {
      await h.close();
    }
  });
});
