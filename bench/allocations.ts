import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SamplerReport, sampledObjectsOf } from './lib/allocation-sampler.js';
import { envNumber } from './lib/env-number.js';
import { runLoad } from './lib/load.js';
import { newQuestionBodies, REQUEST_BODIES } from './lib/questions.js';
import type { ServiceHandle } from './lib/service-process.js';
import { forkService } from './lib/service-process.js';
import { bringBuildUpToDate, startCommand } from './lib/start-command.js';
import { closeSteadyConnections, emptySamples, steadyBlock } from './lib/steady-load.js';

/**
 * Bytes the gateway's main thread allocates per request, and where: every short-lived object is
 * work for the garbage collector, which on a loaded server costs as much CPU as the code that
 * made it. Unlike CPU time, the count does not depend on what else the machine is doing, so two
 * builds compare exactly.
 *
 * Tollgate runs in its own process as `npm start` runs it (its flags and environment; a fresh data
 * directory), against the bench's fake upstream; the load comes from this process. For each row
 * the gateway is primed, then V8's sampling heap profiler counts every allocation (collected
 * objects included) over a fixed number of requests. Each row also gives V8's own count of what
 * the young collections promoted meanwhile: objects that outlive a few young collections are
 * moved to the old generation, and only full collections (the long pauses under load) free them.
 *
 * Env: BENCH_REQUESTS (4000 sampled per row), BENCH_PRIME_REQUESTS (3000 per row before
 * sampling), BENCH_CONNECTIONS (32), BENCH_TOP (12 places listed per row), BENCH_ONLY (regular
 * expression on row names), BENCH_RATE (unset: as fast as the connections go; else requests per
 * second, each sent at its scheduled time as bench:latency sends them), BENCH_OBJECTS (`all`;
 * `promoted`: only what outlived the young generation or was freed by a full collection, the
 * garbage full collections find; `live`: only what is still alive at the end).
 */

const REQUESTS = Math.round(envNumber('BENCH_REQUESTS', 4000));
const PRIME_REQUESTS = Math.round(envNumber('BENCH_PRIME_REQUESTS', 3000));
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 32));
const TOP = Math.round(envNumber('BENCH_TOP', 12));
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
const RATE = envNumber('BENCH_RATE', 0);
const OBJECTS = sampledObjectsOf(process.env.BENCH_OBJECTS);
const COUNTED: Record<typeof OBJECTS, string> = {
  all: 'allocated',
  promoted: 'allocated and outliving the young generation',
  live: 'allocated and still alive at the end',
};
const START = startCommand();

interface Row {
  name: string;
  cache: 'on' | 'off';
  stream: boolean;
  newQuestions: boolean;
}

const ROWS: Row[] = [false, true].flatMap((stream) => {
  const group = stream ? 'stream' : 'json';
  return [
    { name: `${group} · cache off`, cache: 'off' as const, stream, newQuestions: false },
    { name: `${group} · cache hit`, cache: 'on' as const, stream, newQuestions: false },
    { name: `${group} · true miss`, cache: 'on' as const, stream, newQuestions: true },
  ];
});

/** A gateway process that answers sampling requests. */
interface Gateway {
  origin: string;
  headers: Record<string, string>;
  sample<T extends { type: string }>(request: { type: string }, answer: string): Promise<T>;
  stop(): Promise<void>;
}

