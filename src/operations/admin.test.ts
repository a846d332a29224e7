/**
 * The administrator's operations (admin.ts) on a real SQLite store with the
 * real KDF, a fixed clock and a relay the test steers: what each accepts,
 * that a refusal is a typed error and changes nothing, what it audits, and
 * what two at once leave behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgument, MailboxAlreadyEnabled, MailboxNotFound, PinPolicyViolated, toUmpinError } from '../errors.ts';
import { DEFAULT_POLICY, DEFAULT_POLICY_NAME } from '../pin/index.ts';
import { isActivePin } from '../../test/support/service.ts';
import { FIXED_NOW, openOperationsHarness, type OperationsHarness } from '../../test/support/operations.ts';
import {
  ADMIN, addUser, disableMailbox, enableMailbox, findLastMail, listMailboxes, lockMailbox, newPolicy, removePolicy, resetPinByAdmin,
  setMailbox, setPolicy, setUserPassword, showMailbox, showPolicies, unlockMailbox, validateLogin,
} from './admin.ts';
import { MAX_LOGIN_LENGTH } from './sign-in.ts';
import { countPendingPinChanges, findRememberedPinVerifiers } from '../../test/support/store-readers.ts';

/** "ok", or the error's class name and message, as the CLI would print it. */
function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => 'ok', (error: unknown) => `${toUmpinError(error).name}: ${toUmpinError(error).message}`);
}

/** Everything a refused command must leave as it was. */
async function snapshot(h: OperationsHarness, logins: readonly string[]): Promise<unknown> {
  const { store } = h.services;
  return {
    mailboxes: await Promise.all(logins.map(async (login) => ({
      mailbox: await store.findMailbox(login),
      verifiers: (await findRememberedPinVerifiers(store, login)).map((v) => v.toString('hex')),
      password: (await store.findPassword(login))?.verifier,
    }))),
    policies: await store.listPolicies(),
    pending: await countPendingPinChanges(store),
    audit: (await store.listAudit({})).length,
    relayAttempts: h.transport.attempts,
  };
}

async function signsIn(h: OperationsHarness, login: string, password: string): Promise<boolean> {
  return h.services.authenticator.authenticate({ login, password }).then(() => true, () => false);
}

async function events(h: OperationsHarness, login?: string) {
  return (await h.services.store.listAudit(login === undefined ? {} : { login })).map((e) => `${e.event} ${e.outcome}`);
}

async function withAlice(): Promise<{ h: OperationsHarness; pin: string }> {
  const h = await openOperationsHarness();
  await enableMailbox(h.services, 'alice', { email: 'alice@example.com', extension: '36697' });
  return { h, pin: h.transport.lastPin() };
}

describe('validateLogin', () => {
  it('takes 1 to 256 characters without spaces, colons or control characters, and names the rule otherwise', () => {
    for (const login of ['a', 'alice', 'ALICE.smith@example.com', 'jürgen', '6101@sales', 'x'.repeat(MAX_LOGIN_LENGTH)]) {
      assert.equal(validateLogin(login), login);
    }
    for (const login of ['', ' ', 'al ice', 'alice ', 'al:ice', 'al\tice', 'al\u0000ice', 'al\nice', 'al\u007fice', 'x'.repeat(MAX_LOGIN_LENGTH + 1)]) {
      assert.throws(() => validateLogin(login), (error: unknown) =>
        error instanceof InvalidArgument && error.message === 'A login is 1 to 256 characters without spaces, colons or control characters.', JSON.stringify(login));
    }
  });
});

