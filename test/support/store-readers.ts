/**
 * Readers only tests need, so they are not part of the PinStore the service runs on: each reads the
 * database behind a store that openPinStore made.
 */
import type { PinStore } from '../../src/store/index.ts';
import { databaseOf } from '../../src/store/kysely/index.ts';

/** How many PIN changes are pending (inline or in the outbox), of every mailbox or of `login`'s. */
export async function countPendingPinChanges(store: PinStore, login?: string): Promise<number> {
  let query = databaseOf(store).selectFrom('pending_pin_changes').select((eb) => eb.fn.countAll<number>().as('n'));
  if (login !== undefined) query = query.where('login', '=', login);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** The current PIN's verifier (if any) first, then the history's, newest first. */
export async function findRememberedPinVerifiers(store: PinStore, login: string): Promise<Buffer[]> {
  const current = await databaseOf(store).selectFrom('mailboxes').select('pin_verifier').where('login', '=', login).executeTakeFirst();
  const history = await databaseOf(store).selectFrom('pin_history').select('pin_verifier').where('login', '=', login).orderBy('id', 'desc').execute();
  return [...(current?.pin_verifier ? [current.pin_verifier] : []), ...history.map((h) => h.pin_verifier)];
}
