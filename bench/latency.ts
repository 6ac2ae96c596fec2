import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { envNumber } from './lib/env-number.js';
import { runLoad } from './lib/load.js';
import { newQuestionBodies, REQUEST_BODIES } from './lib/questions.js';
import type { ServiceHandle } from './lib/service-process.js';
import { forkService } from './lib/service-process.js';
import { bringBuildUpToDate, startCommand } from './lib/start-command.js';
import {
  closeSteadyConnections,
  emptySamples,
  type Samples,
  steadyBlock,
} from './lib/steady-load.js';

/**
 * What the gateway adds to a request's latency when it is not saturated: requests sent at a
 * steady rate (open loop: each leaves at its scheduled time, whether or not the ones before have
 * been answered), straight to the fake upstream and through Tollgate in its default configuration
 * (cache on with every question new, safe compression, recording into the embedded database in a
 * data directory on disk), and through a bare undici proxy for reference (what one more hop costs
 * on this machine, whatever the proxy does). The targets take turns in short blocks, so drift on a
 * shared machine hits them alike. For streams the time to the first body byte is measured too.
 *
 * "Added" is the gateway's percentile minus direct's percentile over the same run.
 *
 * Env: BENCH_RATE (200 requests per second), BENCH_BLOCK_S (2 s per block), BENCH_BLOCKS (10 blocks
 * per target and group), BENCH_PRIME_REQUESTS (3000, sent at full speed before measuring, as in
 * bench:overhead), BENCH_CACHE (on | off, the gateway's CACHE; default on).
 * Exits 1 when an added latency misses its target (p50 ≤ 1 ms, p99 ≤ 5 ms, first byte p50 ≤ 1 ms).
 */

const RATE = envNumber('BENCH_RATE', 200);
const BLOCK_S = envNumber('BENCH_BLOCK_S', 2);
const BLOCKS = Math.round(envNumber('BENCH_BLOCKS', 10));
const PRIME_REQUESTS = Math.round(envNumber('BENCH_PRIME_REQUESTS', 3000));
const BLOCK_PACE = { rate: RATE, count: Math.round(BLOCK_S * RATE) };
const CACHE = process.env.BENCH_CACHE ?? 'on';
if (CACHE !== 'on' && CACHE !== 'off') throw new Error('BENCH_CACHE must be on or off');

/** Targets of issue 14 for the latency the gateway adds. */
const TARGET_P50_MS = 1;
const TARGET_P99_MS = 5;
const TARGET_FIRST_BYTE_P50_MS = 1;

type Group = keyof typeof REQUEST_BODIES;

/** Straight to the fake upstream, through a bare undici proxy (the floor of any hop), through Tollgate. */
const TARGET_NAMES = ['direct', 'proxy', 'tollgate'] as const;

