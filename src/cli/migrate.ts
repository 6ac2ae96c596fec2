import { migrateDatabase } from './cli-database.js';
import { defineCommand } from './command-line.js';

/** `tollgate migrate`: applies the database migrations and exits. */
export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'Create the database if it is new and apply the migrations (serve also does this).',
  description:
    'Uses DATABASE_URL, or the embedded database in TOLLGATE_DATA_DIR (default ./data). With serve,\nthe only command that creates a database: the others refuse one that does not exist yet.',
  flags: {},
  async action() {
    await migrateDatabase();
    process.stderr.write('Migrations applied.\n');
  },
});
