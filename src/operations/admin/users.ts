/**
 * Local users, who sign in to reset their own PIN (`umpin user add`,
 * `umpin user password`). Users from a directory are not kept here.
 */
import { InvalidArgument } from '../../errors.ts';
import { auditAdminChange } from '../audit.ts';
import type { Services } from '../services.ts';
import { validateLogin } from './arguments.ts';

export async function addUser(services: Services, login: string, password: string): Promise<void> {
  validateLogin(login);
  if (password.length === 0) throw new InvalidArgument('The password is empty; pipe it on standard input with --password-stdin.');
  const verifier = await services.kdf.hashPassword(password);
  if (!(await services.store.addUser(login, verifier, services.now(), services.kdf.currentKeyId))) {
    throw new InvalidArgument(`The user "${login}" exists already.`);
  }
  await auditAdminChange(services, 'user.add', login);
}

/**
 * A new password for a local user. The verifier is replaced only if it is still the one read (a
 * sign-in's re-hash in between makes this fail loudly rather than be lost); every self-service
 * session of the user ends at its next request, since its stamp names the old verifier.
 */
export async function setUserPassword(services: Services, login: string, password: string): Promise<void> {
  validateLogin(login);
  if (password.length === 0) throw new InvalidArgument('The password is empty; pipe it on standard input with --password-stdin.');
  const current = await services.store.findPassword(login);
  if (current === undefined) throw new InvalidArgument(`There is no local user "${login}"; add one with: umpin user add ${login} --password-stdin`);
  const verifier = await services.kdf.hashPassword(password);
  if (!(await services.store.replacePasswordVerifier(login, current.verifier, { verifier, keyId: services.kdf.currentKeyId }, services.now()))) {
    throw new InvalidArgument(`The password of "${login}" changed while this command ran; run it again.`);
  }
  await auditAdminChange(services, 'user.password', login);
}
