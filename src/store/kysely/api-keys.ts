/**
 * ApiKeyStore on Kysely: API keys for the phone-side API, their HMAC verifiers and revocation.
 */
import type { ApiKeyStore } from '../pin-store.ts';
import type { StoreContext } from './context.ts';
import { boundKeyId } from './key-binding.ts';

export function createApiKeyStore({ db }: StoreContext): ApiKeyStore {
  return {
    async addApiKey(key, now) {
      // A revoked key gives its name back; the audit trail keeps its history.
      await db.deleteFrom('api_keys').where('name', '=', key.name).where('revoked_at', 'is not', null).execute();
      const result = await db.insertInto('api_keys')
        .values({ id: key.id, name: key.name, verifier: key.verifier, key_id: key.keyId ?? boundKeyId(), created_at: now.toISOString(), revoked_at: null })
        .onConflict((oc) => oc.doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async findApiKeyVerifier(id) {
      const row = await db.selectFrom('api_keys').select(['verifier', 'key_id']).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return row && { verifier: row.verifier, keyId: row.key_id };
    },

    async replaceApiKeyVerifier(id, previous, next) {
      const result = await db.updateTable('api_keys').set({ verifier: next.verifier, key_id: next.keyId })
        .where('id', '=', id).where('revoked_at', 'is', null).where('verifier', '=', previous).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async listApiKeys() {
      const rows = await db.selectFrom('api_keys').select(['id', 'name', 'created_at', 'revoked_at']).orderBy('name').execute();
      return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at), revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at) }));
    },

    async revokeApiKey(name, now) {
      const result = await db.updateTable('api_keys').set({ revoked_at: now.toISOString() })
        .where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
