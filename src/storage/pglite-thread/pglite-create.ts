import { inspect } from 'node:util';

/**
 * A child process's entry: creates a new embedded data directory (PGlite runs initdb in it),
 * closes it and exits; see startPgliteThread for why this runs in a process of its own.
 */
// A stop signal sent to every process of the gateway (a service manager's stop; a terminal's
// Ctrl-C does not reach this process, which runs in a process group of its own) is the gateway's
// to act on: this process finishes the directory, as the gateway's stop during start-up lets
// start-up finish. A gateway that exits meanwhile ends it (see runEntryProcess). The handlers come
// before the database's modules load (a static import would load them first).
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
const { openPglite } = await import('./pglite-open.js');

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