describe('users', () => {
  it('addUser: a bad login, an empty password or a login taken is refused, changes nothing, and the first password stays', async () => {
    const h = await openOperationsHarness();
    try {
      await addUser(h.services, 'dave', 'first password');
      assert.deepEqual(await events(h), ['user.add success']);
      const before = await snapshot(h, ['dave', 'da ve', 'erin']);
      const hashes = h.kdfCalls['password-hash'];
      assert.equal(await outcome(addUser(h.services, 'da ve', 'pw')), 'InvalidArgument: A login is 1 to 256 characters without spaces, colons or control characters.');
      assert.equal(await outcome(addUser(h.services, 'erin', '')), 'InvalidArgument: The password is empty; pipe it on standard input with --password-stdin.');
      assert.equal(h.kdfCalls['password-hash'], hashes, 'refused before any password work');
      assert.equal(await outcome(addUser(h.services, 'dave', 'second password')), 'InvalidArgument: The user "dave" exists already.');
      assert.deepEqual(await snapshot(h, ['dave', 'da ve', 'erin']), before);
      assert.deepEqual([await signsIn(h, 'dave', 'first password'), await signsIn(h, 'dave', 'second password')], [true, false]);
    } finally {
      await h.close();
    }
  });

  it('two concurrent addUser of one login: one is added, the other is told it exists, and the winner\'s password is the one that works', async () => {
    const h = await openOperationsHarness();
    try {
      const outcomes = await Promise.all([outcome(addUser(h.services, 'dave', 'password one')), outcome(addUser(h.services, 'dave', 'password two'))]);
      assert.deepEqual([...outcomes].sort(), ['InvalidArgument: The user "dave" exists already.', 'ok']);
      const winner = outcomes[0] === 'ok' ? 'password one' : 'password two';
      const loser = winner === 'password one' ? 'password two' : 'password one';
      assert.deepEqual([await signsIn(h, 'dave', winner), await signsIn(h, 'dave', loser)], [true, false]);
      assert.deepEqual(await events(h), ['user.add success']);
    } finally {
      await h.close();
    }
  });

  it('setUserPassword: refused for a user nobody added or an empty password; otherwise the new password works and the old one no longer does', async () => {
    const h = await openOperationsHarness();
    try {
      await addUser(h.services, 'dave', 'old password');
      assert.equal(await signsIn(h, 'dave', 'old password'), true, 'and the credential cache now knows it');
      const before = await snapshot(h, ['dave', 'erin']);
      assert.equal(await outcome(setUserPassword(h.services, 'erin', 'pw')), 'InvalidArgument: There is no local user "erin"; add one with: umpin user add erin --password-stdin');
      assert.equal(await outcome(setUserPassword(h.services, 'dave', '')), 'InvalidArgument: The password is empty; pipe it on standard input with --password-stdin.');
      assert.equal(await outcome(setUserPassword(h.services, 'da:ve', 'pw')), 'InvalidArgument: A login is 1 to 256 characters without spaces, colons or control characters.');
      assert.deepEqual(await snapshot(h, ['dave', 'erin']), before);

      await setUserPassword(h.services, 'dave', 'new password');
      assert.deepEqual([await signsIn(h, 'dave', 'new password'), await signsIn(h, 'dave', 'old password')], [true, false]);
      assert.deepEqual(await events(h, 'dave'), ['user.add success', 'user.password success']);
    } finally {
      await h.close();
    }
  });

  it('two concurrent setUserPassword of one user: no update is lost silently; the password in effect is one a command reported set', async () => {
    const h = await openOperationsHarness();
    try {
      await addUser(h.services, 'dave', 'old password');
      const outcomes = await Promise.all([outcome(setUserPassword(h.services, 'dave', 'password one')), outcome(setUserPassword(h.services, 'dave', 'password two'))]);
      for (const o of outcomes) assert.ok(o === 'ok' || o === 'InvalidArgument: The password of "dave" changed while this command ran; run it again.', o);
      const works = [await signsIn(h, 'dave', 'password one'), await signsIn(h, 'dave', 'password two'), await signsIn(h, 'dave', 'old password')];
      assert.equal(works.filter(Boolean).length, 1, JSON.stringify(works));
      assert.equal(works[2], false, 'the old password is gone');
      const inEffect = works[0] ? 0 : 1;
      assert.equal(outcomes[inEffect], 'ok', `the password in effect was reported set: ${outcomes.join(' | ')}`);
      const reported = outcomes.filter((o) => o === 'ok').length;
      assert.equal((await events(h, 'dave')).filter((e) => e === 'user.password success').length, reported, 'one audit event per password reported set');
    } finally {
      await h.close();
    }
  });
});

