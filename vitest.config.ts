import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    // One migrated PGlite data directory per run; each test database starts as a copy of it.
    globalSetup: ['tests/setup/pglite-template.ts'],
    setupFiles: ['tests/setup/fast-check.ts'],
    // Generous: a machine whose cores are busy with other work must still pass, only slower.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
