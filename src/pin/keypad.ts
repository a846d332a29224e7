/** The telephone keypad: where each digit sits, and which digit dials each letter (ITU E.161). */

const POSITIONS: Readonly<Record<string, readonly [number, number]>> = {
  '1': [0, 0], '2': [0, 1], '3': [0, 2],
  '4': [1, 0], '5': [1, 1], '6': [1, 2],
  '7': [2, 0], '8': [2, 1], '9': [2, 2],
  '0': [3, 1],
};

/**
 * True when every step from one digit to the next is the same single move
 * on the keypad (across, down or diagonally), as in 2580, 0852 or 159.
 */
export function isKeypadLine(pin: string): boolean {
  if (pin.length < 3) return false;
  const at = (i: number) => POSITIONS[pin[i] as string] as readonly [number, number];
  const [r0, c0] = at(0);
  const [r1, c1] = at(1);
  const step = [r1 - r0, c1 - c0] as const;
  if (Math.abs(step[0]) > 1 || Math.abs(step[1]) > 1 || (step[0] === 0 && step[1] === 0)) return false;
  for (let i = 1; i < pin.length - 1; i += 1) {
    const [ra, ca] = at(i);
    const [rb, cb] = at(i + 1);
    if (rb - ra !== step[0] || cb - ca !== step[1]) return false;
  }
  return true;
}

const LETTERS = ['', '', 'abc', 'def', 'ghi', 'jkl', 'mno', 'pqrs', 'tuv', 'wxyz'];

/** The digits that dial `name` by name (letters only; accents are folded, anything else dropped). */
export function dialByNameDigits(name: string): string {
  return [...name.normalize('NFD').toLowerCase()]
    .map((ch) => LETTERS.findIndex((group) => group.includes(ch)))
    .filter((digit) => digit > 0)
    .join('');
}