describe('policies', () => {
  it('newPolicy: Exchange\'s defaults with the changes given (an explicit undefined erases nothing); a bad setting or a taken name is refused, nothing created', async () => {
    const h = await openOperationsHarness();
    try {
      const created = await newPolicy(h.services, 'short', { minPinLength: 4, maxLogonAttempts: null, pinLifetimeDays: undefined });
      assert.deepEqual(created, { ...DEFAULT_POLICY, name: 'short', minPinLength: 4, maxLogonAttempts: null });
      assert.deepEqual(await showPolicies(h.services, 'short'), [created]);

      const before = await snapshot(h, []);
      assert.equal(await outcome(newPolicy(h.services, 'bad', { minPinLength: 3 })), 'InvalidArgument: MinPINLength must be a whole number from 4 to 24.');
      assert.equal(await outcome(newPolicy(h.services, 'bad', { logonFailuresBeforePinReset: 9, maxLogonAttempts: 9 })),
        'InvalidArgument: LogonFailuresBeforePINReset must be less than MaxLogonAttempts (or Unlimited).');
      assert.match(await outcome(newPolicy(h.services, ' bad name', {})), /^InvalidArgument: Name must be 1–64 letters/);
      assert.equal(await outcome(newPolicy(h.services, 'short', {})), 'InvalidArgument: A policy named "short" exists already.');
      assert.deepEqual(await snapshot(h, []), before);
      assert.deepEqual((await h.services.store.listAudit({})).map((e) => [e.event, e.actor, e.source, e.detail?.policy]), [['policy.new', 'admin', 'cli', 'short']]);
    } finally {
      await h.close();
    }
  });

  it('setPolicy changes only what is given and audits those names; an unknown or invalid one is refused, unchanged', async () => {
    const h = await openOperationsHarness();
    try {
      await newPolicy(h.services, 'p', { minPinLength: 8 });
      const changed = await setPolicy(h.services, 'p', { pinHistoryCount: 3, strictRules: undefined });
      assert.deepEqual(changed, { ...DEFAULT_POLICY, name: 'p', minPinLength: 8, pinHistoryCount: 3 });
      assert.deepEqual(await showPolicies(h.services, 'p'), [changed]);
      const last = (await h.services.store.listAudit({})).at(-1);
      assert.deepEqual([last?.event, last?.detail], ['policy.set', { policy: 'p', changed: 'pinHistoryCount' }]);

      const before = await snapshot(h, []);
      assert.equal(await outcome(setPolicy(h.services, 'nope', { minPinLength: 6 })), 'InvalidArgument: There is no policy "nope"; list them with: umpin policy show');
      assert.equal(await outcome(setPolicy(h.services, 'p', { pinHistoryCount: 0 })), 'InvalidArgument: PINHistoryCount must be a whole number from 1 to 20.');
      assert.deepEqual(await snapshot(h, []), before);
    } finally {
      await h.close();
    }
  });

  it('removePolicy: never the default, never one in use, not one that is missing; otherwise it is gone', async () => {
    const { h } = await withAlice();
    try {
      await newPolicy(h.services, 'used', {});
      await newPolicy(h.services, 'unused', {});
      await setMailbox(h.services, 'alice', { policy: 'used' });
      const before = await snapshot(h, ['alice']);
      assert.equal(await outcome(removePolicy(h.services, DEFAULT_POLICY_NAME)), `InvalidArgument: The "${DEFAULT_POLICY_NAME}" policy cannot be removed; new mailboxes use it.`);
      assert.equal(await outcome(removePolicy(h.services, 'used')), 'InvalidArgument: The policy "used" is in use; move its mailboxes with: umpin mailbox set <login> --policy <other>');
      assert.equal(await outcome(removePolicy(h.services, 'nope')), 'InvalidArgument: There is no policy "nope"; list them with: umpin policy show');
      assert.deepEqual(await snapshot(h, ['alice']), before);
      await removePolicy(h.services, 'unused');
      assert.deepEqual((await showPolicies(h.services)).map((p) => p.name).sort(), [DEFAULT_POLICY_NAME, 'used']);
      assert.equal(await outcome(showPolicies(h.services, 'unused')), 'InvalidArgument: There is no policy "unused"; list them with: umpin policy show');
    } finally {
      await h.close();
    }
  });
});

