/**
 * What every role of the Kysely store shares: the database handle and whether to take row locks.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface StoreContext {
  readonly db: Kysely<Database>;
  /**
   * Take row locks (`FOR UPDATE`, `FOR NO KEY UPDATE`, `SKIP LOCKED`) where a transaction reads a row and
   * then writes it, so that instances sharing a PostgreSQL server serialise per mailbox and outbox row
   * (DESIGN §5). SQLite has no such clause (a syntax error there) and needs none: one writer at a time.
   */
  readonly rowLocks: boolean;
}
