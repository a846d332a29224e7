/**
 * The one storage interface (STYLE 8), phrased in the operations' words: one named interface per
 * storage role, so an operation can say which roles it needs, and `PinStore`, all of them together.
 * Engines live behind it (SQLite and PostgreSQL) on one Kysely code path (kysely/, one file per role).
 */
import type { KeyedVerifier } from '../crypto/kdf.ts';
import type { PinPolicy } from '../pin/index.ts';

export type { KeyedVerifier };

export interface MailboxState {
  readonly login: string;
  readonly email: string;
  readonly notifyEmail: string | null;
  readonly extension: string;
  readonly language: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly policy: PinPolicy;
  readonly pinSalt: Buffer;
  readonly hasPin: boolean;
  readonly pinLength: number | null;
  readonly pinSetAt: Date | null;
  readonly pinExpired: boolean;
  readonly firstTimeUser: boolean;
  readonly lockedOut: boolean;
  readonly failedLogons: number;
  readonly pinGeneration: number;
  readonly voiceMail: VoiceMailSettings;
}

/** The mailbox's [MS-OXWUMS] settings: what GetUMProperties answers and its four setters change. */
export interface VoiceMailSettings {
  /** Callers hear the away (OOF) greeting. */
  readonly oofStatus: boolean;
  readonly missedCallNotificationEnabled: boolean;
  /** The default number PlayOnPhone calls; '' when never set. */
  readonly playOnPhoneDialString: string;
  /** base64 of the folder the phone reads mail from; '' when never set. */
  readonly telephoneAccessFolder: string;
}

export interface MailboxSettings {
  readonly email: string;
  readonly notifyEmail: string | null;
  readonly extension: string;
  readonly language: string;
  readonly policyName: string;
  readonly firstName: string;
  readonly lastName: string;
}

export interface NewMailbox extends MailboxSettings {
  readonly login: string;
  readonly pinSalt: Buffer;
}

/** reset: the caller's own (SOAP); admin-reset: the CLI; auto-reset: after failed phone logons; change: the user's own choice by phone. */
export type PinChangeReason = 'reset' | 'welcome' | 'admin-reset' | 'auto-reset' | 'change';

/**
 * What a change does to the lock when it activates (docs/lockout.md): `keep` leaves it as it is then, not as
 * it was when the change began, so a change delivered late never undoes a lockout that happened meanwhile.
 */
export type LockEffect = 'keep' | 'lock' | 'unlock';

/** What the mailbox looks like once a change activates. */
export interface PinChangeEffects {
  readonly pinExpired: boolean;
  readonly lockedOut: LockEffect;
  /** Under `keep` on a mailbox locked at activation, the counter stays too: a locked mailbox keeps its record. */
  readonly clearFailedLogons: boolean;
  readonly clearFirstTimeUser: boolean;
}

/** A new PIN waiting for its mail to be handed off (DESIGN §2 step 4). */
export interface PendingPinChange {
  readonly id: string;
  readonly login: string;
  readonly reason: PinChangeReason;
  readonly newPinVerifier: Buffer;
  /** The server key the verifier was made under; the key the database is bound to when absent. */
  readonly newPinKeyId?: string;
  readonly newPinLength: number;
  /** The mail with the PIN, sealed; absent when no mail carries the change (a PIN the user or admin chose). */
  readonly sealedMail?: Buffer;
  readonly effects: PinChangeEffects;
  /** inline: the caller waits for one hand-off; outbox: retried by a worker until `giveUpAt`. */
  readonly delivery: 'inline' | 'outbox';
  readonly recipient?: string;
  readonly giveUpAt?: Date;
  readonly baseGeneration: number;
  readonly ownerHost: string;
  readonly ownerPid: number;
  /** After this a sweeper may discard the change as abandoned. */
  readonly leaseUntil: Date;
  readonly actor: string;
  readonly source: string;
}

