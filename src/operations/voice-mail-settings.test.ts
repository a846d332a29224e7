/**
 * The settings operations on a real store (SQLite), real KDF and the real
 * sign-in: what the caller gets, what is stored, what the audit trail says,
 * and that a refused request changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestService, type TestService } from '../../test/support/service.ts';
import { AuthenticationFailed, InvalidArgument, InvalidRequestValue, MailboxNotEnabled, MailboxNotFound } from '../errors.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { addUser } from './admin/users.ts';
import { describeDialStringProblem, describeFolderIdProblem, getUmProperties, isUmEnabled, setUmSetting, setVoiceMailSettings } from './voice-mail-settings.ts';

const FOLDER = 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==';
const SOURCE = '192.0.2.7';
let service: TestService;
const alice = { login: 'vm.alice', password: 'alice password' };
const bob = { login: 'vm.bob', password: 'bob password' };
const nobox = { login: 'vm.nobox', password: 'nobox password' };

before(async () => {
  service = await startTestService({ UMPIN_VOICE_ACCESS_NUMBER: '+1 555 0100' });
  for (const user of [alice, bob, nobox]) await addUser(service.services, user.login, user.password);
  await enableMailbox(service.services, alice.login, { email: 'alice@example.com', extension: '51001' });
  await enableMailbox(service.services, bob.login, { email: 'bob@example.com', extension: '51002' });
});
after(() => service?.close());

const mailboxOf = async (login: string) => (await service.services.store.findMailbox(login))?.voiceMail;
const auditOf = async (login: string) => (await service.services.store.listAudit({ login })).filter((e) => e.event.startsWith('um.'));

describe('IsUMEnabled', () => {
  it('is true for a caller with a mailbox, false (never a fault) for one without', async () => {
    assert.deepEqual(await isUmEnabled(service.services, alice, SOURCE), { login: alice.login, enabled: true });
    assert.deepEqual(await isUmEnabled(service.services, nobox, SOURCE), { login: nobox.login, enabled: false });
  });
  it('a wrong password is AuthenticationFailed, audited under the operation', async () => {
    await assert.rejects(isUmEnabled(service.services, { ...alice, password: 'wrong' }, SOURCE), AuthenticationFailed);
    assert.equal((await auditOf(alice.login)).at(-1)?.outcome, 'auth-failed');
  });
});

describe('GetUMProperties and the setters', () => {
  it('answers the defaults and the configured access number', async () => {
    const { properties } = await getUmProperties(service.services, bob, SOURCE);
    assert.deepEqual(properties, { oofStatus: false, missedCallNotificationEnabled: true, playOnPhoneDialString: '', telephoneAccessNumbers: '+1 555 0100', telephoneAccessFolderEmail: '' });
  });

  it('each setter stores its value for the caller only, audited; GetUMProperties reads it back', async () => {
    await setUmSetting(service.services, alice, SOURCE, { operation: 'SetOofStatus', status: true });
    await setUmSetting(service.services, alice, SOURCE, { operation: 'SetMissedCallNotificationEnabled', status: false });
    await setUmSetting(service.services, alice, SOURCE, { operation: 'SetPlayOnPhoneDialString', dialString: '  +49 (30) 1234-567 \n' });
    await setUmSetting(service.services, alice, SOURCE, { operation: 'SetTelephoneAccessFolderEmail', base64FolderId: FOLDER });
    const { properties } = await getUmProperties(service.services, alice, SOURCE);
    assert.deepEqual(properties, { oofStatus: true, missedCallNotificationEnabled: false, playOnPhoneDialString: '+49 (30) 1234-567', telephoneAccessNumbers: '+1 555 0100', telephoneAccessFolderEmail: FOLDER });
    assert.deepEqual(await mailboxOf(bob.login), { oofStatus: false, missedCallNotificationEnabled: true, playOnPhoneDialString: '', telephoneAccessFolder: '' });
    const trail = (await auditOf(alice.login)).filter((e) => e.event === 'um.setting').slice(-4);
    assert.deepEqual(trail.map((e) => [e.outcome, e.actor, e.source, e.detail]), [
      ['success', alice.login, SOURCE, { setting: 'OofStatus', value: true }],
      ['success', alice.login, SOURCE, { setting: 'MissedCallNotificationEnabled', value: false }],
      ['success', alice.login, SOURCE, { setting: 'PlayOnPhoneDialString' }],
      ['success', alice.login, SOURCE, { setting: 'TelephoneAccessFolderEmail' }],
    ]);
    assert.ok(!JSON.stringify(trail).includes('1234-567') && !JSON.stringify(trail).includes(FOLDER), 'the trail holds no number and no folder id');
  });

  const refused: Array<[string, Parameters<typeof setUmSetting>[3], RegExp]> = [
    ['an empty dial string', { operation: 'SetPlayOnPhoneDialString', dialString: ' ' }, /^<dialString> is empty/],
    ['letters in a dial string', { operation: 'SetPlayOnPhoneDialString', dialString: 'call me' }, /^<dialString> is not a telephone number/],
    ['a dial string of 65 digits', { operation: 'SetPlayOnPhoneDialString', dialString: '1'.repeat(65) }, /longer than 64 characters/],
    ['a folder id that is not base64', { operation: 'SetTelephoneAccessFolderEmail', base64FolderId: 'not base64!' }, /^<base64FolderId> is not base64/],
    ['an empty folder id', { operation: 'SetTelephoneAccessFolderEmail', base64FolderId: '' }, /^<base64FolderId> is empty/],
  ];
  for (const [name, request, message] of refused) {
    it(`refuses ${name}: ErrorInvalidRequest, nothing stored, the refusal audited`, async () => {
      const before = await mailboxOf(alice.login);
      await assert.rejects(setUmSetting(service.services, alice, SOURCE, request),
        (error: Error) => error instanceof InvalidRequestValue && error.responseCode === 'ErrorInvalidRequest' && message.test(error.message));
      assert.deepEqual(await mailboxOf(alice.login), before);
      assert.equal((await auditOf(alice.login)).at(-1)?.outcome, 'invalid-value');
    });
  }

  it('a caller without a mailbox: MailboxNotEnabled from GetUMProperties and a setter, nothing stored', async () => {
    await assert.rejects(getUmProperties(service.services, nobox, SOURCE), MailboxNotEnabled);
    await assert.rejects(setUmSetting(service.services, nobox, SOURCE, { operation: 'SetOofStatus', status: true }), MailboxNotEnabled);
    assert.equal(await service.services.store.findMailbox(nobox.login), undefined);
    assert.deepEqual((await auditOf(nobox.login)).map((e) => e.outcome), ['not-enabled', 'not-enabled']);
  });

  it('concurrent setters of one mailbox all land, each audited, and the reads in between see whole values', async () => {
    const before = (await auditOf(bob.login)).length;
    const numbers = Array.from({ length: 8 }, (_, i) => `+1 555 01${String(i).padStart(2, '0')}`);
    // From several addresses, as from several desks: one address has at most the failed-sign-in limit in flight (docs/limits.md).
    const from = (i: number) => `198.51.100.${i + 1}`;
    const results = await Promise.all([
      ...numbers.map((dialString, i) => setUmSetting(service.services, bob, from(i), { operation: 'SetPlayOnPhoneDialString', dialString })),
      setUmSetting(service.services, bob, from(8), { operation: 'SetOofStatus', status: true }),
      ...numbers.map((_, i) => getUmProperties(service.services, bob, from(9 + i))),
    ]);
    for (const result of results.slice(numbers.length + 1)) {
      const { playOnPhoneDialString } = (result as Awaited<ReturnType<typeof getUmProperties>>).properties;
      assert.ok(playOnPhoneDialString === '' || numbers.includes(playOnPhoneDialString), playOnPhoneDialString);
    }
    const final = await mailboxOf(bob.login);
    assert.ok(numbers.includes(final?.playOnPhoneDialString ?? ''));
    assert.equal(final?.oofStatus, true, 'the other setting is not lost to the concurrent writes');
    assert.equal((await auditOf(bob.login)).length - before, numbers.length + 1);
  });
});

describe('the administrator\'s change (umpin mailbox set)', () => {
  it('changes only what is given, may clear a string, and names the option in a refusal', async () => {
    const by = { actor: 'admin', source: 'cli' };
    await setVoiceMailSettings(service.services, alice.login, { playOnPhoneDialString: '', oofStatus: false }, by);
    assert.deepEqual(await mailboxOf(alice.login), { oofStatus: false, missedCallNotificationEnabled: false, playOnPhoneDialString: '', telephoneAccessFolder: FOLDER });
    const before = await mailboxOf(alice.login);
    await assert.rejects(setVoiceMailSettings(service.services, alice.login, { playOnPhoneDialString: 'abc' }, by),
      (error: Error) => error instanceof InvalidArgument && /^--play-on-phone-dial-string "abc" is not a telephone number/.test(error.message));
    await assert.rejects(setVoiceMailSettings(service.services, alice.login, { telephoneAccessFolder: '%%' }, by), /--telephone-access-folder is not base64/);
    assert.deepEqual(await mailboxOf(alice.login), before);
    await assert.rejects(setVoiceMailSettings(service.services, 'nobody', { oofStatus: true }, by), MailboxNotFound);
  });
});

describe('the value rules', () => {
  it('dial strings', () => {
    for (const good of ['12345', '+1 555 0100', '+49 (30) 1234-567', '0.30.12', '*86', '9#']) assert.equal(describeDialStringProblem(good), undefined, good);
    for (const bad of ['', '+', '1 2 3 ', '-123', '12a', '+1\n2', '１２３']) assert.notEqual(describeDialStringProblem(bad), undefined, JSON.stringify(bad));
  });
  it('folder ids', () => {
    assert.equal(describeFolderIdProblem(FOLDER), undefined);
    for (const bad of ['', 'AAA', 'AA=A', 'AAAA'.repeat(129)]) assert.notEqual(describeFolderIdProblem(bad), undefined, bad.slice(0, 10));
  });
});