function messageOf(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`gateway exited (code ${code})`));
    };
    const onMessage = (message: unknown) => {
      const record = message as Record<string, unknown> | null;
      if (record?.type === 'failed') {
        done();
        reject(new Error(`gateway: ${String(record.message)}`));
      } else if (record?.type === type) {
        done();
        resolve(record);
      }
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function startGateway(upstream: ServiceHandle, cache: 'on' | 'off'): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-allocations-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const child = fork(new URL('./lib/gateway-process.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx', ...START.nodeFlags],
    env: {
      ...process.env,
      ...START.env,
      PORT: '0',
      HOST: '127.0.0.1',
      TOLLGATE_DATA_DIR: dir,
      TOLLGATE_MASTER_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      LOG_LEVEL: 'warn',
      UPSTREAM_BASE_URL: `${upstream.origin}/v1`,
      UPSTREAM_API_KEY: 'sk-bench-upstream-key',
      CACHE: cache,
      BENCH_ALLOCATIONS: 'on',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await messageOf(child, 'ready');
  return {
    origin: `http://127.0.0.1:${String(ready.port)}`,
    headers: ready.headers as Record<string, string>,
    async sample<T>(request: { type: string }, answer: string) {
      const reply = messageOf(child, answer);
      child.send(request);
      return (await reply) as T;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** REQUESTS sent at RATE per second, each at its scheduled time (as bench:latency sends them). */
async function steadyLoad(load: {
  url: string;
  body: string;
  headers: Record<string, string>;
  bodyFor: (() => string) | undefined;
}): Promise<{ requests: number; failures: number }> {
  const samples = emptySamples();
  const target = { name: 'tollgate', url: new URL(load.url), headers: load.headers };
  await steadyBlock(
    target,
    load.bodyFor ?? (() => load.body),
    { rate: RATE, count: REQUESTS },
    samples,
  );
  return { requests: samples.samples.length + samples.failures, failures: samples.failures };
}

async function measure(gateway: Gateway, row: Row): Promise<SamplerReport> {
  const body = row.stream ? REQUEST_BODIES.stream : REQUEST_BODIES.json;
  const load = {
    url: `${gateway.origin}/v1/chat/completions`,
    body,
    headers: gateway.headers,
    connections: CONNECTIONS,
    bodyFor: row.newQuestions ? newQuestionBodies(body) : undefined,
  };
  const primed = await runLoad({ ...load, until: { amount: PRIME_REQUESTS } });
  if (primed.failures > 0) throw new Error(`${row.name}: ${primed.failures} failed requests`);
  await gateway.sample({ type: 'sample-start' }, 'sample-started');
  const result =
    RATE > 0 ? await steadyLoad(load) : await runLoad({ ...load, until: { amount: REQUESTS } });
  const report = await gateway.sample<SamplerReport>({ type: 'sample-stop' }, 'sample-report');
  if (result.failures > 0) throw new Error(`${row.name}: ${result.failures} failed requests`);
  const perRequest = (bytes: number) => bytes / Math.max(1, result.requests);
  return {
    ...report,
    totalBytes: perRequest(report.totalBytes),
    bySite: report.bySite.map(([site, bytes]) => [site, perRequest(bytes)]),
    byFile: report.byFile.map(([file, bytes]) => [file, perRequest(bytes)]),
    collections: {
      ...report.collections,
      promotedBytes: perRequest(report.collections.promotedBytes),
    },
  };
}

async function main(): Promise<void> {
  const rows = ROWS.filter((row) => !ONLY || ONLY.test(row.name));
  if (rows.length === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no row`);
  bringBuildUpToDate();
  const upstream = await forkService(
    'upstream',
    new URL('./lib/fake-upstream-server.ts', import.meta.url),
    {},
  );
  const totals: [string, number, number][] = [];
  try {
    for (const cache of ['off', 'on'] as const) {
      const ours = rows.filter((row) => row.cache === cache);
      if (ours.length === 0) continue;
      const gateway = await startGateway(upstream, cache);
      try {
        for (const row of ours) {
          const report = await measure(gateway, row);
          totals.push([row.name, report.totalBytes, report.collections.promotedBytes]);
          const { young, full, promotedBytes } = report.collections;
          console.log(`\n${row.name}: ${kb(report.totalBytes)} ${COUNTED[OBJECTS]} per request`);
          console.log(
            `  promoted by young collections (V8's count): ${kb(promotedBytes)} per request; ${young} young, ${full} full collections`,
          );
          console.log('  by file:');
          for (const [file, bytes] of report.byFile.slice(0, TOP)) {
            console.log(`    ${kb(bytes).padStart(9)}  ${file}`);
          }
          console.log('  by allocating function:');
          for (const [site, bytes] of report.bySite.slice(0, TOP)) {
            console.log(`    ${kb(bytes).padStart(9)}  ${site}`);
          }
        }
      } finally {
        await gateway.stop();
      }
    }
  } finally {
    closeSteadyConnections();
    await upstream.stop();
  }
  console.log(
    `\nMain-thread bytes ${COUNTED[OBJECTS]} per request (${REQUESTS} requests per row, ${RATE > 0 ? `${RATE} per second` : `${CONNECTIONS} connections`}, after ${PRIME_REQUESTS} to prime):`,
  );
  console.log(`  ${'row'.padEnd(20)} ${'sampled'.padStart(9)} ${'promoted'.padStart(9)}`);
  for (const [name, bytes, promoted] of totals) {
    console.log(`  ${name.padEnd(20)} ${kb(bytes).padStart(9)} ${kb(promoted).padStart(9)}`);
  }
  console.log(
    "  (promoted: what the main heap's young collections moved to the old generation, V8's own count)",
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