describe('mailboxes', () => {
  it('enableMailbox: the welcome mail carries the PIN in effect, to the notify address when there is one; enabling again is refused', async () => {
    const h = await openOperationsHarness();
    try {
      const outcomeOfEnable = await enableMailbox(h.services, 'alice', { email: 'alice@example.com', notifyEmail: 'alice.private@example.org', extension: '36697', language: 'de', firstName: 'Alice', lastName: 'Liddell' });
      assert.equal(outcomeOfEnable.receipt?.reply, '250 2.0.0 queued');
      assert.deepEqual(h.transport.taken.map((m) => m.to), ['alice.private@example.org']);
      const pin = h.transport.lastPin();
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
      const alice = await showMailbox(h.services, 'alice');
      assert.deepEqual(
        { email: alice.email, extension: alice.extension, language: alice.language, policy: alice.policy.name, firstName: alice.firstName, pinExpired: alice.pinExpired, lockedOut: alice.lockedOut, pinSetAt: alice.pinSetAt },
        { email: 'alice@example.com', extension: '36697', language: 'de', policy: DEFAULT_POLICY_NAME, firstName: 'Alice', pinExpired: true, lockedOut: false, pinSetAt: FIXED_NOW },
      );
      assert.deepEqual(await events(h, 'alice'), ['mailbox.enable success', 'pin.welcome success']);

      const before = await snapshot(h, ['alice']);
      const again = await enableMailbox(h.services, 'alice', { email: 'other@example.com', extension: '36697' }).catch((e: unknown) => e);
      assert.ok(again instanceof MailboxAlreadyEnabled, String(again));
      assert.deepEqual(await snapshot(h, ['alice']), before);
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
    } finally {
      await h.close();
    }
  });

  it('enableMailbox refuses a bad setting with a typed error naming it, and creates nothing', async () => {
    const { h } = await withAlice();
    try {
      const before = await snapshot(h, ['alice', 'bob']);
      const cases: Array<[object, string]> = [
        [{ extension: '100' }, '--email is required to enable a mailbox.'],
        [{ email: 'bob@example.com' }, '--extension is required to enable a mailbox.'],
        [{ email: 'bob', extension: '100' }, '--email "bob" is not an e-mail address such as user@example.com.'],
        [{ email: 'bob@example.com', notifyEmail: 'a b@example.com', extension: '100' }, '--notify-email "a b@example.com" is not an e-mail address such as user@example.com.'],
        [{ email: 'bob@example.com', extension: '12a' }, '--extension "12a" must be 1 to 20 digits.'],
        [{ email: 'bob@example.com', extension: '1'.repeat(21) }, `--extension "${'1'.repeat(21)}" must be 1 to 20 digits.`],
        [{ email: 'bob@example.com', extension: '100', language: 'english' }, '--language "english" is not a language tag such as en, de or pt-BR.'],
        [{ email: 'bob@example.com', extension: '100', firstName: 'x'.repeat(65) }, '--first-name may have at most 64 characters and no control characters.'],
        [{ email: 'bob@example.com', extension: '100', lastName: 'Bob\u0007' }, '--last-name may have at most 64 characters and no control characters.'],
        [{ email: 'bob@example.com', extension: '100', policy: 'nope' }, 'There is no policy "nope"; list them with: umpin policy show'],
        [{ email: 'bob@example.com', extension: '36697' }, 'The extension 36697 belongs to the mailbox "alice".'],
      ];
      for (const [request, message] of cases) assert.equal(await outcome(enableMailbox(h.services, 'bob', request)), `InvalidArgument: ${message}`);
      assert.equal(await outcome(enableMailbox(h.services, 'b:ob', { email: 'bob@example.com', extension: '100' })), 'InvalidArgument: A login is 1 to 256 characters without spaces, colons or control characters.');
      assert.deepEqual(await snapshot(h, ['alice', 'bob', 'b:ob']), { ...(before as object), mailboxes: [...(before as { mailboxes: unknown[] }).mailboxes, { mailbox: undefined, verifiers: [], password: undefined }] });
      assert.deepEqual((await listMailboxes(h.services)).map((m) => m.login), ['alice']);
    } finally {
      await h.close();
    }
  });

  it('a welcome mail the relay refuses leaves the mailbox enabled without a PIN; enable again with a corrected address mails a working PIN', async () => {
    const h = await openOperationsHarness();
    try {
      h.transport.mode = 'refuse';
      assert.match(await outcome(enableMailbox(h.services, 'bob', { email: 'bob@typo.example', extension: '100' })), /^MailHandOffFailed: /);
      const bob = await showMailbox(h.services, 'bob');
      assert.deepEqual([bob.hasPin, bob.email], [false, 'bob@typo.example']);
      assert.equal(await countPendingPinChanges(h.services.store, 'bob'), 0);
      assert.deepEqual(await findLastMail(h.services, 'bob'), { status: 'failed', at: FIXED_NOW.toISOString(), reply: '550 5.1.1 no such user' });

      h.transport.mode = 'take';
      await enableMailbox(h.services, 'bob', { email: 'bob@example.com' });
      assert.deepEqual(h.transport.taken.map((m) => m.to), ['bob@example.com']);
      assert.equal(await isActivePin(h.services, 'bob', h.transport.lastPin()), true);
      assert.deepEqual(await events(h, 'bob'), ['mailbox.enable success', 'pin.welcome mail-failed', 'mailbox.set success', 'pin.welcome success']);
      assert.deepEqual(await findLastMail(h.services, 'bob'), { status: 'handed-off', at: FIXED_NOW.toISOString(), reply: '250 2.0.0 queued' });
    } finally {
      await h.close();
    }
  });

  it('two concurrent enables of one login: one mailbox; each enable that answers ok mailed a welcome, and the PIN in effect is the last mail\'s', async () => {
    const h = await openOperationsHarness();
    try {
      const request = { email: 'carol@example.com', extension: '200' };
      const outcomes = await Promise.all([outcome(enableMailbox(h.services, 'carol', request)), outcome(enableMailbox(h.services, 'carol', request))]);
      const ok = outcomes.filter((o) => o === 'ok').length;
      assert.ok(ok >= 1, outcomes.join(' | '));
      for (const o of outcomes) assert.ok(o === 'ok' || o === 'MailboxAlreadyEnabled: The mailbox "carol" is already enabled for voice mail and has a PIN.', o);
      assert.equal(h.transport.taken.length, ok);
      assert.equal(await isActivePin(h.services, 'carol', h.transport.lastPin()), true);
      assert.deepEqual((await listMailboxes(h.services)).map((m) => m.login), ['carol']);
      assert.equal((await events(h, 'carol')).filter((e) => e === 'mailbox.enable success').length, 1);
    } finally {
      await h.close();
    }
  });

  it('two concurrent enables of different logins with one extension: one mailbox owns it, the other login gets none', async () => {
    const h = await openOperationsHarness();
    try {
      const outcomes = await Promise.all(['x1', 'x2'].map((login) => outcome(enableMailbox(h.services, login, { email: `${login}@example.com`, extension: '300' }))));
      assert.equal(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join(' | '));
      const owners = (await listMailboxes(h.services)).map((m) => `${m.login} ${m.extension}`);
      assert.deepEqual(owners, [`${outcomes[0] === 'ok' ? 'x1' : 'x2'} 300`]);
      assert.equal(h.transport.taken.length, 1);
    } finally {
      await h.close();
    }
  });

  it('the loser of two concurrent enables with one extension is told the extension is taken', async () => {
    const h = await openOperationsHarness();
    try {
      const outcomes = await Promise.all(['x1', 'x2'].map((login) => outcome(enableMailbox(h.services, login, { email: `${login}@example.com`, extension: '300' }))));
      const loser = outcomes.find((o) => o !== 'ok');
      assert.match(loser ?? '', /^InvalidArgument: The extension 300 belongs to the mailbox "x[12]"\.$/);
    } finally {
      await h.close();
    }
  });

  it('setMailbox changes only what is given (null clears the notify address); a bad value or another\'s extension is refused, unchanged', async () => {
    const { h } = await withAlice();
    try {
      await enableMailbox(h.services, 'bob', { email: 'bob@example.com', notifyEmail: 'bob@home.example', extension: '100' });
      const bob = await setMailbox(h.services, 'bob', { notifyEmail: null, language: 'pt-BR', firstName: undefined });
      assert.deepEqual([bob.email, bob.notifyEmail, bob.extension, bob.language, bob.firstName], ['bob@example.com', null, '100', 'pt-BR', '']);
      const last = (await h.services.store.listAudit({ login: 'bob' })).at(-1);
      assert.deepEqual([last?.event, last?.detail], ['mailbox.set', { changed: 'notifyEmail language' }]);

      const before = await snapshot(h, ['alice', 'bob']);
      assert.equal(await outcome(setMailbox(h.services, 'bob', { extension: '36697' })), 'InvalidArgument: The extension 36697 belongs to the mailbox "alice".');
      assert.equal(await outcome(setMailbox(h.services, 'bob', { email: 'bob@example.com', language: 'x' })), 'InvalidArgument: --language "x" is not a language tag such as en, de or pt-BR.');
      assert.equal(await outcome(setMailbox(h.services, 'bob', { policy: 'nope' })), 'InvalidArgument: There is no policy "nope"; list them with: umpin policy show');
      const missing = await setMailbox(h.services, 'nobody', { language: 'en' }).catch((e: unknown) => e);
      assert.ok(missing instanceof MailboxNotFound);
      assert.deepEqual(await snapshot(h, ['alice', 'bob']), before);
      assert.equal(await outcome(setMailbox(h.services, 'bob', { extension: '100' })), 'ok', 'its own extension is no conflict');
    } finally {
      await h.close();
    }
  });

  it('two concurrent setMailbox moving two mailboxes to one extension: only one gets it', async () => {
    const { h } = await withAlice();
    try {
      await enableMailbox(h.services, 'bob', { email: 'bob@example.com', extension: '100' });
      const outcomes = await Promise.all(['alice', 'bob'].map((login) => outcome(setMailbox(h.services, login, { extension: '555' }))));
      assert.equal(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join(' | '));
      const extensions = (await listMailboxes(h.services)).map((m) => m.extension).sort();
      assert.deepEqual(extensions, outcomes[0] === 'ok' ? ['100', '555'] : ['36697', '555']);
    } finally {
      await h.close();
    }
  });

  it('the loser of two concurrent setMailbox to one extension is told the extension is taken', async () => {
    const { h } = await withAlice();
    try {
      await enableMailbox(h.services, 'bob', { email: 'bob@example.com', extension: '100' });
      const outcomes = await Promise.all(['alice', 'bob'].map((login) => outcome(setMailbox(h.services, login, { extension: '555' }))));
      assert.match(outcomes.find((o) => o !== 'ok') ?? '', /^InvalidArgument: The extension 555 belongs to the mailbox "(alice|bob)"\.$/);
    } finally {
      await h.close();
    }
  });

  it('disableMailbox removes the mailbox and frees its extension, keeps the audit trail; a second disable is MailboxNotFound', async () => {
    const { h, pin } = await withAlice();
    try {
      await disableMailbox(h.services, 'alice');
      assert.equal(await h.services.store.findMailbox('alice'), undefined);
      assert.equal(await isActivePin(h.services, 'alice', pin), false);
      assert.deepEqual(await events(h, 'alice'), ['mailbox.enable success', 'pin.welcome success', 'mailbox.disable success']);
      const again = await disableMailbox(h.services, 'alice').catch((e: unknown) => e);
      assert.ok(again instanceof MailboxNotFound);
      assert.equal(await outcome(enableMailbox(h.services, 'bob', { email: 'bob@example.com', extension: '36697' })), 'ok');
    } finally {
      await h.close();
    }
  });

  it('lockMailbox and unlockMailbox: unlocking clears the failed-logon count, the PIN stays; an unknown mailbox is MailboxNotFound', async () => {
    const { h, pin } = await withAlice();
    try {
      await h.services.store.recordFailedLogon('alice', 15);
      await h.services.store.recordFailedLogon('alice', 15);
      await lockMailbox(h.services, 'alice');
      assert.deepEqual([(await showMailbox(h.services, 'alice')).lockedOut, (await showMailbox(h.services, 'alice')).failedLogons], [true, 2]);
      await unlockMailbox(h.services, 'alice');
      const alice = await showMailbox(h.services, 'alice');
      assert.deepEqual([alice.lockedOut, alice.failedLogons], [false, 0]);
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
      assert.deepEqual((await events(h, 'alice')).slice(-2), ['pin.lock success', 'pin.unlock success']);
      for (const operation of [lockMailbox, unlockMailbox]) {
        const missing = await operation(h.services, 'nobody').catch((e: unknown) => e);
        assert.ok(missing instanceof MailboxNotFound);
      }
    } finally {
      await h.close();
    }
  });
});

