import type { HeapProfiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Child side of `bench:allocations`: on the orchestrator's word, samples every allocation the
 * process's main thread makes (V8's sampling heap profiler, counting objects already collected
 * too, so short-lived garbage is seen) and answers with the bytes allocated per place, and with
 * what the main heap's collections did meanwhile (V8's own accounting).
 */

/** Orchestrator → child. */
export type SamplerRequest = { type: 'sample-start' } | { type: 'sample-stop' };

/** Child → orchestrator: bytes allocated while sampling, by allocating function and by file. */
export interface SamplerReport {
  type: 'sample-report';
  totalBytes: number;
  bySite: [string, number][];
  byFile: [string, number][];
  collections: Collections;
}

/**
 * The main heap's collections while sampling. `promotedBytes`: what young collections moved into
 * the old generation (its growth across each of them), which only a full collection frees again.
 */
export interface Collections {
  young: number;
  full: number;
  promotedBytes: number;
}

/** The part of V8's GC profile read here (Node 20's types do not describe it). */
interface GcProfile {
  statistics: {
    gcType: string;
    beforeGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
    afterGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
  }[];
}

/** Spaces a young collection promotes into: the old generation, and its large objects. */
const OLD_SPACES = new Set(['old_space', 'lo_space']);

function collectionsOf(profile: GcProfile): Collections {
  const oldBytes = (spaces: { spaceName: string; spaceUsedSize: number }[]) =>
    spaces.reduce((sum, s) => (OLD_SPACES.has(s.spaceName) ? sum + s.spaceUsedSize : sum), 0);
  const collections: Collections = { young: 0, full: 0, promotedBytes: 0 };
  for (const gc of profile.statistics) {
    if (gc.gcType === 'MarkSweepCompact') collections.full += 1;
    if (gc.gcType !== 'Scavenge' && gc.gcType !== 'MinorMarkCompact') continue;
    collections.young += 1;
    collections.promotedBytes +=
      oldBytes(gc.afterGC.heapSpaceStatistics) - oldBytes(gc.beforeGC.heapSpaceStatistics);
  }
  return collections;
}

/** One node of V8's sampling heap profile. */
interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** A sample every this many bytes on average: fine enough for sites of a few hundred bytes a request. */
const SAMPLING_INTERVAL_BYTES = 512;

/**
 * Which allocations count: `all` (every one, collected or not), `promoted` (those that outlived
 * the young generation: still alive, or freed only by a full collection; the garbage that makes
 * full collections, the latency tail's pauses) or `live` (still alive when sampling stops).
 */
export type SampledObjects = 'all' | 'promoted' | 'live';

export function sampledObjectsOf(value: string | undefined): SampledObjects {
  if (value === undefined || value === '' || value === 'all') return 'all';
  if (value === 'promoted' || value === 'live') return value;
  throw new Error(`BENCH_OBJECTS must be all, promoted or live, not ${value}`);
}

function isSamplerRequest(message: unknown): message is SamplerRequest {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'sample-start' || type === 'sample-stop';
}

/** Where a frame's code lives: the package under node_modules, the project file, or Node's own. */
function fileOf(url: string): string {
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1] ?? url;
  const own = /\/((?:src|bench)\/.*)$/.exec(url);
  if (own) return own[1] ?? url;
  return url === '' ? '(native)' : url;
}

function summarise(head: ProfileNode): Omit<SamplerReport, 'type' | 'collections'> {
  const bySite = new Map<string, number>();
  const byFile = new Map<string, number>();
  let totalBytes = 0;
  const stack: ProfileNode[] = [head];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    stack.push(...node.children);
    if (node.selfSize === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = fileOf(url);
    const site = `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
    totalBytes += node.selfSize;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    byFile.set(file, (byFile.get(file) ?? 0) + node.selfSize);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { totalBytes, bySite: sorted(bySite), byFile: sorted(byFile) };
}

/** Collects the young generation now (V8's `gc`, exposed for this process at run time). */
function youngCollection(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void;
  return () => gc({ type: 'minor' });
}

/** Answers the orchestrator's sampling requests for as long as the process runs. */
export function answerAllocationSampling(): void {
  const objects = sampledObjectsOf(process.env.BENCH_OBJECTS);
  const session = new Session();
  session.connect();
  let gcProfiler: GCProfiler | null = null;
  process.on('message', (message: unknown) => {
    if (!isSamplerRequest(message)) return;
    void (async () => {
      if (message.type === 'sample-start') {
        await session.post('HeapProfiler.enable');
        // Node 20's types predate the two flags V8 accepts for counting collected objects.
        const params: HeapProfiler.StartSamplingParameterType & {
          includeObjectsCollectedByMajorGC: boolean;
          includeObjectsCollectedByMinorGC: boolean;
        } = {
          samplingInterval: SAMPLING_INTERVAL_BYTES,
          includeObjectsCollectedByMajorGC: objects !== 'live',
          includeObjectsCollectedByMinorGC: objects === 'all',
        };
        await session.post('HeapProfiler.startSampling', params);
        gcProfiler = new GCProfiler();
        gcProfiler.start();
        process.send?.({ type: 'sample-started' });
        return;
      }
      const collections = collectionsOf(
        (gcProfiler?.stop() ?? { statistics: [] }) as unknown as GcProfile,
      );
      // Garbage still in the young generation has not been collected yet, so the profiler would
      // count it as alive: two young collections first (the second frees what the first kept).
      if (objects !== 'all') {
        const collect = youngCollection();
        collect();
        collect();
      }
      const { profile } = await session.post('HeapProfiler.stopSampling');
      const report: SamplerReport = {
        type: 'sample-report',
        ...summarise(profile.head as unknown as ProfileNode),
        collections,
      };
      process.send?.(report);
    })();
  });
}
