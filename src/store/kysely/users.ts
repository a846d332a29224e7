/**
 * UserStore on Kysely: the web service's users and their password verifiers, and self-service
 * sessions ended early.
 */
import type { UserStore } from '../pin-store.ts';
import type { StoreContext } from './context.ts';
import { boundKeyId } from './key-binding.ts';

export function createUserStore({ db }: StoreContext): UserStore {
  return {
    async addUser(login, passwordVerifier, now, keyId) {
      const at = now.toISOString();
      const result = await db.insertInto('users')
        .values({ login, password_verifier: passwordVerifier, password_key_id: keyId ?? boundKeyId(), created_at: at, updated_at: at })
        .onConflict((oc) => oc.column('login').doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async findPassword(login) {
      const row = await db.selectFrom('users').select(['password_verifier', 'password_key_id']).where('login', '=', login).executeTakeFirst();
      return row && { verifier: row.password_verifier, keyId: row.password_key_id };
    },

    async replacePasswordVerifier(login, previous, next, now) {
      const result = await db.updateTable('users')
        .set({ password_verifier: next.verifier, password_key_id: next.keyId, updated_at: now.toISOString() })
        .where('login', '=', login).where('password_verifier', '=', previous).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async endWebSession(sessionId, expiresAt, now) {
      await db.deleteFrom('web_session_ends').where('expires_at', '<', now.toISOString()).execute();
      await db.insertInto('web_session_ends').values({ session_id: sessionId, expires_at: expiresAt.toISOString() })
        .onConflict((oc) => oc.column('session_id').doNothing()).execute();
    },

    async isWebSessionEnded(sessionId) {
      return (await db.selectFrom('web_session_ends').select('session_id').where('session_id', '=', sessionId).executeTakeFirst()) !== undefined;
    },
  };
}
