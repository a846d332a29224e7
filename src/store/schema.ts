/**
 * Table shapes, one code path for every engine (Kysely). Booleans are 0/1
 * integers and timestamps ISO-8601 UTC text, so SQLite and PostgreSQL hold
 * and sort the same values.
 */
import type { Generated } from 'kysely';

export interface MetaTable {
  key: string;
  value: string;
}

/** The `umpin_meta` key whose value is the id of the server secret the database is bound to (docs/secret-rotation.md). */
export const SERVER_KEY_ID = 'server_key_id';

export interface UserTable {
  login: string;
  password_verifier: string;
  /** The server key the verifier was made under (its pepper). */
  password_key_id: string;
  created_at: string;
  updated_at: string;
}

export interface PolicyTable {
  name: string;
  min_pin_length: number;
  pin_lifetime_days: number | null;
  pin_history_count: number;
  allow_common_patterns: number;
  strict_rules: number;
  logon_failures_before_pin_reset: number | null;
  max_logon_attempts: number | null;
  reset_pin_text: string;
  um_enabled_text: string;
}

export interface MailboxTable {
  login: string;
  email: string;
  extension: string;
  language: string;
  policy_name: string;
  first_name: string;
  last_name: string;
  /** Where PIN mails go instead of `email` (Exchange's NotifyEmail); null for `email`. */
  notify_email: string | null;
  pin_salt: Buffer;
  pin_length: number | null;
  pin_verifier: Buffer | null;
  /** The server key `pin_verifier` was made under; null with it. */
  pin_key_id: string | null;
  pin_set_at: string | null;
  pin_expired: number;
  first_time_user: number;
  locked_out: number;
  failed_logons: number;
  /** Bumped by every PIN change; a pending change activates only on the generation it started from. */
  pin_generation: number;
  created_at: string;
  /** [MS-OXWUMS] UMProperties, 0/1 and text ('' when never set); the columns' defaults fill a new mailbox. */
  oof_status: Generated<number>;
  missed_call_notification: Generated<number>;
  play_on_phone_dial_string: Generated<string>;
  /** base64 of a MAPI folder EntryID, kept as given (GetUMProperties' TelephoneAccessFolderEmail). */
  telephone_access_folder: Generated<string>;
}

export interface PinHistoryTable {
  id: Generated<number>;
  login: string;
  pin_verifier: Buffer;
  key_id: string;
  retired_at: string;
}

export interface PendingPinChangeTable {
  id: string;
  login: string;
  reason: string;
  new_pin_verifier: Buffer;
  new_pin_key_id: string;
  /** The mail with the PIN, AES-GCM sealed; null once handed off or abandoned. */
  sealed_mail: Buffer | null;
  base_generation: number;
  new_pin_length: number;
  /** What activation sets: the flags a reset, an admin or a user's own change leave behind. */
  set_pin_expired: number;
  /** 0 unlock, 1 lock, 2 keep (kysely/rows.ts LOCK_EFFECT_CODES). */
  set_locked_out: number;
  clear_failed_logons: number;
  clear_first_time_user: number;
  delivery: 'inline' | 'outbox';
  recipient: string | null;
  /** Outbox only: hand-off attempts so far, when the next is due, when to give up, the relay's last answer. */
  attempts: number;
  next_attempt_at: string | null;
  give_up_at: string | null;
  last_reply: string | null;
  owner_host: string;
  owner_pid: number;
  lease_until: string;
  actor: string;
  source: string;
  created_at: string;
}

export interface ApiKeyTable {
  id: string;
  name: string;
  /** HMAC-SHA256 of the key's secret part under the pepper; the key itself is shown once. */
  verifier: Buffer;
  /** The server key the HMAC was made under. */
  key_id: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AuditTable {
  id: Generated<number>;
  at: string;
  event: string;
  outcome: string;
  login: string | null;
  actor: string;
  source: string;
  detail: string;
}

/** A self-service session signed out before its time; kept until it would have expired anyway. */
export interface WebSessionEndTable {
  session_id: string;
  expires_at: string;
}

export interface Database {
  umpin_meta: MetaTable;
  users: UserTable;
  policies: PolicyTable;
  mailboxes: MailboxTable;
  pin_history: PinHistoryTable;
  pending_pin_changes: PendingPinChangeTable;
  audit_events: AuditTable;
  api_keys: ApiKeyTable;
  web_session_ends: WebSessionEndTable;
}
