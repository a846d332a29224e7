/**
 * The argument checks every administrator's operation shares. Each refuses
 * with an InvalidArgument that names the argument and what it accepts.
 */
import { InvalidArgument } from '../../errors.ts';
import { MAX_LOGIN_LENGTH } from '../sign-in.ts';

const LOGIN_PATTERN = new RegExp(`^[^\\s:\\p{Cc}]{1,${MAX_LOGIN_LENGTH}}$`, 'u');
const EMAIL_PATTERN = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

export function validateLogin(login: string): string {
  if (!LOGIN_PATTERN.test(login)) {
    throw new InvalidArgument('A login is 1 to 256 characters without spaces, colons or control characters.');
  }
  return login;
}

/** `option`: how the command line names the address (`--email`, `--notify-email`). */
export function validateEmailAddress(option: string, address: string): string {
  if (!EMAIL_PATTERN.test(address)) throw new InvalidArgument(`${option} "${address}" is not an e-mail address such as user@example.com.`);
  return address;
}

/** Only the keys actually given: an explicit `undefined` must not erase a setting. */
export function withoutUndefined<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as Partial<T>;
}
