/**
 * The PBX operations on a real SQLite store: the mailbox mapping rule, the dry
 * run that changes nothing, and the PBX's set-PIN, also two at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MailboxNotFound, PinPolicyViolated } from '../errors.ts';
import { isActivePin, listMailFiles, newPinMails, snapshotState, startTestService, type TestService } from '../../test/support/service.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { lockMailbox } from './admin/pins.ts';
import { addUser } from './admin/users.ts';
import { checkNewPin, resolvePbxMailbox, setPinFromPbx } from './pbx-pin.ts';

describe('PBX PIN operations (SQLite)', () => {
  let service: TestService;
  const source = { address: '192.0.2.10' };

  before(async () => {
    service = await startTestService();
    for (const [login, extension] of [['pat', '6101'], ['quinn', '6102'], ['6101@sales', '6199']] as const) {
      await addUser(service.services, login, `pw-${login}`);
      await enableMailbox(service.services, login, { email: `m${extension}@example.com`, extension });
    }
  });
  after(async () => {
    await service?.close();
  });

  it('maps box@qualifier: the login first, then the extension of a listed qualifier, else a login nobody has', async () => {
    const { services } = service;
    assert.deepEqual(await resolvePbxMailbox(services, '6101', 'sales', ['default']), { mailbox: '6101@sales' });
    assert.deepEqual(await resolvePbxMailbox(services, '6101', 'default', ['default']), { extension: '6101' });
    assert.deepEqual(await resolvePbxMailbox(services, '6101', 'support', ['default']), { mailbox: '6101@support' });
    assert.deepEqual(await resolvePbxMailbox(services, '6101', 'support', ['*']), { extension: '6101' });
  });

  it('checkNewPin names the login or every failed rule, and changes nothing', async () => {
    const before = await snapshotState(service, ['pat']);
    assert.equal(await checkNewPin(service.services, { extension: '6101' }, '739104'), 'pat');
    await assert.rejects(checkNewPin(service.services, { mailbox: 'pat' }, '1111'), (error: unknown) =>
      error instanceof PinPolicyViolated && error.failures.map((f) => f.id).join(' ') === 'pin.too-short pin.repeated');
    await assert.rejects(checkNewPin(service.services, { extension: '6999' }, '739104'), MailboxNotFound);
    assert.deepEqual(await snapshotState(service, ['pat']), before);
  });

  it('setPinFromPbx: two at once both land, one after the other; no mail; a locked mailbox is left alone', async () => {
    const mails = await listMailFiles(service.config.pickupDir);
    const results = await Promise.all([
      setPinFromPbx(service.services, { extension: '6102' }, '739104', source),
      setPinFromPbx(service.services, { extension: '6102' }, '840215', source),
    ]);
    assert.deepEqual(results, ['ok', 'ok']);
    const active = [await isActivePin(service.services, 'quinn', '739104'), await isActivePin(service.services, 'quinn', '840215')];
    assert.equal(active.filter(Boolean).length, 1);
    assert.deepEqual(await newPinMails(service.config.pickupDir, mails), []);
    const mailbox = await service.services.store.findMailbox('quinn');
    assert.deepEqual([mailbox?.pinExpired, mailbox?.firstTimeUser, mailbox?.failedLogons], [false, false, 0]);

    await lockMailbox(service.services, 'pat');
    const before = await snapshotState(service, ['pat']);
    assert.equal(await setPinFromPbx(service.services, { mailbox: 'pat' }, '951326', source), 'locked-out');
    assert.deepEqual(await snapshotState(service, ['pat']), before);
  });
});
