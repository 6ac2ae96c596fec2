import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const BUILD_IF_STALE = join(import.meta.dirname, '../../bin/build-if-stale.js');

/**
 * Brings the compiled build up to date with the sources before any test runs (the same check
 * `npm start` makes: it compiles only when a source is newer than the build). Child processes run
 * the `tollgate` command from the build, and worker threads started by the TypeScript sources run
 * from it too (TOLLGATE_WORKERS_FROM_BUILD, set in vitest.config.ts).
 */
export default async function setup(): Promise<void> {
  await promisify(execFile)(process.execPath, [BUILD_IF_STALE], { timeout: 600_000 });
}
