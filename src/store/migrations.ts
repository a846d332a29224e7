import { Migrator, sql, type Kysely, type Migration, type MigrationInfo, type MigrationResultSet } from 'kysely';
import { DEFAULT_POLICY } from '../pin/index.ts';
import { SERVER_KEY_ID } from './schema.ts';

export type Engine = 'sqlite' | 'postgres';

/** Migrations live in code, numbered; an engine difference is a parameter, never a second file. */
function migrations(engine: Engine): Record<string, Migration> {
  const bytes = engine === 'postgres' ? 'bytea' : 'blob';
  const autoId = engine === 'postgres' ? 'bigserial' : 'integer';
  // SQLite compares and sorts text by its bytes (BINARY); PostgreSQL by the database's locale unless told
  // otherwise, so in an en_US database 'Bob' would sort after 'alice'. "C" makes PostgreSQL agree with SQLite
  // on every ORDER BY and comparison, and ISO-8601 timestamps compare as the instants they name.
  const text = engine === 'postgres' ? sql.raw('text collate "C"') : sql.raw('text');
  return {
    '0001-initial': {
      async up(db: Kysely<unknown>) {
        await db.schema.createTable('umpin_meta')
          .addColumn('key', text, (c) => c.primaryKey())
          .addColumn('value', text, (c) => c.notNull())
          .execute();
        await db.schema.createTable('users')
          .addColumn('login', text, (c) => c.primaryKey())
          .addColumn('password_verifier', text, (c) => c.notNull())
          .addColumn('created_at', text, (c) => c.notNull())
          .addColumn('updated_at', text, (c) => c.notNull())
          .execute();
        await db.schema.createTable('policies')
          .addColumn('name', text, (c) => c.primaryKey())
          .addColumn('min_pin_length', 'integer', (c) => c.notNull())
          .addColumn('pin_lifetime_days', 'integer')
          .addColumn('pin_history_count', 'integer', (c) => c.notNull())
          .addColumn('allow_common_patterns', 'integer', (c) => c.notNull())
          .addColumn('logon_failures_before_pin_reset', 'integer')
          .addColumn('max_logon_attempts', 'integer')
          .addColumn('reset_pin_text', text, (c) => c.notNull())
          .addColumn('um_enabled_text', text, (c) => c.notNull())
          .execute();
        await db.schema.createTable('mailboxes')
          .addColumn('login', text, (c) => c.primaryKey())
          .addColumn('email', text, (c) => c.notNull())
          .addColumn('extension', text, (c) => c.notNull())
          .addColumn('language', text, (c) => c.notNull())
          .addColumn('policy_name', text, (c) => c.notNull().references('policies.name'))
          .addColumn('pin_salt', sql.raw(bytes), (c) => c.notNull())
          .addColumn('pin_verifier', sql.raw(bytes))
          .addColumn('pin_set_at', text)
          .addColumn('pin_expired', 'integer', (c) => c.notNull())
          .addColumn('first_time_user', 'integer', (c) => c.notNull())
          .addColumn('locked_out', 'integer', (c) => c.notNull())
          .addColumn('failed_logons', 'integer', (c) => c.notNull())
          .addColumn('pin_generation', 'integer', (c) => c.notNull())
          .addColumn('created_at', text, (c) => c.notNull())
          .execute();
        await db.schema.createTable('pin_history')
          .addColumn('id', sql.raw(autoId), (c) => (engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('login', text, (c) => c.notNull().references('mailboxes.login').onDelete('cascade'))
          .addColumn('pin_verifier', sql.raw(bytes), (c) => c.notNull())
          .addColumn('retired_at', text, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('pin_history_by_login').on('pin_history').columns(['login', 'id']).execute();
        await db.schema.createTable('pending_pin_changes')
          .addColumn('id', text, (c) => c.primaryKey())
          // One pending change per mailbox: a second one is refused, never interleaved.
          .addColumn('login', text, (c) => c.notNull().unique().references('mailboxes.login').onDelete('cascade'))
          .addColumn('reason', text, (c) => c.notNull())
          .addColumn('new_pin_verifier', sql.raw(bytes), (c) => c.notNull())
          .addColumn('sealed_mail', sql.raw(bytes))
          .addColumn('base_generation', 'integer', (c) => c.notNull())
          .addColumn('owner_host', text, (c) => c.notNull())
          .addColumn('owner_pid', 'integer', (c) => c.notNull())
          .addColumn('lease_until', text, (c) => c.notNull())
          .addColumn('actor', text, (c) => c.notNull())
          .addColumn('source', text, (c) => c.notNull())
          .addColumn('created_at', text, (c) => c.notNull())
          .execute();
        await db.schema.createTable('audit_events')
          .addColumn('id', sql.raw(autoId), (c) => (engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('at', text, (c) => c.notNull())
          .addColumn('event', text, (c) => c.notNull())
          .addColumn('outcome', text, (c) => c.notNull())
          .addColumn('login', text)
          .addColumn('actor', text, (c) => c.notNull())
          .addColumn('source', text, (c) => c.notNull())
          .addColumn('detail', text, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_by_login').on('audit_events').columns(['login', 'at']).execute();
        await db.insertInto('policies' as never).values({
          name: DEFAULT_POLICY.name,
          min_pin_length: DEFAULT_POLICY.minPinLength,
          pin_lifetime_days: DEFAULT_POLICY.pinLifetimeDays,
          pin_history_count: DEFAULT_POLICY.pinHistoryCount,
          allow_common_patterns: DEFAULT_POLICY.allowCommonPatterns ? 1 : 0,
          logon_failures_before_pin_reset: DEFAULT_POLICY.logonFailuresBeforePinReset,
          max_logon_attempts: DEFAULT_POLICY.maxLogonAttempts,
          reset_pin_text: DEFAULT_POLICY.resetPinText,
          um_enabled_text: DEFAULT_POLICY.umEnabledText,
        } as never).execute();
      },
    },
    '0002-pin-life': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('policies').addColumn('strict_rules', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        for (const column of ['first_name', 'last_name']) {
          await db.schema.alterTable('mailboxes').addColumn(column, text, (c) => c.notNull().defaultTo('')).execute();
        }
        await db.schema.alterTable('mailboxes').addColumn('notify_email', text).execute();
        await db.schema.alterTable('mailboxes').addColumn('pin_length', 'integer').execute();
        // The phone side finds a mailbox by its extension, so an extension names one mailbox.
        await db.schema.createIndex('mailboxes_by_extension').on('mailboxes').column('extension').unique().execute();
        for (const [column, initial] of [
          ['new_pin_length', 0], ['set_pin_expired', 1], ['set_locked_out', 0], ['clear_failed_logons', 1], ['clear_first_time_user', 0],
        ] as const) {
          await db.schema.alterTable('pending_pin_changes').addColumn(column, 'integer', (c) => c.notNull().defaultTo(initial)).execute();
        }
        await db.schema.createTable('api_keys')
          .addColumn('id', text, (c) => c.primaryKey())
          .addColumn('name', text, (c) => c.notNull().unique())
          .addColumn('verifier', sql.raw(bytes), (c) => c.notNull())
          .addColumn('created_at', text, (c) => c.notNull())
          .addColumn('revoked_at', text)
          .execute();
      },
    },
    '0003-outbox': {
      async up(db: Kysely<unknown>) {
        // A pending change handed off inline (the SOAP caller waits) or through the durable outbox (retried by a worker).
        await db.schema.alterTable('pending_pin_changes').addColumn('delivery', text, (c) => c.notNull().defaultTo('inline')).execute();
        await db.schema.alterTable('pending_pin_changes').addColumn('recipient', text).execute();
        await db.schema.alterTable('pending_pin_changes').addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('pending_pin_changes').addColumn('next_attempt_at', text).execute();
        await db.schema.alterTable('pending_pin_changes').addColumn('give_up_at', text).execute();
        await db.schema.alterTable('pending_pin_changes').addColumn('last_reply', text).execute();
        await db.schema.createIndex('pending_due').on('pending_pin_changes').columns(['delivery', 'next_attempt_at']).execute();
      },
    },
    '0004-verifier-key-ids': {
      async up(db: Kysely<unknown>) {
        // Every verifier remembers the server key it was made under, so a rotated keyring verifies it with
        // that key (docs/secret-rotation.md). Rows made before this migration were all made under the key
        // the database is bound to; a database never bound holds no verifier yet (the '' is never read).
        const bound = sql<string>`coalesce((select value from umpin_meta where key = ${sql.lit(SERVER_KEY_ID)}), '')`;
        for (const [table, column, nullable] of [
          ['users', 'password_key_id', false], ['mailboxes', 'pin_key_id', true], ['pin_history', 'key_id', false], ['pending_pin_changes', 'new_pin_key_id', false],
          ['api_keys', 'key_id', false],
        ] as const) {
          await db.schema.alterTable(table).addColumn(column, text, (c) => (nullable ? c : c.notNull().defaultTo(''))).execute();
          await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${bound}${nullable ? sql` where pin_verifier is not null` : sql``}`.execute(db);
        }
      },
    },
    '0005-voice-mail-settings': {
      async up(db: Kysely<unknown>) {
        // The per-mailbox settings of [MS-OXWUMS] GetUMProperties and its setters. Defaults as Exchange's
        // Set-UMMailbox documents them (missed-call notifications on, the away greeting off); a string never
        // set is empty, which GetUMProperties sends as an empty element.
        await db.schema.alterTable('mailboxes').addColumn('oof_status', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('mailboxes').addColumn('missed_call_notification', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        await db.schema.alterTable('mailboxes').addColumn('play_on_phone_dial_string', text, (c) => c.notNull().defaultTo('')).execute();
        await db.schema.alterTable('mailboxes').addColumn('telephone_access_folder', text, (c) => c.notNull().defaultTo('')).execute();
      },
    },
    '0006-audit-retention': {
      async up(db: Kysely<unknown>) {
        // Retention deletes by time (UMPIN_AUDIT_RETENTION_DAYS, umpin audit prune) and `umpin audit --since` pages by time.
        await db.schema.createIndex('audit_by_at').on('audit_events').columns(['at', 'id']).execute();
        // `pin show`'s last mail is the newest of a login's few mail outcomes; phone logons ('ok', 'wrong-pin', …), the
        // bulk of the table, are not in this index, so finding it reads one entry however many logons came after.
        await sql`create index audit_mail_by_login on audit_events (login, id) where outcome in ('success', 'mail-failed')`.execute(db);
      },
    },
    '0007-lock-effect-keep': {
      async up(db: Kysely<unknown>) {
        // set_locked_out gains a third value, 2 = keep the lock as activation finds it (docs/lockout.md).
        // Automatic resets and the user's own phone changes waiting at upgrade keep it too: delivered
        // after a lockout, they must not unlock (issue 12). The column stays an integer: no schema change.
        await sql`update pending_pin_changes set set_locked_out = 2 where reason in ('auto-reset', 'change')`.execute(db);
      },
    },
    '0008-web-sessions': {
      async up(db: Kysely<unknown>) {
        // Self-service sessions live in a sealed cookie; only a session ended before its time (signed out) is
        // remembered here, until the time it would have expired anyway, so a copied cookie is refused everywhere.
        await db.schema.createTable('web_session_ends')
          .addColumn('session_id', text, (c) => c.primaryKey())
          .addColumn('expires_at', text, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_session_ends_expiry').on('web_session_ends').column('expires_at').execute();
      },
    },
  };
}

/**
 * `schema` (PostgreSQL): where the tables live. Kysely looks for its migration table in every schema
 * of the database unless told which one, so a second umpin in another schema of the same database
 * would take that one's table for its own and then fail to find it on its search_path.
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: Engine, schema?: string): Promise<MigrationResultSet> {
  return umpinMigrator(db, engine, schema).migrateToLatest();
}

function umpinMigrator(db: Kysely<unknown>, engine: Engine, schema: string | undefined): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations(engine) },
    migrationTableName: 'umpin_migration',
    migrationLockTableName: 'umpin_migration_lock',
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
}

/** What `umpin migrate --check` reports: each known migration and when it ran here, changing nothing. */
export async function listMigrations(db: Kysely<unknown>, engine: Engine, schema?: string): Promise<readonly MigrationInfo[]> {
  return umpinMigrator(db, engine, schema).getMigrations();
}
