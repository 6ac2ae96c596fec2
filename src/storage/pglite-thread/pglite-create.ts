import { inspect } from 'node:util';
import { openPglite } from './pglite-open.js';

/**
 * A child process's entry: creates a new embedded data directory (PGlite runs initdb in it),
 * closes it and exits; see startPgliteThread for why this runs in a process of its own.
 */
const pgdata = process.argv[2];
if (!pgdata) {
  process.stderr.write('usage: pglite-create <data directory>\n');
  process.exitCode = 2;
} else {
  try {
    await (await openPglite(pgdata)).close();
  } catch (err) {
    // PGlite's file system throws plain objects (`ErrnoError { errno }`), not Errors.
    const said = err instanceof Error ? err.message : inspect(err, { breakLength: Infinity });
    process.stderr.write(`${said}\n`);
    process.exitCode = 1;
  }
}
