import { openDatabase } from '../../src/storage/database.js';

/** Creates a PGlite data directory at argv[2], applies the migrations and closes it cleanly. */
const dir = process.argv[2];
if (!dir) throw new Error('usage: build-pglite-template.ts <data dir>');
const handle = await openDatabase({ kind: 'pglite', dataDir: dir });
try {
  await handle.migrate();
} finally {
  await handle.close();
}