interface Target {
  name: (typeof TARGET_NAMES)[number];
  url: URL;
  headers: Record<string, string>;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/** A throw-away master key and data directory, as the quick start's embedded default keeps them. */
function embeddedDataDir(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-latency-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return {
    TOLLGATE_DATA_DIR: dir,
    TOLLGATE_MASTER_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  };
}

type GroupResult = { group: Group } & Record<Target['name'], Samples>;

async function measureGroup(group: Group, targets: readonly Target[]): Promise<GroupResult> {
  const results = { direct: emptySamples(), proxy: emptySamples(), tollgate: emptySamples() };
  const bodies = new Map(targets.map((t) => [t.name, newQuestionBodies(REQUEST_BODIES[group])]));
  const bodyOf = (t: Target) => {
    const next = bodies.get(t.name);
    if (!next) throw new Error(`no bodies for ${t.name}`);
    return next;
  };
  // A fresh gateway's CPU per request falls for its first few thousand requests (JIT, pools).
  for (const target of targets) {
    log(`priming ${group} · ${target.name} with ${PRIME_REQUESTS} requests…`);
    await runLoad({
      url: target.url.toString(),
      body: REQUEST_BODIES[group],
      bodyFor: bodyOf(target),
      headers: target.headers,
      connections: 16,
      until: { amount: PRIME_REQUESTS },
    });
    // One block at the steady rate, not kept: the load generator's burst must not be measured.
    await steadyBlock(target, bodyOf(target), BLOCK_PACE, emptySamples());
  }
  for (let block = 0; block < BLOCKS; block++) {
    // Each target goes first, second and last in turn.
    const order = targets.map((_, i) => targets[(i + block) % targets.length] as Target);
    for (const target of order) {
      await steadyBlock(target, bodyOf(target), BLOCK_PACE, results[target.name]);
    }
    log(`${group}: block ${block + 1}/${BLOCKS}`);
  }
  return { group, ...results };
}

function fmt(ms: number): string {
  return Number.isNaN(ms) ? '—' : ms.toFixed(2);
}

function verdict(added: number, target: number): string {
  return added <= target ? 'ok' : 'MISS';
}

function report(results: readonly GroupResult[]): boolean {
  const cpu = cpus();
  console.log(
    `\nLatency added at a steady ${RATE} req/s — ${BLOCKS} alternating blocks of ${BLOCK_S} s per ` +
      `target; Tollgate in its default configuration (CACHE=${CACHE}, every question new, ` +
      `embedded database on disk); node ${process.version}, ${cpu.length}× ${cpu[0]?.model ?? 'cpu'}\n`,
  );
  const header = [
    'row'.padEnd(26),
    'requests'.padStart(8),
    'first p50'.padStart(10),
    'last p50'.padStart(9),
    'last p90'.padStart(9),
    'last p99'.padStart(9),
    'last max'.padStart(9),
    'failed'.padStart(7),
    'late ms'.padStart(8),
  ].join(' ');
  console.log(header);
  let ok = true;
  const verdicts: string[] = [];
  for (const r of results) {
    for (const name of TARGET_NAMES) {
      const s = r[name];
      console.log(
        [
          `${r.group} · ${name}`.padEnd(26),
          String(s.samples.length).padStart(8),
          fmt(
            percentile(
              s.samples.map((x) => x.firstByteMs),
              50,
            ),
          ).padStart(10),
          fmt(
            percentile(
              s.samples.map((x) => x.lastByteMs),
              50,
            ),
          ).padStart(9),
          fmt(
            percentile(
              s.samples.map((x) => x.lastByteMs),
              90,
            ),
          ).padStart(9),
          fmt(
            percentile(
              s.samples.map((x) => x.lastByteMs),
              99,
            ),
          ).padStart(9),
          fmt(
            percentile(
              s.samples.map((x) => x.lastByteMs),
              100,
            ),
          ).padStart(9),
          String(s.failures).padStart(7),
          fmt(s.maxLateMs).padStart(8),
        ].join(' '),
      );
    }
    const last = (s: Samples, p: number) =>
      percentile(
        s.samples.map((x) => x.lastByteMs),
        p,
      );
    const first = (s: Samples) =>
      percentile(
        s.samples.map((x) => x.firstByteMs),
        50,
      );
    const addedP50 = last(r.tollgate, 50) - last(r.direct, 50);
    const addedP99 = last(r.tollgate, 99) - last(r.direct, 99);
    const checks: [string, number, number][] = [
      ['p50', addedP50, TARGET_P50_MS],
      ['p99', addedP99, TARGET_P99_MS],
    ];
    if (r.group === 'stream') {
      checks.push([
        'first byte p50',
        first(r.tollgate) - first(r.direct),
        TARGET_FIRST_BYTE_P50_MS,
      ]);
    }
    if (TARGET_NAMES.some((name) => r[name].failures > 0)) ok = false;
    for (const name of TARGET_NAMES) {
      for (const reason of r[name].reasons) verdicts.push(`FAILED ${r.group} · ${name}: ${reason}`);
    }
    for (const [what, added, target] of checks) {
      const v = verdict(added, target);
      if (v !== 'ok') ok = false;
      verdicts.push(
        `${v.padEnd(4)} ${r.group}: added ${what} ${fmt(added)} ms (target ≤ ${target} ms)`,
      );
    }
    // Not a target: what one more hop costs on this machine whatever the proxy does.
    verdicts.push(
      `     ${r.group}: a bare proxy adds p50 ${fmt(last(r.proxy, 50) - last(r.direct, 50))} ms, ` +
        `p99 ${fmt(last(r.proxy, 99) - last(r.direct, 99))} ms` +
        (r.group === 'stream'
          ? `, first byte p50 ${fmt(first(r.proxy) - first(r.direct))} ms`
          : ''),
    );
  }
  console.log(
    [
      '',
      'first / last: ms from sending a request to its first / last body byte; percentiles over every',
      'request of the run. late ms: the latest a request left after its scheduled time (the load',
      "generator's own lag; large values mean the machine could not keep the rate). proxy: a bare",
      'undici pass-through (no auth, no log) in front of the same upstream, for reference.',
      '',
      ...verdicts,
    ].join('\n'),
  );
  return ok;
}

async function main(): Promise<void> {
  const started: ServiceHandle[] = [];
  try {
    log('bringing the build up to date…');
    bringBuildUpToDate();
    log('starting the fake upstream…');
    const upstream = await forkService(
      'upstream',
      new URL('./lib/fake-upstream-server.ts', import.meta.url),
      {},
    );
    started.push(upstream);
    const proxy = await forkService('proxy', new URL('./lib/bare-proxy.ts', import.meta.url), {
      BENCH_TARGET_URL: upstream.origin,
    });
    started.push(proxy);
    log('starting tollgate…');
    const start = startCommand();
    const gateway = await forkService(
      'tollgate',
      new URL('./lib/gateway-process.ts', import.meta.url),
      {
        ...start.env,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        CACHE,
        UPSTREAM_BASE_URL: `${upstream.origin}/v1`,
        UPSTREAM_API_KEY: 'sk-bench-upstream-key',
        SHUTDOWN_TIMEOUT_MS: '2000',
        ...embeddedDataDir(),
      },
      start.nodeFlags,
    );
    started.push(gateway);
    const targets: Target[] = [
      { name: 'direct', url: new URL('/v1/chat/completions', upstream.origin), headers: {} },
      { name: 'proxy', url: new URL('/v1/chat/completions', proxy.origin), headers: {} },
      {
        name: 'tollgate',
        url: new URL('/v1/chat/completions', gateway.origin),
        headers: gateway.headers,
      },
    ];
    const results: GroupResult[] = [];
    for (const group of ['json', 'stream'] as const) {
      results.push(await measureGroup(group, targets));
    }
    const ok = report(results);
    await gateway.cpuMicros(); // also reads its RSS
    console.log(
      `\nRSS of the gateway after the run: ${(gateway.rssBytes() / 2 ** 20).toFixed(0)} MB`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    closeSteadyConnections();
    for (const service of started.reverse()) await service.stop();
  }
}

await main();
