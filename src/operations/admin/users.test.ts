/**
 * The administrator's operations on local users (users.ts) on a real SQLite store with the real KDF, a fixed clock and a relay the
 * test steers: what each accepts, that a refusal is a typed error and changes
 * nothing, what it audits, and what two at once leave behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { events, outcome, signsIn, snapshot } from '../../../test/support/admin-harness.ts';
import { openOperationsHarness } from '../../../test/support/operations.ts';
import { addUser, setUserPassword } from './users.ts';

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
