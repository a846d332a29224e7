/**
 * The outbox worker on a real SQLite store, with a transport that answers as
 * the test says and a clock the test moves. Here: a row this instance cannot
 * open is retried with its backoff and given up at its deadline like any
 * other, never held or retried for ever (issue 13).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isActivePin } from '../../test/support/service.ts';
import { openServices, type OpenedServices } from '../open-services.ts';
import { loadConfig } from '../config.ts';
import { deriveServerKeyring, newServerKey } from '../crypto/secret-key.ts';
import { MailHandOffFailed } from '../errors.ts';
import type { HandOffReceipt, MailMessage, MailTransport } from '../mail/transport.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { resetPinByAdmin } from './admin/pins.ts';
import { deliverDueMail, listOutbox } from './outbox.ts';
import type { Logger, Services } from './services.ts';
import { countPendingPinChanges } from '../../test/support/store-readers.ts';

const QUIET: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const START = new Date('2026-12-02T10:00:00.000Z');
const RETRY_MS = 1_000;
const GIVE_UP_MINUTES = 30;

/** A relay that answers 421 while `down`, and otherwise takes every mail. */
class ScriptedRelay implements MailTransport {
  down = false;
  readonly delivered: MailMessage[] = [];
  handOffs = 0;
  async handOff(message: MailMessage): Promise<HandOffReceipt> {
    this.handOffs += 1;
    if (this.down) throw new MailHandOffFailed({ permanent: false, responseCode: 421, reply: '421 try again later' });
    this.delivered.push(message);
    return { messageId: `<${this.delivered.length}@relay>`, reply: '250 ok' };
  }
  async close(): Promise<void> {}
}

describe('deliverDueMail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umpin-outbox-'));
  let opened: OpenedServices;
  let services: Services;
  let clock = START;
  const relay = new ScriptedRelay();

  before(async () => {
    const config = loadConfig({ UMPIN_DATA_DIR: dir, UMPIN_OUTBOX_RETRY_MS: String(RETRY_MS), UMPIN_OUTBOX_GIVE_UP_MINUTES: String(GIVE_UP_MINUTES), UMPIN_KDF_CONCURRENCY: '1' });
    opened = await openServices(config, QUIET);
    services = { ...opened.services, transport: relay, now: () => clock };
  });
  after(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries a row no key of this instance opens with its backoff, releases its lease, says why, and gives it up at its deadline', async () => {
    await enableMailbox(services, 'alice', { email: 'alice@example.com', extension: '36697' });
    const firstPin = /\b(\d{6,})\b/.exec(relay.delivered.at(-1)?.text ?? '')?.[1] ?? '';
    assert.equal(await isActivePin(services, 'alice', firstPin), true);

    relay.down = true;
    const queued = await resetPinByAdmin(services, 'alice', {});
    assert.ok(queued.queued, 'the reset waits in the outbox');
    relay.down = false;
    const handOffsBefore = relay.handOffs;

    // Another instance rotated the secret; this one still runs with a keyring that lacks the key the row was sealed under.
    const stale: Services = { ...services, keyring: deriveServerKeyring([newServerKey()]) };
    const reason = 'no key of this server secret opens the sealed mail (restart with the current secret file)';

    clock = new Date(START.getTime() + RETRY_MS);
    const first = await deliverDueMail(stale);
    assert.deepEqual(first.results, [{ id: queued.queued.id, login: 'alice', status: 'Retry', reply: reason }]);
    const [waiting] = await listOutbox(services);
    assert.deepEqual(
      { id: waiting?.id, inFlight: waiting?.inFlight, attempts: waiting?.attempts, lastReply: waiting?.lastReply, next: waiting?.nextAttemptAt.toISOString() },
      { id: queued.queued.id, inFlight: false, attempts: 2, lastReply: reason, next: new Date(clock.getTime() + 2 * RETRY_MS).toISOString() },
      'lease released, reason kept for "umpin outbox", next attempt after the doubled wait',
    );
    assert.deepEqual(await deliverDueMail(stale), { results: [] }, 'not due again before its backoff');

    clock = new Date(START.getTime() + GIVE_UP_MINUTES * 60_000 + 1);
    const last = await deliverDueMail(stale);
    assert.deepEqual(last.results, [{ id: queued.queued.id, login: 'alice', status: 'Failed', reply: reason }]);
    assert.deepEqual(await listOutbox(services), [], 'given up: nothing waits any more');
    assert.equal(await countPendingPinChanges(services.store), 0);
    assert.equal(relay.handOffs, handOffsBefore, 'nothing reached the relay');
    assert.equal(await isActivePin(services, 'alice', firstPin), true, 'the old PIN still works');
    const audit = (await services.store.listAudit({ login: 'alice' })).filter((e) => e.event === 'pin.admin-reset').map((e) => [e.outcome, e.detail?.reply, e.detail?.gaveUp]);
    assert.deepEqual(audit, [['mail-queued', '421 try again later', undefined], ['mail-queued', reason, undefined], ['mail-failed', reason, true]]);
  });
});
