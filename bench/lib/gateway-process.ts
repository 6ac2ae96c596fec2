import type { KeySettings } from '../../src/keys/key-settings.js';
import { answerAllocationSampling } from './allocation-sampler.js';
import { runService } from './service-process.js';
import { labelWorkerThreads, observeGc } from './thread-cpu.js';

/**
 * Child process: Tollgate as `tollgate serve` builds it (openDeps + startServer), configured by
 * the environment the orchestrator passes. The gateway's modules come from the build (dist/, which
 * the orchestrator brings up to date first), as `npm start` runs them; their types from the
 * sources they were compiled from. Four knobs exist only here:
 * BENCH_UPSTREAM_HTTP (`pooled` | `global`) picks the SDK's HTTP client, BENCH_KEY_SPEC
 * (JSON key settings) shapes the key the load uses (no limits by default), and BENCH_RECORDING=off
 * replaces the interaction recorder with one that drops rows (to price recording).
 * BENCH_ALLOCATIONS=on lets `bench:allocations` sample the main thread's allocations.
 */
// Before anything starts a worker, so the bench can tell each thread's CPU apart.
labelWorkerThreads();
observeGc();
if (process.env.BENCH_ALLOCATIONS === 'on') answerAllocationSampling();

/** A module of the compiled gateway, typed as its source. */
async function built<M>(path: string): Promise<M> {
  return (await import(new URL(`../../dist/${path}`, import.meta.url).href)) as M;
}

runService(async () => {
  const [{ loadConfig }, { openDeps }, { createKey }, { startServer }] = await Promise.all([
    built<typeof import('../../src/config.js')>('config.js'),
    built<typeof import('../../src/deps.js')>('deps.js'),
    built<typeof import('../../src/keys/key-admin.js')>('keys/key-admin.js'),
    built<typeof import('../../src/server.js')>('server.js'),
  ]);
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
