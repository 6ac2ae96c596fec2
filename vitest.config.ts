import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    // The compiled build brought up to date first: child processes and worker threads run from
    // it. Then one migrated PGlite data directory per run; each test database starts as a copy.
    globalSetup: ['tests/setup/build.ts', 'tests/setup/pglite-template.ts'],
    env: { TOLLGATE_WORKERS_FROM_BUILD: '1' },
    setupFiles: ['tests/setup/fast-check.ts', 'tests/setup/real-timers.ts'],
    // Generous: a machine whose cores are busy with other work must still pass, only slower.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Test files run one after another in a few long-lived processes that keep the modules they
    // loaded (each file still builds its own gateways, databases and clocks): loading the gateway
    // afresh for every file was a sixth of the suite's CPU.
    isolate: false,
    // At least two files at once, even on two cores: much of an integration test is waiting
    // (child processes, sockets, the database thread), which the other file fills.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
