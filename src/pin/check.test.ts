import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPin } from './check.ts';
import { generatePin } from './generate.ts';
import { dialByNameDigits, isKeypadLine } from './keypad.ts';
import { DEFAULT_POLICY, type PinPolicy } from './policy.ts';

const ids = (pin: string, policy: PinPolicy = DEFAULT_POLICY, extension = '36697') => checkPin(pin, policy, { extension }).map((f) => f.id);

describe('checkPin', () => {
  it('passes an ordinary PIN', () => {
    assert.deepEqual(ids('284619'), []);
  });

  it('rejects anything but digits, and says only that', () => {
    assert.deepEqual(ids('12a456'), ['pin.not-digits']);
    assert.deepEqual(ids(''), ['pin.not-digits']);
    assert.deepEqual(ids('１２３４５６'), ['pin.not-digits']); // full-width digits are not DTMF digits
  });

  it('enforces MinPINLength and the 24-digit maximum', () => {
    assert.deepEqual(ids('28461'), ['pin.too-short']);
    assert.deepEqual(ids('2846192846192846192846193'), ['pin.too-long']);
    assert.deepEqual(ids('284619284619284619284619'), []);
  });

  it('rejects one repeated digit and consecutive runs, ascending, descending and across 9→0', () => {
    assert.deepEqual(ids('111111'), ['pin.repeated']);
    assert.deepEqual(ids('123456'), ['pin.sequential']);
    assert.deepEqual(ids('654321'), ['pin.sequential']);
    assert.deepEqual(ids('789012'), ['pin.sequential']);
    assert.deepEqual(ids('210987'), ['pin.sequential']);
    assert.deepEqual(ids('123457'), []);
    assert.deepEqual(ids('123321'), []);
  });

  it('allows common patterns when the policy does, but never the extension', () => {
    const lax = { ...DEFAULT_POLICY, allowCommonPatterns: true };
    assert.deepEqual(ids('111111', lax), []);
    assert.deepEqual(ids('123456', lax), []);
    assert.deepEqual(ids('3669712', lax), ['pin.extension']);
  });

  it('rejects a suffix of the extension and a PIN that contains it (both readings of Exchange)', () => {
    const four = { ...DEFAULT_POLICY, minPinLength: 4 };
    assert.deepEqual(ids('6697', four), ['pin.extension']);
    assert.deepEqual(ids('36697', four), ['pin.extension']);
    assert.deepEqual(ids('3669712', four), ['pin.extension']);
    assert.deepEqual(ids('1236697', four), ['pin.extension']);
    assert.deepEqual(ids('3669', four), []); // a prefix shorter than the extension is not a suffix
    assert.deepEqual(ids('6697', four, ''), []); // no extension, no rule
  });

  it('returns every failed rule at once, each with a sentence', () => {
    const failures = checkPin('4444', DEFAULT_POLICY, { extension: '4444' });
    assert.deepEqual(failures, [
      { id: 'pin.too-short', message: 'A PIN must have at least 6 digits.' },
      { id: 'pin.repeated', message: 'A PIN may not be one digit repeated, such as 111111.' },
      { id: 'pin.extension', message: 'A PIN may not be the end of your extension number or contain the whole extension.' },
    ]);
  });
});

describe('checkPin, strict rule set', () => {
  const strict = { ...DEFAULT_POLICY, strictRules: true, minPinLength: 4 };
  const strictIds = (pin: string, context: { firstName?: string; lastName?: string } = {}) =>
    checkPin(pin, strict, { extension: '36697', ...context }).map((f) => f.id);

  it('passes an ordinary PIN', () => {
    assert.deepEqual(strictIds('284619'), []);
  });

  it('rejects repeated groups, two distinct digits, triples and keypad lines', () => {
    assert.deepEqual(strictIds('408408'), ['pin.repeated-group']);
    assert.deepEqual(strictIds('121212'), ['pin.repeated-group', 'pin.two-digits']);
    assert.deepEqual(strictIds('122112'), ['pin.two-digits']);
    assert.deepEqual(strictIds('28883'), ['pin.triple']);
    assert.deepEqual(strictIds('288828'), ['pin.two-digits', 'pin.triple']);
    assert.deepEqual(strictIds('928883'), ['pin.triple']);
    assert.deepEqual(strictIds('2580'), ['pin.keypad-line']);
    assert.deepEqual(strictIds('0852'), ['pin.keypad-line']);
    assert.deepEqual(strictIds('2581'), []);
  });

  it('rejects the dial-by-name digits of the first or last name', () => {
    // Jane dials 5263; Müller loses its accent to dial M-u-l-l-e-r, 685537.
    assert.deepEqual(strictIds('952631', { firstName: 'Jane' }), ['pin.name']);
    assert.deepEqual(strictIds('685537', { lastName: 'Müller' }), ['pin.name']);
    assert.deepEqual(strictIds('284619', { firstName: 'Jane', lastName: 'Müller' }), []);
    assert.deepEqual(strictIds('5419', { firstName: 'Li' }), [], 'a two-letter name is too short to count');
  });

  it('is off unless the policy switches it on', () => {
    assert.deepEqual(checkPin('408408', DEFAULT_POLICY, { extension: '' }), []);
  });

  it('makes generated PINs that pass it too', () => {
    for (let i = 0; i < 2000; i += 1) {
      const pin = generatePin(strict, { extension: '36697', firstName: 'Jane', lastName: 'Doe' });
      assert.ok(pin);
      assert.deepEqual(checkPin(pin, strict, { extension: '36697', firstName: 'Jane', lastName: 'Doe' }), []);
    }
  });
});

describe('keypad', () => {
  it('dials names as ITU E.161 does', () => {
    assert.equal(dialByNameDigits('Jane'), '5263');
    assert.equal(dialByNameDigits("O'Brien-Smith"), '62743676484');
    assert.equal(dialByNameDigits('Zoë'), '963');
  });
  it('finds straight lines in any direction', () => {
    for (const line of ['123', '321', '147', '2580', '0852', '159', '951', '357', '753', '369']) assert.equal(isKeypadLine(line), true, line);
    for (const other of ['124', '2468', '1590', '11', '111']) assert.equal(isKeypadLine(other), false, other);
  });
});
