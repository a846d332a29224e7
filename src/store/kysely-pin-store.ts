/**
 * PinStore on Kysely: the single query code path every engine shares.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { PinPolicy } from '../pin/index.ts';
import type { AuditTable, Database, MailboxTable, PendingPinChangeTable, PolicyTable } from './schema.ts';
import type {
  ActivationResult,
  ApiKeyRecord,
  ClaimedMail,
  DeletePolicyResult,
  QueuedMail,
  MailboxSettings,
  AuditEvent,
  AuditFilter,
  BindKeyResult,
  KeyedVerifier,
  LockEffect,
  MailboxState,
  NewMailbox,
  PendingPinChange,
  PinStore,
  RebindKeyResult,
  StoredAuditEvent,
  VerifierKeyCounts,
  VoiceMailSettings,
} from './pin-store.ts';

const SERVER_KEY_ID = 'server_key_id';
/**
 * `pending_pin_changes.set_locked_out`: 0 and 1 are what the column always held (unlock, lock: the value the
 * lock takes), 2 leaves the lock as activation finds it (migration 0007 gives it to queued auto-resets).
 */
export const LOCK_EFFECT_CODES: Readonly<Record<LockEffect, number>> = Object.freeze({ unlock: 0, lock: 1, keep: 2 });
/** A lease that ran out long ago: the row is free for any worker. */
const RELEASED = new Date(0).toISOString();

export interface KyselyPinStoreOptions {
  /**
   * Take row locks (`FOR UPDATE`, `FOR NO KEY UPDATE`, `SKIP LOCKED`) where a transaction reads a row and
   * then writes it, so that instances sharing a PostgreSQL server serialise per mailbox and outbox row
   * (DESIGN §5). SQLite has no such clause (a syntax error there) and needs none: one writer at a time.
   */
  readonly rowLocks?: boolean;
  /** The known migrations not yet run on this database, for checkReady; without it only the connection is checked. */
  readonly pendingMigrations?: () => Promise<string[]>;
}

export class KyselyPinStore implements PinStore {
  readonly #db: Kysely<Database>;
  readonly #rowLocks: boolean;
  readonly #pendingMigrations: () => Promise<string[]>;

  constructor(db: Kysely<Database>, options: KyselyPinStoreOptions = {}) {
    this.#db = db;
    this.#rowLocks = options.rowLocks ?? false;
    this.#pendingMigrations = options.pendingMigrations ?? (async () => []);
  }

  async bindServerKey(keyId: string): Promise<BindKeyResult> {
    const inserted = await this.#db.insertInto('umpin_meta').values({ key: SERVER_KEY_ID, value: keyId })
      .onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { status: 'bound' };
    const row = await this.#db.selectFrom('umpin_meta').select('value').where('key', '=', SERVER_KEY_ID).executeTakeFirstOrThrow();
    return row.value === keyId ? { status: 'matched' } : { status: 'mismatch', expected: row.value };
  }

  async findServerKeyId(): Promise<string | undefined> {
    const row = await this.#db.selectFrom('umpin_meta').select('value').where('key', '=', SERVER_KEY_ID).executeTakeFirst();
    return row?.value;
  }

