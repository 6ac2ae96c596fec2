import { join } from 'node:path';

/**
 * The node arguments that run the `tollgate` command as it ships: the compiled build, which the
 * test run's global setup brought up to date with the sources (tests/setup/build.ts). A child
 * process on the build starts in a fraction of the time one that compiles TypeScript on load
 * takes, and tests the same code.
 */
export const TOLLGATE_CLI: readonly string[] = [
  join(import.meta.dirname, '../../dist/cli/main.js'),
];