describe('resetPinByAdmin', () => {
  it('refuses an unknown mailbox, --no-email without a chosen PIN, a bad notify address, a PIN against the policy: typed errors, nothing changed', async () => {
    const { h, pin } = await withAlice();
    try {
      const before = await snapshot(h, ['alice']);
      const missing = await resetPinByAdmin(h.services, 'nobody', {}).catch((e: unknown) => e);
      assert.ok(missing instanceof MailboxNotFound);
      assert.match(await outcome(resetPinByAdmin(h.services, 'alice', { sendEmail: false })), /^InvalidArgument: --no-email needs a chosen PIN/);
      assert.equal(await outcome(resetPinByAdmin(h.services, 'alice', { notifyEmail: 'nobody' })), 'InvalidArgument: --notify-email "nobody" is not an e-mail address such as user@example.com.');
      const weak = await resetPinByAdmin(h.services, 'alice', { pin: '1111', sendEmail: false }).catch((e: unknown) => e);
      assert.ok(weak instanceof PinPolicyViolated);
      assert.deepEqual(weak.failures.map((f) => f.id), ['pin.too-short', 'pin.repeated']);
      const reused = await resetPinByAdmin(h.services, 'alice', { pin, sendEmail: false }).catch((e: unknown) => e);
      assert.ok(reused instanceof PinPolicyViolated, 'the PIN in effect is in the history');
      const after = await snapshot(h, ['alice']) as { audit: number };
      assert.deepEqual({ ...after, audit: (before as { audit: number }).audit }, before, 'only audit events were added');
      assert.deepEqual((await events(h, 'alice')).slice(2), ['pin.admin-reset policy-violated', 'pin.admin-reset policy-violated']);
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
    } finally {
      await h.close();
    }
  });

  it('defaults: a generated PIN mailed to the mailbox, expired, unlocked with the count cleared; --locked-out keeps the lock and the count', async () => {
    const { h } = await withAlice();
    try {
      await h.services.store.recordFailedLogon('alice', 15);
      await lockMailbox(h.services, 'alice');
      await resetPinByAdmin(h.services, 'alice', {});
      let alice = await showMailbox(h.services, 'alice');
      assert.deepEqual([alice.pinExpired, alice.lockedOut, alice.failedLogons], [true, false, 0]);
      assert.equal(h.transport.taken.at(-1)?.to, 'alice@example.com');
      assert.equal(await isActivePin(h.services, 'alice', h.transport.lastPin()), true);
      const last = (await h.services.store.listAudit({ login: 'alice' })).at(-1);
      assert.deepEqual([last?.event, last?.outcome, last?.actor, last?.source], ['pin.admin-reset', 'success', ADMIN.actor, ADMIN.source]);

      await h.services.store.recordFailedLogon('alice', 15);
      await resetPinByAdmin(h.services, 'alice', { pin: '739104', expired: false, lockedOut: true, sendEmail: false });
      alice = await showMailbox(h.services, 'alice');
      assert.deepEqual([alice.pinExpired, alice.lockedOut, alice.failedLogons], [false, true, 1]);
      assert.equal(h.transport.taken.length, 2, 'no mail for --no-email');
      assert.equal(await isActivePin(h.services, 'alice', '739104'), true);

      await resetPinByAdmin(h.services, 'alice', { notifyEmail: 'helpdesk@example.com' });
      assert.equal(h.transport.taken.at(-1)?.to, 'helpdesk@example.com');
      assert.equal(await isActivePin(h.services, 'alice', h.transport.lastPin()), true);
    } finally {
      await h.close();
    }
  });

  it('two concurrent resets of one mailbox both land, one after the other: two mails, the PIN in effect is the last mail\'s', async () => {
    const { h } = await withAlice();
    try {
      const before = (await showMailbox(h.services, 'alice')).pinGeneration;
      const outcomes = await Promise.all([outcome(resetPinByAdmin(h.services, 'alice', {})), outcome(resetPinByAdmin(h.services, 'alice', {}))]);
      assert.deepEqual(outcomes, ['ok', 'ok']);
      assert.equal(h.transport.taken.length, 3, 'welcome + two resets');
      assert.notEqual(h.transport.taken[1]?.text, h.transport.taken[2]?.text);
      assert.equal(await isActivePin(h.services, 'alice', h.transport.lastPin()), true);
      assert.equal((await showMailbox(h.services, 'alice')).pinGeneration, before + 2);
      assert.equal(await countPendingPinChanges(h.services.store, 'alice'), 0);
    } finally {
      await h.close();
    }
  });

  it('a relay that defers: the reset waits in the outbox, the old PIN stays in effect, and findLastMail says it is retrying', async () => {
    const { h, pin } = await withAlice();
    try {
      h.transport.mode = 'defer';
      const queued = await resetPinByAdmin(h.services, 'alice', {});
      assert.equal(queued.queued?.reply, '421 4.3.2 try again later');
      assert.equal(await isActivePin(h.services, 'alice', pin), true);
      assert.deepEqual(await findLastMail(h.services, 'alice'), { status: 'retrying', at: FIXED_NOW.toISOString(), reply: '421 4.3.2 try again later' });
      assert.equal(await findLastMail(h.services, 'nobody'), undefined);
    } finally {
      await h.close();
    }
  });
});