  async rebindServerKey(from: string, to: string, reseal: (id: string, sealed: Buffer) => Buffer, audit: AuditEvent): Promise<RebindKeyResult> {
    return this.#db.transaction().execute(async (trx) => {
      // A write first: it takes SQLite's write lock, and on PostgreSQL the meta row's lock, so two rotations take turns.
      const rebound = await trx.updateTable('umpin_meta').set({ value: to }).where('key', '=', SERVER_KEY_ID).where('value', '=', from).executeTakeFirst();
      if (Number(rebound.numUpdatedRows) !== 1) return 'conflict';
      const sealed = await trx.selectFrom('pending_pin_changes').select(['id', 'sealed_mail']).where('sealed_mail', 'is not', null).execute();
      for (const row of sealed) {
        await trx.updateTable('pending_pin_changes').set({ sealed_mail: reseal(row.id, row.sealed_mail as Buffer) })
          .where('id', '=', row.id).where('sealed_mail', '=', row.sealed_mail as Buffer).execute();
      }
      await insertAudit(trx, audit);
      return 'rebound';
    });
  }

  async listSealedMail(): Promise<Array<{ id: string; sealedMail: Buffer }>> {
    const rows = await this.#db.selectFrom('pending_pin_changes').select(['id', 'sealed_mail']).where('sealed_mail', 'is not', null).execute();
    return rows.map((r) => ({ id: r.id, sealedMail: r.sealed_mail as Buffer }));
  }

  async countVerifiersByKey(): Promise<VerifierKeyCounts> {
    const count = async (table: 'users' | 'mailboxes' | 'pin_history' | 'pending_pin_changes' | 'api_keys', column: string) => {
      const rows = await (this.#db as unknown as Kysely<Record<string, Record<string, string | null>>>).selectFrom(table)
        .select([sql<string>`${sql.ref(column)}`.as('key_id'), (eb) => eb.fn.countAll<number>().as('n')])
        .where(column, 'is not', null).$if(table === 'api_keys', (q) => q.where('revoked_at', 'is', null)).groupBy(column).execute();
      return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
    };
    return {
      passwords: await count('users', 'password_key_id'),
      pins: await count('mailboxes', 'pin_key_id'),
      history: await count('pin_history', 'key_id'),
      pending: await count('pending_pin_changes', 'new_pin_key_id'),
      apiKeys: await count('api_keys', 'key_id'),
    };
  }

  async addUser(login: string, passwordVerifier: string, now: Date, keyId?: string): Promise<boolean> {
    const at = now.toISOString();
    const result = await this.#db.insertInto('users')
      .values({ login, password_verifier: passwordVerifier, password_key_id: keyId ?? this.#boundKeyId(), created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('login').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async findPassword(login: string): Promise<{ verifier: string; keyId: string } | undefined> {
    const row = await this.#db.selectFrom('users').select(['password_verifier', 'password_key_id']).where('login', '=', login).executeTakeFirst();
    return row && { verifier: row.password_verifier, keyId: row.password_key_id };
  }

  async replacePasswordVerifier(login: string, previous: string, next: { verifier: string; keyId: string }, now: Date): Promise<boolean> {
    const result = await this.#db.updateTable('users')
      .set({ password_verifier: next.verifier, password_key_id: next.keyId, updated_at: now.toISOString() })
      .where('login', '=', login).where('password_verifier', '=', previous).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** For a verifier written without its key id: the key this database is bound to, read in the same statement. */
  #boundKeyId() {
    return sql<string>`coalesce((select value from umpin_meta where key = ${SERVER_KEY_ID}), '')`;
  }

  async findPolicy(name: string): Promise<PinPolicy | undefined> {
    const row = await this.#db.selectFrom('policies').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toPolicy(row);
  }

  async listPolicies(): Promise<PinPolicy[]> {
    const rows = await this.#db.selectFrom('policies').selectAll().orderBy('name').execute();
    return rows.map(toPolicy);
  }

  async createPolicy(policy: PinPolicy): Promise<boolean> {
    const result = await this.#db.insertInto('policies').values(fromPolicy(policy))
      .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async updatePolicy(policy: PinPolicy): Promise<boolean> {
    const result = await this.#db.updateTable('policies').set(fromPolicy(policy)).where('name', '=', policy.name).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deletePolicy(name: string): Promise<DeletePolicyResult> {
    return this.#db.transaction().execute(async (trx) => {
      const users = await trx.selectFrom('mailboxes').select('login').where('policy_name', '=', name).limit(1).executeTakeFirst();
      if (users) return 'in-use';
      const result = await trx.deleteFrom('policies').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) === 1 ? 'deleted' : 'missing';
    });
  }

  async createMailbox(mailbox: NewMailbox, now: Date): Promise<boolean> {
    const result = await this.#db.insertInto('mailboxes').values({
      login: mailbox.login,
      ...fromMailboxSettings(mailbox),
      pin_salt: mailbox.pinSalt,
      pin_verifier: null,
      pin_length: null,
      pin_set_at: null,
      pin_expired: 1,
      first_time_user: 1,
      locked_out: 0,
      failed_logons: 0,
      pin_generation: 0,
      created_at: now.toISOString(),
    }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async updateMailbox(login: string, settings: MailboxSettings): Promise<boolean> {
    const result = await this.#db.updateTable('mailboxes').set(fromMailboxSettings(settings)).where('login', '=', login).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteMailbox(login: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('mailboxes').where('login', '=', login).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async findMailbox(login: string): Promise<MailboxState | undefined> {
    const row = await this.#selectMailboxes().where('mailboxes.login', '=', login).executeTakeFirst();
    return row && toMailboxState(row);
  }

  async findMailboxLoginByExtension(extension: string): Promise<string | undefined> {
    const row = await this.#db.selectFrom('mailboxes').select('login').where('extension', '=', extension).executeTakeFirst();
    return row?.login;
  }

  async listMailboxes(): Promise<MailboxState[]> {
    return (await this.#selectMailboxes().orderBy('mailboxes.login').execute()).map(toMailboxState);
  }

  #selectMailboxes() {
    return this.#db.selectFrom('mailboxes')
      .innerJoin('policies', 'policies.name', 'mailboxes.policy_name')
      .selectAll('policies')
      .select([
        'mailboxes.login', 'mailboxes.email', 'mailboxes.notify_email', 'mailboxes.extension', 'mailboxes.language',
        'mailboxes.first_name', 'mailboxes.last_name', 'mailboxes.pin_salt', 'mailboxes.pin_verifier', 'mailboxes.pin_length',
        'mailboxes.pin_set_at', 'mailboxes.pin_expired', 'mailboxes.first_time_user', 'mailboxes.locked_out',
        'mailboxes.failed_logons', 'mailboxes.pin_generation', 'mailboxes.oof_status', 'mailboxes.missed_call_notification',
        'mailboxes.play_on_phone_dial_string', 'mailboxes.telephone_access_folder',
      ]);
  }

  async updateVoiceMailSettings(login: string, settings: Partial<VoiceMailSettings>, audit: AuditEvent): Promise<boolean> {
    const columns = {
      ...(settings.oofStatus === undefined ? {} : { oof_status: settings.oofStatus ? 1 : 0 }),
      ...(settings.missedCallNotificationEnabled === undefined ? {} : { missed_call_notification: settings.missedCallNotificationEnabled ? 1 : 0 }),
      ...(settings.playOnPhoneDialString === undefined ? {} : { play_on_phone_dial_string: settings.playOnPhoneDialString }),
      ...(settings.telephoneAccessFolder === undefined ? {} : { telephone_access_folder: settings.telephoneAccessFolder }),
    };
    if (Object.keys(columns).length === 0) throw new TypeError('updateVoiceMailSettings needs at least one setting');
    return this.#db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('mailboxes').set(columns).where('login', '=', login).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await insertAudit(trx, audit);
      return true;
    });
  }

  async setLockedOut(login: string, lockedOut: boolean): Promise<boolean> {
    const result = await this.#db.updateTable('mailboxes')
      .set(lockedOut ? { locked_out: 1 } : { locked_out: 0, failed_logons: 0 })
      .where('login', '=', login).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async recordFailedLogon(login: string, maxLogonAttempts: number | null): Promise<{ failedLogons: number; lockedOut: boolean }> {
    // One statement, so concurrent failures all count and the lock is decided on the count they produce.
    const row = await this.#db.updateTable('mailboxes')
      .set({
        failed_logons: sql<number>`failed_logons + 1`,
        locked_out: maxLogonAttempts === null
          ? sql<number>`locked_out`
          : sql<number>`case when failed_logons + 1 >= ${maxLogonAttempts} then 1 else locked_out end`,
      })
      .where('login', '=', login)
      .returning(['failed_logons', 'locked_out'])
      .executeTakeFirstOrThrow();
    return { failedLogons: row.failed_logons, lockedOut: row.locked_out === 1 };
  }

  async recordGoodLogon(login: string): Promise<void> {
    // A mailbox locked meanwhile (an administrator, another instance) keeps its counter with its lock.
    await this.#db.updateTable('mailboxes').set({ failed_logons: 0 }).where('login', '=', login).where('locked_out', '=', 0).execute();
  }

  async findRememberedPinVerifiers(login: string): Promise<Buffer[]> {
    return (await this.findKeyedPinVerifiers(login)).map((v) => v.verifier);
  }

  async findKeyedPinVerifiers(login: string): Promise<KeyedVerifier[]> {
    const current = await this.findActivePinVerifier(login);
    const history = await this.#db.selectFrom('pin_history').select(['pin_verifier', 'key_id']).where('login', '=', login).orderBy('id', 'desc').execute();
    return [...(current ? [current] : []), ...history.map((h) => ({ verifier: h.pin_verifier, keyId: h.key_id }))];
  }

  async findActivePinVerifier(login: string): Promise<KeyedVerifier | undefined> {
    const row = await this.#db.selectFrom('mailboxes').select(['pin_verifier', 'pin_key_id']).where('login', '=', login).executeTakeFirst();
    return row?.pin_verifier ? { verifier: row.pin_verifier, keyId: row.pin_key_id ?? '' } : undefined;
  }

  async replaceActivePinVerifier(login: string, previous: Buffer, next: KeyedVerifier): Promise<boolean> {
    // The same PIN under another key: no new generation, so a pending change started before stays valid.
    const result = await this.#db.updateTable('mailboxes').set({ pin_verifier: next.verifier, pin_key_id: next.keyId })
      .where('login', '=', login).where('pin_verifier', '=', previous).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async beginPinChange(change: PendingPinChange, now: Date): Promise<boolean> {
    const result = await this.#db.insertInto('pending_pin_changes').values({
      id: change.id,
      login: change.login,
      reason: change.reason,
      new_pin_verifier: change.newPinVerifier,
      new_pin_key_id: change.newPinKeyId ?? this.#boundKeyId(),
      new_pin_length: change.newPinLength,
      sealed_mail: change.sealedMail ?? null,
      set_pin_expired: change.effects.pinExpired ? 1 : 0,
      set_locked_out: LOCK_EFFECT_CODES[change.effects.lockedOut],
      clear_failed_logons: change.effects.clearFailedLogons ? 1 : 0,
      clear_first_time_user: change.effects.clearFirstTimeUser ? 1 : 0,
      delivery: change.delivery,
      recipient: change.recipient ?? null,
      attempts: change.delivery === 'outbox' ? 1 : 0,
      next_attempt_at: change.delivery === 'outbox' ? now.toISOString() : null,
      give_up_at: change.giveUpAt?.toISOString() ?? null,
      last_reply: null,
      base_generation: change.baseGeneration,
      owner_host: change.ownerHost,
      owner_pid: change.ownerPid,
      lease_until: change.leaseUntil.toISOString(),
      actor: change.actor,
      source: change.source,
      created_at: now.toISOString(),
    }).onConflict((oc) => oc.column('login').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  activatePinChange(id: string, now: Date, audit: AuditEvent): Promise<ActivationResult> {
    return this.#db.transaction().execute(async (trx) => {
      // A write first, so SQLite takes its write lock at once instead of upgrading a read lock later.
      const pending = await trx.deleteFrom('pending_pin_changes').where('id', '=', id)
        .returningAll().executeTakeFirst();
      if (!pending) return 'gone';
      const mailbox = await trx.selectFrom('mailboxes')
        .innerJoin('policies', 'policies.name', 'mailboxes.policy_name')
        .select(['mailboxes.pin_verifier', 'mailboxes.pin_key_id', 'mailboxes.pin_generation', 'policies.pin_history_count'])
        .where('mailboxes.login', '=', pending.login)
        // The lock the UPDATE below takes anyway, taken at the read: no other instance changes the PIN
        // between them. Only the mailbox row: locking the policy would serialise every mailbox that shares it.
        .$if(this.#rowLocks, (q) => q.forNoKeyUpdate('mailboxes'))
        .executeTakeFirstOrThrow();
      if (mailbox.pin_generation !== pending.base_generation) {
        await insertAudit(trx, { ...audit, outcome: 'superseded' });
        return 'superseded';
      }
      const at = now.toISOString();
      if (mailbox.pin_verifier !== null) {
        await trx.insertInto('pin_history')
          .values({ login: pending.login, pin_verifier: mailbox.pin_verifier, key_id: mailbox.pin_key_id ?? '', retired_at: at }).execute();
        const keep = trx.selectFrom('pin_history').select('id').where('login', '=', pending.login)
          .orderBy('id', 'desc').limit(mailbox.pin_history_count);
        await trx.deleteFrom('pin_history').where('login', '=', pending.login).where('id', 'not in', keep).execute();
      }
      const updated = await trx.updateTable('mailboxes').set({
        pin_verifier: pending.new_pin_verifier,
        pin_key_id: pending.new_pin_key_id,
        pin_length: pending.new_pin_length,
        pin_set_at: at,
        pin_expired: pending.set_pin_expired,
        // `keep` reads the lock in this statement, under the row lock: a lockout that happened after the change began stays.
        ...(pending.set_locked_out === LOCK_EFFECT_CODES.keep ? {} : { locked_out: pending.set_locked_out }),
        ...(pending.clear_failed_logons !== 1 ? {}
          : pending.set_locked_out === LOCK_EFFECT_CODES.keep ? { failed_logons: sql<number>`case when locked_out = 1 then failed_logons else 0 end` }
          : { failed_logons: 0 }),
        ...(pending.clear_first_time_user === 1 ? { first_time_user: 0 } : {}),
        pin_generation: sql<number>`pin_generation + 1`,
      }).where('login', '=', pending.login).where('pin_generation', '=', pending.base_generation).executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new Error(`mailbox ${pending.login} changed during activation`);
      await insertAudit(trx, audit);
      return 'activated';
    });
  }

  async discardPinChange(id: string, audit: AuditEvent): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const gone = await trx.deleteFrom('pending_pin_changes').where('id', '=', id).executeTakeFirst();
      if (Number(gone.numDeletedRows) !== 1) return false;
      await insertAudit(trx, audit);
      return true;
    });
  }

  async findAbandonedPinChanges(now: Date, host: string, isProcessAlive: (pid: number) => boolean) {
    const rows = await this.#db.selectFrom('pending_pin_changes')
      .select(['id', 'login', 'reason', 'owner_pid', 'owner_host', 'lease_until', 'delivery']).execute();
    const at = now.toISOString();
    const deadOwner = (r: (typeof rows)[number]) => r.owner_host === host && !isProcessAlive(r.owner_pid);
    return rows
      .filter((r) => (r.delivery === 'inline' ? r.lease_until < at || deadOwner(r) : r.lease_until >= at && deadOwner(r)))
      .map((r) => ({ id: r.id, login: r.login, reason: r.reason as PendingPinChange['reason'], ownerPid: r.owner_pid, delivery: r.delivery }));
  }

  async supersedeQueuedPinChange(login: string, now: Date, audit: AuditEvent): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const gone = await trx.deleteFrom('pending_pin_changes')
        .where('login', '=', login).where('delivery', '=', 'outbox').where('lease_until', '<', now.toISOString())
        .executeTakeFirst();
      if (Number(gone.numDeletedRows) !== 1) return false;
      await insertAudit(trx, audit);
      return true;
    });
  }

  async claimDueMail(now: Date, owner: { host: string; pid: number }, leaseUntil: Date, limit: number): Promise<ClaimedMail[]> {
    // With row locks the pick and the claims are one transaction, so the locks last until the claims commit.
    // SQLite runs them as single statements: a read transaction that later writes can fail to upgrade there.
    if (this.#rowLocks) return this.#db.transaction().execute((trx) => this.#claimDueMail(trx, now, owner, leaseUntil, limit));
    return this.#claimDueMail(this.#db, now, owner, leaseUntil, limit);
  }

  async #claimDueMail(db: Kysely<Database>, now: Date, owner: { host: string; pid: number }, leaseUntil: Date, limit: number): Promise<ClaimedMail[]> {
    const at = now.toISOString();
    const due = await db.selectFrom('pending_pin_changes').select('id')
      .where('delivery', '=', 'outbox').where('next_attempt_at', '<=', at).where('lease_until', '<', at)
      .orderBy('next_attempt_at').limit(limit)
      // Rows another worker is claiming right now are passed over, not waited for: it takes them.
      .$if(this.#rowLocks, (q) => q.forUpdate().skipLocked())
      .execute();
    const claimed: ClaimedMail[] = [];
    for (const { id } of due) {
      // The same conditions again: whoever updates first owns the row; the other worker changes nothing.
      const row = await db.updateTable('pending_pin_changes')
        .set({ owner_host: owner.host, owner_pid: owner.pid, lease_until: leaseUntil.toISOString(), attempts: sql<number>`attempts + 1` })
        .where('id', '=', id).where('next_attempt_at', '<=', at).where('lease_until', '<', at)
        .returningAll().executeTakeFirst();
      if (row?.sealed_mail) claimed.push({ ...toQueuedMail(row, now), sealedMail: row.sealed_mail });
    }
    return claimed;
  }

  async scheduleMailRetry(id: string, nextAttemptAt: Date, reply: string): Promise<void> {
    await this.#db.updateTable('pending_pin_changes')
      .set({ next_attempt_at: nextAttemptAt.toISOString(), last_reply: reply, lease_until: RELEASED })
      .where('id', '=', id).execute();
  }

  async retryMailNow(id: string, now: Date): Promise<boolean> {
    const result = await this.#db.updateTable('pending_pin_changes')
      .set({ next_attempt_at: now.toISOString() })
      .where('id', '=', id).where('delivery', '=', 'outbox').executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async listQueuedMail(now: Date): Promise<QueuedMail[]> {
    const rows = await this.#db.selectFrom('pending_pin_changes').selectAll()
      .where('delivery', '=', 'outbox').orderBy('created_at').execute();
    return rows.map((row) => toQueuedMail(row, now));
  }

  async countPendingPinChanges(login?: string): Promise<number> {
    let query = this.#db.selectFrom('pending_pin_changes').select((eb) => eb.fn.countAll<number>().as('n'));
    if (login !== undefined) query = query.where('login', '=', login);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  async addApiKey(key: { id: string; name: string; verifier: Buffer; keyId?: string }, now: Date): Promise<boolean> {
    // A revoked key gives its name back; the audit trail keeps its history.
    await this.#db.deleteFrom('api_keys').where('name', '=', key.name).where('revoked_at', 'is not', null).execute();
    const result = await this.#db.insertInto('api_keys')
      .values({ id: key.id, name: key.name, verifier: key.verifier, key_id: key.keyId ?? this.#boundKeyId(), created_at: now.toISOString(), revoked_at: null })
      .onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async findApiKeyVerifier(id: string): Promise<KeyedVerifier | undefined> {
    const row = await this.#db.selectFrom('api_keys').select(['verifier', 'key_id']).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return row && { verifier: row.verifier, keyId: row.key_id };
  }

  async replaceApiKeyVerifier(id: string, previous: Buffer, next: KeyedVerifier): Promise<boolean> {
    const result = await this.#db.updateTable('api_keys').set({ verifier: next.verifier, key_id: next.keyId })
      .where('id', '=', id).where('revoked_at', 'is', null).where('verifier', '=', previous).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.#db.selectFrom('api_keys').select(['id', 'name', 'created_at', 'revoked_at']).orderBy('name').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at), revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at) }));
  }

  async revokeApiKey(name: string, now: Date): Promise<boolean> {
    const result = await this.#db.updateTable('api_keys').set({ revoked_at: now.toISOString() })
      .where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async endWebSession(sessionId: string, expiresAt: Date, now: Date): Promise<void> {
    await this.#db.deleteFrom('web_session_ends').where('expires_at', '<', now.toISOString()).execute();
    await this.#db.insertInto('web_session_ends').values({ session_id: sessionId, expires_at: expiresAt.toISOString() })
      .onConflict((oc) => oc.column('session_id').doNothing()).execute();
  }

  async isWebSessionEnded(sessionId: string): Promise<boolean> {
    return (await this.#db.selectFrom('web_session_ends').select('session_id').where('session_id', '=', sessionId).executeTakeFirst()) !== undefined;
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await insertAudit(this.#db, event);
  }

  async listAudit(filter: { login?: string; since?: Date; limit?: number }): Promise<StoredAuditEvent[]> {
    // Newest first so that a limit keeps the latest events; returned oldest first.
    let query = this.#db.selectFrom('audit_events').selectAll().orderBy('id', 'desc');
    if (filter.login !== undefined) query = query.where('login', '=', filter.login);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since.toISOString());
    if (filter.limit !== undefined) query = query.limit(filter.limit);
    return (await query.execute()).reverse().map(toAuditEvent);
  }

  async listAuditPage(filter: AuditFilter & { afterId?: number; limit: number }): Promise<StoredAuditEvent[]> {
    let query = this.#auditMatching(filter).selectAll().orderBy('id', 'asc').limit(filter.limit);
    if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId);
    return (await query.execute()).map(toAuditEvent);
  }

  async findAuditIdBeforeNewest(filter: AuditFilter, count: number): Promise<number | undefined> {
    const row = await this.#auditMatching(filter).select('id').orderBy('id', 'desc').limit(1).offset(count).executeTakeFirst();
    return row === undefined ? undefined : Number(row.id);
  }

  async findLastMailEvent(login: string): Promise<StoredAuditEvent | undefined> {
    // The outcome term matches the partial index audit_mail_by_login (migration 0006) word for word, so both engines use it.
    const row = await this.#db.selectFrom('audit_events').selectAll()
      .where('login', '=', login)
      .where(sql<boolean>`outcome in ('success', 'mail-failed')`)
      .where((eb) => eb.or([eb('outcome', '=', 'mail-failed'), eb('detail', 'like', '%"messageId":%')]))
      .orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row === undefined ? undefined : toAuditEvent(row);
  }

  async pruneAudit(before: Date, limit: number): Promise<number> {
    // In batches by id, so one prune of a year of events never holds the table for long.
    const oldest = this.#db.selectFrom('audit_events').select('id').where('at', '<', before.toISOString()).orderBy('at').orderBy('id').limit(limit);
    const result = await this.#db.deleteFrom('audit_events').where('id', 'in', oldest).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  #auditMatching(filter: AuditFilter) {
    let query = this.#db.selectFrom('audit_events');
    if (filter.login !== undefined) query = query.where('login', '=', filter.login);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since.toISOString());
    return query;
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }

  async checkReady(): Promise<{ pendingMigrations: string[] }> {
    await sql`select 1`.execute(this.#db);
    return { pendingMigrations: await this.#pendingMigrations() };
  }

  async countQueuedMail(): Promise<number> {
    const row = await this.#db.selectFrom('pending_pin_changes').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('delivery', '=', 'outbox').executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

async function insertAudit(db: Kysely<Database>, event: AuditEvent): Promise<void> {
  await db.insertInto('audit_events').values({
    at: event.at.toISOString(),
    event: event.event,
    outcome: event.outcome,
    login: event.login,
    actor: event.actor,
    source: event.source,
    detail: JSON.stringify(event.detail ?? {}),
  }).execute();
}

function toAuditEvent(row: Selectable<AuditTable>): StoredAuditEvent {
  return {
    id: Number(row.id),
    at: new Date(row.at),
    event: row.event,
    outcome: row.outcome,
    login: row.login,
    actor: row.actor,
    source: row.source,
    detail: JSON.parse(row.detail) as Record<string, string | number | boolean>,
  };
}

function toPolicy(row: Selectable<PolicyTable>): PinPolicy {
  return {
    name: row.name,
    minPinLength: row.min_pin_length,
    pinLifetimeDays: row.pin_lifetime_days,
    pinHistoryCount: row.pin_history_count,
    allowCommonPatterns: row.allow_common_patterns === 1,
    strictRules: row.strict_rules === 1,
    logonFailuresBeforePinReset: row.logon_failures_before_pin_reset,
    maxLogonAttempts: row.max_logon_attempts,
    resetPinText: row.reset_pin_text,
    umEnabledText: row.um_enabled_text,
  };
}

function fromPolicy(policy: PinPolicy): Selectable<PolicyTable> {
  return {
    name: policy.name,
    min_pin_length: policy.minPinLength,
    pin_lifetime_days: policy.pinLifetimeDays,
    pin_history_count: policy.pinHistoryCount,
    allow_common_patterns: policy.allowCommonPatterns ? 1 : 0,
    strict_rules: policy.strictRules ? 1 : 0,
    logon_failures_before_pin_reset: policy.logonFailuresBeforePinReset,
    max_logon_attempts: policy.maxLogonAttempts,
    reset_pin_text: policy.resetPinText,
    um_enabled_text: policy.umEnabledText,
  };
}

function fromMailboxSettings(settings: MailboxSettings) {
  return {
    email: settings.email,
    notify_email: settings.notifyEmail,
    extension: settings.extension,
    language: settings.language,
    policy_name: settings.policyName,
    first_name: settings.firstName,
    last_name: settings.lastName,
  };
}

type MailboxRow = Selectable<PolicyTable> & Pick<Selectable<MailboxTable>,
  'login' | 'email' | 'notify_email' | 'extension' | 'language' | 'first_name' | 'last_name' | 'pin_salt' | 'pin_verifier'
  | 'pin_length' | 'pin_set_at' | 'pin_expired' | 'first_time_user' | 'locked_out' | 'failed_logons' | 'pin_generation'
  | 'oof_status' | 'missed_call_notification' | 'play_on_phone_dial_string' | 'telephone_access_folder'>;

function toMailboxState(row: MailboxRow): MailboxState {
  return {
    login: row.login,
    email: row.email,
    notifyEmail: row.notify_email,
    extension: row.extension,
    language: row.language,
    firstName: row.first_name,
    lastName: row.last_name,
    policy: toPolicy(row),
    pinSalt: row.pin_salt,
    hasPin: row.pin_verifier !== null,
    pinLength: row.pin_length,
    pinSetAt: row.pin_set_at === null ? null : new Date(row.pin_set_at),
    pinExpired: row.pin_expired === 1,
    firstTimeUser: row.first_time_user === 1,
    lockedOut: row.locked_out === 1,
    failedLogons: row.failed_logons,
    pinGeneration: row.pin_generation,
    voiceMail: {
      oofStatus: row.oof_status === 1,
      missedCallNotificationEnabled: row.missed_call_notification === 1,
      playOnPhoneDialString: row.play_on_phone_dial_string,
      telephoneAccessFolder: row.telephone_access_folder,
    },
  };
}

function toQueuedMail(row: Selectable<PendingPinChangeTable>, now: Date): QueuedMail {
  return {
    id: row.id,
    login: row.login,
    reason: row.reason as QueuedMail['reason'],
    recipient: row.recipient ?? '',
    attempts: row.attempts,
    nextAttemptAt: new Date(row.next_attempt_at ?? row.created_at),
    giveUpAt: new Date(row.give_up_at ?? row.created_at),
    lastReply: row.last_reply,
    createdAt: new Date(row.created_at),
    inFlight: row.lease_until >= now.toISOString(),
  };
}
