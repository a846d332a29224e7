/**
 * Rows ↔ domain values: 0/1 integers become booleans, ISO-8601 text becomes Dates, snake_case columns
 * become the PinStore's names (schema.ts describes the columns).
 */
import type { Insertable, Selectable } from 'kysely';
import type { PinPolicy } from '../../pin/index.ts';
import type { AuditEvent, LockEffect, MailboxSettings, MailboxState, QueuedMail, StoredAuditEvent } from '../pin-store.ts';
import type { AuditTable, MailboxTable, PendingPinChangeTable, PolicyTable } from '../schema.ts';

/**
 * `pending_pin_changes.set_locked_out`: 0 and 1 are what the column always held (unlock, lock: the value the
 * lock takes), 2 leaves the lock as activation finds it (migration 0007 gives it to queued auto-resets).
 */
export const LOCK_EFFECT_CODES: Readonly<Record<LockEffect, number>> = Object.freeze({ unlock: 0, lock: 1, keep: 2 });

export function fromAuditEvent(event: AuditEvent): Insertable<AuditTable> {
  return {
    at: event.at.toISOString(),
    event: event.event,
    outcome: event.outcome,
    login: event.login,
    actor: event.actor,
    source: event.source,
    detail: JSON.stringify(event.detail ?? {}),
  };
}

export function toAuditEvent(row: Selectable<AuditTable>): StoredAuditEvent {
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

export function toPolicy(row: Selectable<PolicyTable>): PinPolicy {
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

export function fromPolicy(policy: PinPolicy): Selectable<PolicyTable> {
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

export function fromMailboxSettings(settings: MailboxSettings) {
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

/** A mailbox joined with its policy (mailboxes.ts `selectMailboxes`). */
export type MailboxRow = Selectable<PolicyTable> & Pick<Selectable<MailboxTable>,
  'login' | 'email' | 'notify_email' | 'extension' | 'language' | 'first_name' | 'last_name' | 'pin_salt' | 'pin_verifier'
  | 'pin_length' | 'pin_set_at' | 'pin_expired' | 'first_time_user' | 'locked_out' | 'failed_logons' | 'pin_generation'
  | 'oof_status' | 'missed_call_notification' | 'play_on_phone_dial_string' | 'telephone_access_folder'>;

export function toMailboxState(row: MailboxRow): MailboxState {
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

export function toQueuedMail(row: Selectable<PendingPinChangeTable>, now: Date): QueuedMail {
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
