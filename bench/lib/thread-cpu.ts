import { readdirSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
import type { WorkerOptions } from 'node:worker_threads';
import { procCpu } from './proc-stat.js';

/**
 * Per-thread CPU of the current process, read from /proc (Linux only; elsewhere empty), so the
 * bench can say which thread a row's CPU went to: the main thread (event loop, and the garbage
 * collection it does itself), each worker thread by its entry's name (the embedded database,
 * the row sealer, …) and everything else (V8's helper threads for concurrent garbage collection
 * and compilation, the libuv pool, the module loader).
 */

const MAIN = 'main';
const OTHER = 'other (V8 GC/JIT helpers, libuv, loader)';

/** Worker thread ids (OS tids) by the name of the entry they run. */
const workerLabels = new Map<number, string>();

function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

function entryName(filename: string | URL): string {
  // An eval'd bootstrap imports its loader, then its entry (the last module it names); a path
  // or URL names the entry directly.
  const names = [...String(filename).matchAll(/([\w.-]+?)\.[cm]?[jt]s\b/g)];
  return names.at(-1)?.[1] ?? 'worker';
}

/**
 * From now on, every worker thread the process starts is labelled with its entry's name. A
 * worker's OS thread is created inside its constructor, so the thread ids that appear across the
 * call are its own. Call before the code under test creates workers.
 */
export function labelWorkerThreads(): void {
  const require = createRequire(import.meta.url);
  const workerThreads = require('node:worker_threads') as typeof import('node:worker_threads');
  const Original = workerThreads.Worker;
  class LabelledWorker extends Original {
    constructor(filename: string | URL, options?: WorkerOptions) {
      const before = new Set(threadIds());
      super(filename, options);
      const name = entryName(filename);
      for (const tid of threadIds()) if (!before.has(tid)) workerLabels.set(tid, name);
    }
  }
  workerThreads.Worker = LabelledWorker;
  syncBuiltinESMExports();
}

let gcMicros = 0;
let gcObserved = false;

/** Starts summing the main thread's garbage-collection pauses (wall time, reported as `main: GC pauses`). */
export function observeGc(): void {
  if (gcObserved) return;
  gcObserved = true;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMicros += entry.duration * 1000;
  }).observe({ entryTypes: ['gc'] });
}

/** CPU (user + system) used so far by each kind of thread, in microseconds, by label. */
export function threadCpuMicros(): Record<string, number> {
  const out: Record<string, number> = {};
  const pid = process.pid;
  for (const tid of threadIds()) {
    const cpu = procCpu(`/proc/self/task/${tid}/stat`);
    if (cpu === null) continue; // the thread ended between the listing and the read
    const label = tid === pid ? MAIN : (workerLabels.get(tid) ?? OTHER);
    out[label] = (out[label] ?? 0) + cpu.micros;
  }
  if (gcObserved) out['main: GC pauses (wall)'] = gcMicros;
  return out;
}