export interface AuditEvent {
  readonly at: Date;
  readonly event: string;
  readonly outcome: string;
  readonly login: string | null;
  /** Who acted: a login, `admin` (the CLI) or `system`. */
  readonly actor: string;
  /** Where from: a client address, `cli` or `system`. */
  readonly source: string;
  /** Never a PIN, a password or a verifier. */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

export interface AuditFilter {
  readonly login?: string;
  readonly since?: Date;
}

export interface StoredAuditEvent extends AuditEvent {
  readonly id: number;
}

/** How many verifiers each server key id still protects: what `umpin secret status` shows and `retire` checks. */
export interface VerifierKeyCounts {
  readonly passwords: Readonly<Record<string, number>>;
  readonly pins: Readonly<Record<string, number>>;
  readonly history: Readonly<Record<string, number>>;
  readonly pending: Readonly<Record<string, number>>;
  /** Active API keys only: a revoked key is never checked again. */
  readonly apiKeys: Readonly<Record<string, number>>;
}

export type RebindKeyResult = 'rebound' | 'conflict';

export type BindKeyResult = { readonly status: 'bound' | 'matched' } | { readonly status: 'mismatch'; readonly expected: string };

export type ActivationResult = 'activated' | 'gone' | 'superseded';

export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export type DeletePolicyResult = 'deleted' | 'missing' | 'in-use';

/** An outbox row as a worker or an administrator sees it. */
export interface QueuedMail {
  readonly id: string;
  readonly login: string;
  readonly reason: PinChangeReason;
  readonly recipient: string;
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly giveUpAt: Date;
  readonly lastReply: string | null;
  readonly createdAt: Date;
  /** A worker holds it right now. */
  readonly inFlight: boolean;
}

export interface ClaimedMail extends QueuedMail {
  readonly sealedMail: Buffer;
}

/**
 * A pending change that may have been abandoned: an inline one whose lease ran out, or one whose owner
 * process ran on the host asked about. Which of them are abandoned is recover-abandoned.ts's decision.
 */
export type RecoveryCandidate = Pick<PendingPinChange, 'id' | 'login' | 'reason' | 'ownerHost' | 'ownerPid' | 'leaseUntil' | 'delivery'>;

/** The server secret this database is bound to (docs/secret-rotation.md), and what each key still protects. */
export interface KeyBindingStore {
  /** Records the server secret's id on first use; later calls say whether the same secret is in use. */
  bindServerKey(keyId: string): Promise<BindKeyResult>;
  /** The key id this database was bound to, if any. */
  findServerKeyId(): Promise<string | undefined>;
  /**
   * Secret rotation, in one transaction: the database is bound to `to` only if it is still bound to
   * `from` (else 'conflict' and nothing changes); every sealed mail of a pending change is replaced by
   * `reseal(id, sealed)`; `audit` is written.
   */
  rebindServerKey(from: string, to: string, reseal: (id: string, sealed: Buffer) => Buffer, audit: AuditEvent): Promise<RebindKeyResult>;
  /** Every sealed mail of a pending change, to tell which keys they need. */
  listSealedMail(): Promise<Array<{ readonly id: string; readonly sealedMail: Buffer }>>;
  countVerifiersByKey(): Promise<VerifierKeyCounts>;
}

/** Who may sign in to the web service and the self-service pages, and which self-service sessions ended early. */
export interface UserStore {
  /** `keyId`: the server key the verifier was made under; the key the database is bound to when absent. */
  addUser(login: string, passwordVerifier: string, now: Date, keyId?: string): Promise<boolean>;
  findPassword(login: string): Promise<{ verifier: string; keyId: string } | undefined>;
  /** Re-hash on use: replaces the verifier only if it is still `previous` (no password change in between). */
  replacePasswordVerifier(login: string, previous: string, next: { verifier: string; keyId: string }, now: Date): Promise<boolean>;
  /**
   * Self-service sign-out: the session is refused from now on, by every instance, until `expiresAt`
   * (when its cookie would have expired anyway); ended sessions past that are forgotten.
   */
  endWebSession(sessionId: string, expiresAt: Date, now: Date): Promise<void>;
  isWebSessionEnded(sessionId: string): Promise<boolean>;
}

export interface PolicyStore {
  findPolicy(name: string): Promise<PinPolicy | undefined>;
  listPolicies(): Promise<PinPolicy[]>;
  createPolicy(policy: PinPolicy): Promise<boolean>;
  updatePolicy(policy: PinPolicy): Promise<boolean>;
  deletePolicy(name: string): Promise<DeletePolicyResult>;
}

/** Mailboxes: their settings, their voice mail settings and their lockout state. */
export interface MailboxStore {
  /** False when the login or the extension is taken. */
  createMailbox(mailbox: NewMailbox, now: Date): Promise<boolean>;
  /** False when the mailbox does not exist; throws on a taken extension. */
  updateMailbox(login: string, settings: MailboxSettings): Promise<boolean>;
  /** Disable: the mailbox, its PIN and history are deleted. */
  deleteMailbox(login: string): Promise<boolean>;
  findMailbox(login: string): Promise<MailboxState | undefined>;
  findMailboxLoginByExtension(extension: string): Promise<string | undefined>;
  /**
   * One page of the mailboxes, by login in byte order: at most `limit` with a login
   * after `after` (keyset paging, so a listing of any size holds one page at a time).
   */
  listMailboxesPage(page: { readonly after?: string; readonly limit: number }): Promise<MailboxState[]>;
  /**
   * Changes the settings given, and writes `audit`, in one transaction. False (nothing written)
   * when the mailbox does not exist.
   */
  updateVoiceMailSettings(login: string, settings: Partial<VoiceMailSettings>, audit: AuditEvent): Promise<boolean>;
  /** Lock or unlock; unlocking also clears the failed-logon counter. */
  setLockedOut(login: string, lockedOut: boolean): Promise<boolean>;
  /**
   * One more failed phone logon, atomically; locks the mailbox when the
   * count reaches `maxLogonAttempts`. Returns the new count and lock state.
   */
  recordFailedLogon(login: string, maxLogonAttempts: number | null): Promise<{ failedLogons: number; lockedOut: boolean }>;
  recordGoodLogon(login: string): Promise<void>;
}

/** A mailbox's PIN: its verifiers, and the changes of it from begun to activated or discarded. */
export interface PinChangeStore {
  /** The current PIN's verifier alone: a phone logon compares with nothing else, so it need not read the history. */
  findActivePinVerifier(login: string): Promise<KeyedVerifier | undefined>;
  /** The current PIN's verifier (if any) first, then the history's, newest first, each with its key id. */
  findKeyedPinVerifiers(login: string): Promise<KeyedVerifier[]>;
  /** Re-hash on use: the same PIN under another key; only if the active verifier is still `previous`. */
  replaceActivePinVerifier(login: string, previous: Buffer, next: KeyedVerifier): Promise<boolean>;

