/**
 * The administrator's operations on mailboxes (mailboxes.ts) on a real SQLite store with the real KDF, a fixed clock and a relay the
 * test steers: what each accepts, that a refusal is a typed error and changes
 * nothing, what it audits, and what two at once leave behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, InvalidArgument, MailboxAlreadyEnabled, MailboxNotFound } from '../../errors.ts';
import type { DirectoryUser, UserDirectory } from '../../auth/ldap-authenticator.ts';
import { DEFAULT_POLICY_NAME } from '../../pin/index.ts';
import { isActivePin } from '../../../test/support/service.ts';
import { events, outcome, snapshot, withAlice } from '../../../test/support/admin-harness.ts';
import { FIXED_NOW, openOperationsHarness } from '../../../test/support/operations.ts';
import { disableMailbox, enableMailbox, listMailboxes, setMailbox, showMailbox, withDirectoryDefaults } from './mailboxes.ts';
import { findLastMail } from './pins.ts';

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
      assert.equal(await h.services.store.countPendingPinChanges('bob'), 0);
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
});

describe('withDirectoryDefaults (mailbox enable --from-directory)', () => {
  /** A directory holding these entries by login, with the attribute names of an OpenLDAP directory. */
  function directoryOf(entries: Readonly<Record<string, DirectoryUser>>): UserDirectory & { lookups: string[] } {
    const lookups: string[] = [];
    return {
      loginAttribute: 'uid', mailAttribute: 'mail', extensionAttribute: 'telephoneNumber', lookups,
      findUser: async (login) => {
        lookups.push(login);
        return entries[login];
      },
    };
  }
  const refusal = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: unknown) => (error instanceof InvalidArgument ? error.message : `not InvalidArgument: ${String(error)}`));

  it('without a directory configured it is a configuration error naming UMPIN_LDAP_URL', async () => {
    const h = await openOperationsHarness();
    try {
      const error = await withDirectoryDefaults(h.services, 'carol', {}).catch((e: unknown) => e);
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual([error.setting, error.message], ['UMPIN_LDAP_URL', 'UMPIN_LDAP_URL: --from-directory needs a directory; set UMPIN_LDAP_URL and UMPIN_LDAP_BASE_DN.']);
    } finally {
      await h.close();
    }
  });

  it("takes the entry's address and extension (a telephone number as its digits); an option given wins, the rest of the request stays", async () => {
    const h = await openOperationsHarness();
    try {
      const directory = directoryOf({ alice: { login: 'alice', mail: 'alice@example.com', extension: '+49 (30) 1234-56.7' } });
      const services = { ...h.services, directory };
      assert.deepEqual(await withDirectoryDefaults(services, 'alice', { policy: 'default' }), { policy: 'default', email: 'alice@example.com', extension: '49301234567' });
      assert.deepEqual(await withDirectoryDefaults(services, 'alice', { extension: '4242' }), { extension: '4242', email: 'alice@example.com' });
      assert.deepEqual(await withDirectoryDefaults(services, 'alice', { email: 'a@example.org', extension: '1' }), { email: 'a@example.org', extension: '1' });
      assert.deepEqual(directory.lookups, ['alice', 'alice', 'alice']);
      assert.deepEqual(await listMailboxes(services), [], 'it only reads');
    } finally {
      await h.close();
    }
  });

  it('refuses, saying what to do: a login without a single entry, one spelled otherwise, an entry without an address or an extension', async () => {
    const h = await openOperationsHarness();
    try {
      const services = {
        ...h.services,
        directory: directoryOf({
          bob: { login: 'Bob', mail: 'bob@example.com', extension: '100' },
          nomail: { login: 'nomail', mail: undefined, extension: '100' },
          noext: { login: 'noext', mail: 'noext@example.com', extension: '+ -' },
        }),
      };
      assert.equal(await refusal(withDirectoryDefaults(services, 'mallory', {})),
        'The directory has no single entry whose uid is "mallory"; check the login, or give --email and --extension instead of --from-directory.');
      assert.equal(await refusal(withDirectoryDefaults(services, 'bob', {})), 'The directory spells this login "Bob"; enable that login, which is the one sign-ins arrive as.');
      assert.equal(await refusal(withDirectoryDefaults(services, 'nomail', {})), 'The directory entry of nomail has no mail; give --email.');
      assert.equal(await refusal(withDirectoryDefaults(services, 'noext', {})), 'The directory entry of noext has no telephoneNumber; give --extension.');
      assert.equal(await refusal(withDirectoryDefaults(services, 'nomail', { email: 'n@example.com' })), 'ok');
    } finally {
      await h.close();
    }
  });
});
