/** `umpin migrate`: bring the database's schema up to date, or (--check) say whether it is, for deploy scripts. */
import { describeDatabase, loadConfig } from '../../config.ts';
import { openMaintenanceDatabase } from '../../store/index.ts';
import { CommandFailed, print, type Command } from '../command.ts';
import { formatTable } from '../io.ts';

export const MIGRATE_COMMANDS: readonly Command[] = [
  {
    name: 'migrate',
    usage: 'umpin migrate [--check]',
    summary: 'apply pending database migrations (umpin serve also applies them at start)',
    help: `Applies every migration this version of umpin knows and the database has not
run yet, and names each one applied. Running it again does nothing. Several
instances may run it (or start) at once: on PostgreSQL they take turns under an
advisory lock, on SQLite under the file's write lock, and each migration runs once.

--check applies nothing: it lists each migration as applied or pending and exits
with 1 when any is pending, 0 when the database is up to date.`,
    examples: ['umpin migrate', 'umpin migrate --check || echo "run umpin migrate before starting the new version"'],
    options: { check: { type: 'boolean' } },
    positionals: { min: 0, max: 0 },
    async run({ options }) {
      const config = loadConfig();
      const where = describeDatabase(config.database);
      const database = await openMaintenanceDatabase(config.database);
      try {
        if (options.check === true) {
          const migrations = await database.status();
          print(formatTable([
            ['MIGRATION', 'STATUS', 'APPLIED AT'],
            ...migrations.map((m) => [m.name, m.executedAt ? 'applied' : 'pending', m.executedAt?.toISOString() ?? '-']),
          ]));
          const pending = migrations.filter((m) => m.executedAt === undefined).map((m) => m.name);
          if (pending.length > 0) {
            throw new CommandFailed(`${pending.length} migration${pending.length === 1 ? ' is' : 's are'} pending on ${where} (${pending.join(', ')}); run "umpin migrate".`);
          }
          print(`${where} is up to date.`);
          return;
        }
        const { error, results = [] } = await database.migrate();
        const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
        for (const name of applied) print(`applied  ${name}`);
        if (error) {
          const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'a migration';
          throw new CommandFailed(
            `${failed} failed on ${where}: ${error instanceof Error ? error.message : String(error)}. ` +
              'Migrations listed as applied stay applied; fix the cause and run "umpin migrate" again.',
          );
        }
        print(applied.length === 0 ? `${where} is up to date; no migration was pending.` : `${where} is up to date.`);
      } finally {
        await database.close();
      }
    },
  },
];
