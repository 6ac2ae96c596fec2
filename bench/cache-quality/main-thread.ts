import { readFileSync } from 'node:fs';
import type { IntervalHistogram } from 'node:perf_hooks';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Embedder } from '../../src/cache/embedders/embedder.js';

/** p50, p99 and max of a list of milliseconds. */
export interface Spread {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

/** The event loop's own work for each embedding, measured directly. */
export interface MainThreadCost {
  /** Wall time of one embedding, as a cache miss waits for it. */
  readonly wallMs: Spread;
  /** The synchronous `embed()` call: queueing the text and posting it to the thread. */
  readonly callMs: Spread;
  /**
   * Everything the event loop was busy with from the call until the vector was in hand (the call,
   * receiving and decoding the reply, resolving the promise): the loop's active time by
   * `performance.eventLoopUtilization()`, which counts every slice. No single slice is longer.
   */
  readonly activeMs: Spread;
  /** The same active time over as long with nothing to do (the timer that ends the wait). */
  readonly idleActiveMs: Spread;
  /**
   * CPU time the event loop's thread used from the call until the vector was in hand, by the
   * kernel's count for that thread (Linux); unlike the times above, another process cannot
   * inflate it. Null where the kernel does not say.
   */
  readonly cpuMs: Spread | null;
  /** The same over a timer of as long with nothing to do. */
  readonly idleCpuMs: Spread | null;
}

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** The main thread's CPU time so far in ms (its first schedstat field, ns), or null. */
function threadCpuMs(): number | null {
  try {
    return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

/**
 * Embeds the texts one at a time, as a cache miss does, and measures what the event loop itself
 * spends on each. Another process can slow the loop (the time counts while it is active), never
 * make it look idler than it was, so these are upper bounds.
 */
export async function mainThreadPerEmbedding(
  embedder: Embedder,
  texts: readonly string[],
): Promise<MainThreadCost> {
  const wall: number[] = [];
  const call: number[] = [];
  const active: number[] = [];
  const idle: number[] = [];
  const cpu: number[] = [];
  const idleCpu: number[] = [];
  for (const text of texts) {
    const cpuBefore = threadCpuMs();
    const before = performance.eventLoopUtilization();
    const start = performance.now();
    const pending = embedder.embed([text]);
    const called = performance.now();
    await pending;
    const end = performance.now();
    active.push(performance.eventLoopUtilization(before).active);
    const cpuAfter = threadCpuMs();
    if (cpuBefore !== null && cpuAfter !== null) cpu.push(cpuAfter - cpuBefore);
    call.push(called - start);
    wall.push(end - start);
  }
  const waitMs = spread(wall).p50;
  for (let i = 0; i < texts.length; i++) {
    const cpuBefore = threadCpuMs();
    const before = performance.eventLoopUtilization();
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    idle.push(performance.eventLoopUtilization(before).active);
    const cpuAfter = threadCpuMs();
    if (cpuBefore !== null && cpuAfter !== null) idleCpu.push(cpuAfter - cpuBefore);
  }
  return {
    wallMs: spread(wall),
    callMs: spread(call),
    activeMs: spread(active),
    idleActiveMs: spread(idle),
    cpuMs: cpu.length === texts.length ? spread(cpu) : null,
    idleCpuMs: idleCpu.length === texts.length ? spread(idleCpu) : null,
  };
}

/** p99 and max event-loop delay over a period. */
export interface LoopDelay {
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Event-loop delay (how late a 1 ms timer fires) while the texts are embedded one at a time,
 * then as long with nothing to do, then as long beside a thread that only spins: that thread
 * runs none of its code on the event loop, so what it shows is the machine sharing its cores,
 * not the loop being blocked.
 */
export async function loopDelays(
  embedder: Embedder,
  texts: readonly string[],
): Promise<{ busy: LoopDelay; idle: LoopDelay; spin: LoopDelay }> {
  const busy = monitorEventLoopDelay({ resolution: 1 });
  busy.enable();
  const start = performance.now();
  for (const text of texts) await embedder.embed([text]);
  const elapsed = Math.max(50, performance.now() - start);
  busy.disable();
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await new Promise((resolve) => setTimeout(resolve, elapsed));
  idle.disable();
  const spin = monitorEventLoopDelay({ resolution: 1 });
  spin.enable();
  await new Promise((resolve) => {
    const spinner = new Worker(
      `const end = Date.now() + ${Math.ceil(elapsed)}; while (Date.now() < end) {}`,
      { eval: true },
    );
    spinner.once('exit', resolve);
  });
  spin.disable();
  return { busy: delays(busy), idle: delays(idle), spin: delays(spin) };
}

/** The histogram's delays are nanoseconds past the 1 ms sampling interval. */
function delays(h: IntervalHistogram): LoopDelay {
  return h.count === 0
    ? { p99Ms: 0, maxMs: 0 }
    : { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 };
}
