import { loadConfig } from '../../src/config.js';
import { openDeps } from '../../src/deps.js';
import { createKey } from '../../src/keys/key-admin.js';
import type { KeySettings } from '../../src/keys/key-settings.js';
import { startServer } from '../../src/main.js';
import { answerAllocationSampling } from './allocation-sampler.js';
import { runService } from './service-process.js';
import { labelWorkerThreads, observeGc } from './thread-cpu.js';

/**
 * Child process: Tollgate as `tollgate serve` builds it (openDeps + startServer), configured by
 * the environment the orchestrator passes. Four knobs exist only here:
 * BENCH_UPSTREAM_HTTP (`pooled` | `global`) picks the SDK's HTTP client, BENCH_KEY_SPEC
 * (JSON key settings) shapes the key the load uses (no limits by default), and BENCH_RECORDING=off
 * replaces the interaction recorder with one that drops rows (to price recording).
 * BENCH_ALLOCATIONS=on lets `bench:allocations` sample the main thread's allocations.
 */
// Before anything starts a worker, so the bench can tell each thread's CPU apart.
labelWorkerThreads();
observeGc();
if (process.env.BENCH_ALLOCATIONS === 'on') answerAllocationSampling();

runService(async () => {
  const env = process.env;
  const config = loadConfig(env);
  const deps = await openDeps(config, env, {
    upstreamHttp: env.BENCH_UPSTREAM_HTTP === 'global' ? 'global' : 'pooled',
    ...(env.BENCH_RECORDING === 'off' ? { recorder: { record: async () => {} } } : {}),
  });
  const spec: Partial<KeySettings> = env.BENCH_KEY_SPEC
    ? (JSON.parse(env.BENCH_KEY_SPEC) as Partial<KeySettings>)
    : {};
  const { key } = await createKey(deps.database.db, { name: 'bench', ...spec });
  const server = await startServer(deps);
  return {
    port: server.port,
    headers: { authorization: `Bearer ${key}` },
    close: () => server.stop(),
  };
});
