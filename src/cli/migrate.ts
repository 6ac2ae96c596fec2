import { withDatabase } from './cli-database.js';
import { defineCommand } from './command-line.js';

/** `tollgate migrate`: applies the database migrations and exits. */
export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'Apply the database migrations (serve also does this at start-up).',
  description: 'Uses DATABASE_URL, or the embedded database in TOLLGATE_DATA_DIR (default ./data).',
  flags: {},
  async action() {
    await withDatabase(async () => {});
    process.stderr.write('Migrations applied.\n');
  },
});