  /** False when another change of the same mailbox is pending. */
  beginPinChange(change: PendingPinChange, now: Date): Promise<boolean>;
  /**
   * In one transaction: the pending verifier becomes the PIN, the old one goes
   * to history (trimmed to the policy's PINHistoryCount), the change's effects
   * are applied, the sealed mail is wiped and `audit` is written.
   */
  activatePinChange(id: string, now: Date, audit: AuditEvent): Promise<ActivationResult>;
  /** Discards a pending change (the old PIN stays) and writes `audit`. False if it was gone already. */
  discardPinChange(id: string, audit: AuditEvent): Promise<boolean>;
  /** The pending changes that may be abandoned (RecoveryCandidate): inline ones whose lease ran out before `now`, and every one owned by a process on `host`. */
  findRecoveryCandidates(now: Date, host: string): Promise<RecoveryCandidate[]>;
  /** Drops a queued (not in-flight) outbox change of the mailbox, so a newer change can start. */
  supersedeQueuedPinChange(login: string, now: Date, audit: AuditEvent): Promise<boolean>;
}

/** The outbox: pending changes whose mail a worker delivers with retries. */
export interface OutboxStore {
  /**
   * Takes up to `limit` due outbox rows for this worker until `leaseUntil`.
   * A row is claimed by one conditional update, so two workers never both get it.
   */
  claimDueMail(now: Date, owner: { host: string; pid: number }, leaseUntil: Date, limit: number): Promise<ClaimedMail[]>;
  /** After a transient failure: count the attempt, remember the answer, release the row until `nextAttemptAt`. */
  scheduleMailRetry(id: string, nextAttemptAt: Date, reply: string): Promise<void>;
  /** Makes a queued row due now; a row a live worker holds stays with it. */
  retryMailNow(id: string, now: Date): Promise<boolean>;
  listQueuedMail(now: Date): Promise<QueuedMail[]>;
  /** PIN mails in the outbox (queued or in flight), for the metrics; cheaper than listing them. */
  countQueuedMail(): Promise<number>;
}

export interface ApiKeyStore {
  /** `keyId`: the server key the HMAC was made under; the key the database is bound to when absent. */
  addApiKey(key: { id: string; name: string; verifier: Buffer; keyId?: string }, now: Date): Promise<boolean>;
  /** An active key's verifier; undefined for an unknown or revoked one. */
  findApiKeyVerifier(id: string): Promise<KeyedVerifier | undefined>;
  /** Re-hash on use: only if the active key's verifier is still `previous`. */
  replaceApiKeyVerifier(id: string, previous: Buffer, next: KeyedVerifier): Promise<boolean>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  revokeApiKey(name: string, now: Date): Promise<boolean>;
}

export interface AuditStore {
  appendAudit(event: AuditEvent): Promise<void>;
  /** Oldest first; with `limit`, the latest `limit` events. */
  listAudit(filter: { login?: string; since?: Date; limit?: number }): Promise<StoredAuditEvent[]>;
  /**
   * One page of the audit trail, oldest first: at most `limit` events with an id above `afterId`
   * (keyset paging, so a page costs the same however deep into the table it is).
   */
  listAuditPage(filter: AuditFilter & { readonly afterId?: number; readonly limit: number }): Promise<StoredAuditEvent[]>;
  /** The id just below the newest `count` events matching the filter (a page's `afterId`), or undefined when there are fewer. */
  findAuditIdBeforeNewest(filter: AuditFilter, count: number): Promise<number | undefined>;
  /** The login's newest audit event about a PIN mail: handed off (a success with a messageId) or given up (mail-failed). */
  findLastMailEvent(login: string): Promise<StoredAuditEvent | undefined>;
  /** Deletes at most `limit` of the oldest events from before `before`; how many it deleted. */
  pruneAudit(before: Date, limit: number): Promise<number>;
}

/** The connection itself. */
export interface StoreLifecycle {
  close(): Promise<void>;
  /** For /readyz: throws when the database does not answer; else the migrations this version knows that have not run here. */
  checkReady(): Promise<{ pendingMigrations: string[] }>;
}

/** Every role: what the composition root opens and Services carries. */
export interface PinStore
  extends KeyBindingStore, UserStore, PolicyStore, MailboxStore, PinChangeStore, OutboxStore, ApiKeyStore, AuditStore, StoreLifecycle {}
