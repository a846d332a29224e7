import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { openSqliteDatabase } from './sqlite-database.ts';

describe('openSqliteDatabase', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umpin-sqlite-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('begins every Kysely transaction IMMEDIATE: another process cannot write while one is open, even before it writes', async () => {
    const file = join(dir, 'immediate.sqlite');
    const { db } = openSqliteDatabase(file);
    await sql`create table t (n integer)`.execute(db);
    const other = new BetterSqlite3(file, { timeout: 0 }); // the CLI beside the server, not waiting
    try {
      await db.transaction().execute(async (trx) => {
        await sql`select count(*) from t`.execute(trx); // a read only: a deferred BEGIN would hold no write lock yet
        assert.throws(() => other.prepare('insert into t values (1)').run(), { code: 'SQLITE_BUSY' });
        await sql`insert into t values (2)`.execute(trx);
      });
      other.prepare('insert into t values (3)').run(); // committed: the lock is free again
      assert.deepEqual(other.prepare('select n from t order by n').all(), [{ n: 2 }, { n: 3 }]);
    } finally {
      other.close();
      await db.destroy();
    }
  });
});
