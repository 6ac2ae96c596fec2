import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ResourceLimits, WorkerOptions } from 'node:worker_threads';
import { Worker } from 'node:worker_threads';

const SOURCES = fileURLToPath(new URL('../', import.meta.url));
const BUILD = fileURLToPath(new URL('../../dist/', import.meta.url));

/**
 * Limits for the gateway's service threads (the embedded database, row sealing). V8 gives every
 * thread a young generation of up to 32 MB, and under load each of these threads grows into all
 * of it although it holds a few MB of short-lived objects at a time (the database thread's
 * messages and result rows, the sealer's batches): after 40,000 mixed requests the database
 * thread's heap was 47 MB, 31 MB of it young generation with 7 MB live. At 6 MB (two 2 MB
 * semi-spaces) the two threads' heaps held 32 MB instead of 61 MB.
 */
export const SERVICE_THREAD_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 6 };

/**
 * The entry module `name` that sits next to the calling module (`fromUrl` is the caller's
 * `import.meta.url`), in the caller's own language: compiled JavaScript (`node dist/cli.js`) gets
 * the `.js` entry; TypeScript run through tsx or vitest gets the `.ts` entry, to be run through
 * tsx (`typescript: true`).
 *
 * With TOLLGATE_WORKERS_FROM_BUILD=1, TypeScript callers get the compiled entry from dist/
 * instead: whoever sets it vouches that the build is current (the test setup builds first). An
 * entry that registers tsx starts its own loader thread and transforms its imports, about half a
 * second of CPU per start; tests start hundreds of database threads.
 */
export function entryModule(name: string, fromUrl: string): { url: URL; typescript: boolean } {
  const typescript = fileURLToPath(fromUrl).endsWith('.ts');
  const url = new URL(`./${name}${typescript ? '.ts' : '.js'}`, fromUrl);
  if (typescript && process.env.TOLLGATE_WORKERS_FROM_BUILD === '1') {
    const inSources = relative(SOURCES, fileURLToPath(url));
    if (!inSources.startsWith('..')) {
      return {
        url: pathToFileURL(`${BUILD}${inSources.replace(/\.ts$/, '.js')}`),
        typescript: false,
      };
    }
  }
  return { url, typescript };
}

/**
 * Starts the worker entry `name` that sits next to the calling module, in the caller's own
 * language (see {@link entryModule}).
 *
 * tsx is registered inside the worker rather than passed as `--import tsx` in its execArgv: on
 * Node 20 a worker's entry module does not go through hooks imported that way.
 */
export function startWorkerThread(name: string, fromUrl: string, options: WorkerOptions): Worker {
  const entry = entryModule(name, fromUrl);
  if (!entry.typescript) return new Worker(entry.url, options);
  // Resolved here, from the project, not from wherever the process was started.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = [
    `import(${JSON.stringify(tsxApi)})`,
    '.then((tsx) => { tsx.register();',
    ` return import(${JSON.stringify(entry.url.href)}); });`,
  ].join('');
  return new Worker(bootstrap, { ...options, eval: true });
}
