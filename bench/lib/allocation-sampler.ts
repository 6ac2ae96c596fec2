import type { HeapProfiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';

/**
 * Child side of `bench:allocations`: on the orchestrator's word, samples every allocation the
 * process's main thread makes (V8's sampling heap profiler, counting objects already collected
 * too, so short-lived garbage is seen) and answers with the bytes allocated per place.
 */

/** Orchestrator → child. */
export type SamplerRequest = { type: 'sample-start' } | { type: 'sample-stop' };

/** Child → orchestrator: bytes allocated while sampling, by allocating function and by file. */
export interface SamplerReport {
  type: 'sample-report';
  totalBytes: number;
  bySite: [string, number][];
  byFile: [string, number][];
}

/** One node of V8's sampling heap profile. */
interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** A sample every this many bytes on average: fine enough for sites of a few hundred bytes a request. */
const SAMPLING_INTERVAL_BYTES = 512;

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

function summarise(head: ProfileNode): Omit<SamplerReport, 'type'> {
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

/** Answers the orchestrator's sampling requests for as long as the process runs. */
export function answerAllocationSampling(): void {
  const session = new Session();
  session.connect();
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
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        };
        await session.post('HeapProfiler.startSampling', params);
        process.send?.({ type: 'sample-started' });
        return;
      }
      const { profile } = await session.post('HeapProfiler.stopSampling');
      const report: SamplerReport = {
        type: 'sample-report',
        ...summarise(profile.head as unknown as ProfileNode),
      };
      process.send?.(report);
    })();
  });
}
