import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnServer } from '../tests/helpers/server-sql.js';
import { envNumber } from './lib/env-number.js';
import type { LoadResult } from './lib/load.js';
import { runLoad } from './lib/load.js';
import { postgresServerMicros, postgresServerMicrosBetween } from './lib/postgres-cpu.js';
import { newQuestionBodies, REQUEST_BODIES } from './lib/questions.js';
import type { RowSummary } from './lib/report.js';
import { formatComparison, formatFeatureCost, formatRowRatio, formatTable } from './lib/report.js';
import type { ServiceHandle } from './lib/service-process.js';
import { forkService } from './lib/service-process.js';
import { bringBuildUpToDate, startCommand } from './lib/start-command.js';

/**
 * What the gateway costs on top of the network: the same request, under the same load, sent
 * straight to a fake provider, through a bare undici proxy, and through Tollgate.
 *
 * Every server runs in its own process (fake upstream, proxy, each Tollgate variant); autocannon
 * runs here. So no server shares an event loop with another or with the load generator, and the
 * CPU each one burns can be read per process. Rows run in rounds whose order alternates, so slow
 * drift on a shared machine hits every row alike; each row reports its best round.
 *
 * Before the first round every row is primed with the same number of requests, so JIT warm-up
 * of a fresh process is not billed to whichever row happens to run first.
 *
 * Env: BENCH_DURATION_S (5), BENCH_WARMUP_S (2), BENCH_CONNECTIONS (32), BENCH_ROUNDS (2),
 * BENCH_PRIME_REQUESTS (3000), BENCH_ONLY (regular expression on row names), BENCH_EMBEDDED (files:
 * a data directory per Tollgate process, as the quick start runs; or memory), BENCH_DATABASE_URL
 * (the PostgreSQL server the `on PostgreSQL` rows record into, default the local one; a database
 * is created for the run and dropped after; unreachable, those rows are skipped), BENCH_CPU_PROF_DIR
 * (V8 CPU profiles of the Tollgate processes, one folder per service and one file per thread, in
 * the order they start: the main thread and the TypeScript loader's thread of the bench's own
 * modules, then the database thread (PGlite) and the row sealing thread). A profile samples wall time while its thread
 * is busy, so on a loaded machine it counts time the thread waited for a core. Per-thread CPU
 * (from /proc/<pid>/task/<tid>/stat, on Linux) is printed after the table for every Tollgate
 * row: the main thread, each worker thread by its entry's name, and the rest (V8's helper
 * threads, which do most of the concurrent garbage collection, the libuv pool, the loader);
 * for the `on PostgreSQL` rows also the server's own CPU (every `postgres` process on this
 * machine, from /proc), which the gateway's CPU per request leaves out while an embedded row
 * counts its database thread: compare the two with it. Tollgate processes run the compiled gateway (dist/, brought up to date first) with the Node
 * flags and environment of `npm start` (its script in package.json); BENCH_NODE_FLAGS adds flags (e.g. `--trace-gc`, whose lines reach this process's
 * standard output).
 *
 * To add a row: list its process in SERVICES (e.g. `tollgate('tollgate-redis', { REDIS_URL })`)
 * and its request in SCENARIOS, with a `setup` hook for anything it needs first.
 */

const DURATION_S = envNumber('BENCH_DURATION_S', 5);
const WARMUP_S = envNumber('BENCH_WARMUP_S', 2);
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 32));
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 2));
const PRIME_REQUESTS = Math.round(envNumber('BENCH_PRIME_REQUESTS', 3000));
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;
/** The PostgreSQL rows' server CPU in the by-thread breakdown (not part of the gateway's). */
const POSTGRES_SERVER_LABEL = 'PostgreSQL server';
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
/** Tollgate processes run with the flags and environment of `npm start`. */
const START = startCommand();

/** A process the rows can load: started once, before the first round, in list order. */
interface ServiceSpec {
  name: string;
  entry: URL;
  /** Its environment, given the services started before it. */
  env(started: ReadonlyMap<string, ServiceHandle>): Record<string, string>;
  /** Profile it when BENCH_CPU_PROF_DIR is set. */
  profiled?: boolean;
  /** It stores into the run's PostgreSQL database (created before it starts, dropped after). */
  postgres?: boolean;
}

/** One row of the table. */
interface Scenario {
  name: string;
  /** The service that receives the load (and whose CPU is measured). */
  service: string;
  /** Rows of a group share a request body and are compared with that group's baselines. */
  group: 'json' | 'stream';
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Sends a new question on every request (a true cache miss), as real traffic does. */
  newQuestions?: boolean;
  /** Runs once, after the request has been checked, before the first round (fill a cache, …). */
  setup?(target: ServiceHandle, request: RowRequest): Promise<void>;
}

/** The exact request a row sends, repeated. */
interface RowRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  bodyFor?: (() => string) | undefined;
}

function originOf(started: ReadonlyMap<string, ServiceHandle>, name: string): string {
  const service = started.get(name);
  if (!service) throw new Error(`service ${name} must be listed before the services that use it`);
  return service.origin;
}

/** A throw-away master key for this run's data directories. */
const BENCH_MASTER_KEY = `bench:${randomBytes(32).toString('base64')}`;

/** How the Tollgate processes keep their embedded database (BENCH_EMBEDDED). */
const EMBEDDED = process.env.BENCH_EMBEDDED ?? 'files';
if (EMBEDDED !== 'files' && EMBEDDED !== 'memory') {
  throw new Error('BENCH_EMBEDDED must be files or memory');
}

/**
 * Where each Tollgate process keeps its embedded database: by default in a fresh data directory,
 * as the quick start runs it; with BENCH_EMBEDDED=memory, in memory (memory://).
 */
function embeddedDatabase(name: string): Record<string, string> {
  if (EMBEDDED === 'memory') return { DATABASE_URL: 'memory://' };
  const dir = mkdtempSync(join(tmpdir(), `tollgate-bench-${name}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // A master key as production sets one; without it every process would generate its own
  // master.key and warn about backing it up.
  return { TOLLGATE_DATA_DIR: dir, TOLLGATE_MASTER_KEYS: BENCH_MASTER_KEY };
}

/** The PostgreSQL server the `on PostgreSQL` rows record into (BENCH_DATABASE_URL). */
const POSTGRES_SERVER =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database created on POSTGRES_SERVER for this run, or null when none is needed or reachable. */
let benchDatabase: { url: string; drop(): Promise<void> } | null = null;

async function createBenchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tollgate_bench_overhead_${process.pid}`;
  await runOnServer(POSTGRES_SERVER, `CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await runOnServer(POSTGRES_SERVER, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(
        () => {},
      );
    },
  };
}

/** A Tollgate process on the run's PostgreSQL database (its outbox in a fresh directory). */
function tollgateOnPostgres(name: string, env: Record<string, string>): ServiceSpec {
  const spec = tollgate(name, env);
  return {
    ...spec,
    postgres: true,
    env: (started) => {
      if (!benchDatabase) throw new Error(`${name} needs the run's PostgreSQL database`);
      const { DATABASE_URL: _memory, ...rest } = spec.env(started);
      const dir = mkdtempSync(join(tmpdir(), `tollgate-bench-${name}-`));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      return {
        ...rest,
        TOLLGATE_DATA_DIR: dir,
        TOLLGATE_MASTER_KEYS: BENCH_MASTER_KEY,
        DATABASE_URL: benchDatabase.url,
      };
    },
  };
}

/** A Tollgate process on an embedded database, talking to the fake upstream. */
function tollgate(name: string, env: Record<string, string>): ServiceSpec {
  return {
    name,
    entry: new URL('./lib/gateway-process.ts', import.meta.url),
    profiled: true,
    env: (started) => ({
      ...START.env,
      PORT: '0',
      HOST: '127.0.0.1',
      ...embeddedDatabase(name),
      LOG_LEVEL: 'warn',
      UPSTREAM_BASE_URL: `${originOf(started, 'upstream')}/v1`,
      UPSTREAM_API_KEY: 'sk-bench-upstream-key',
      SHUTDOWN_TIMEOUT_MS: '2000',
      ...env,
    }),
  };
}

/** Limits no load here reaches: the rows measure the cost of checking them, not of hitting them. */
const HIGH_LIMITS = JSON.stringify({ rpm: 1e9, tpm: 2e9, maxConcurrency: 1e6 });

const SERVICES: ServiceSpec[] = [
  {
    name: 'upstream',
    entry: new URL('./lib/fake-upstream-server.ts', import.meta.url),
    env: () => ({}),
  },
  {
    name: 'proxy',
    entry: new URL('./lib/bare-proxy.ts', import.meta.url),
    env: (started) => ({ BENCH_TARGET_URL: originOf(started, 'upstream') }),
  },
  // Every row sends the same body again and again: the cache stays off except where it is priced.
  tollgate('tollgate', { BENCH_UPSTREAM_HTTP: 'pooled', CACHE: 'off' }),
  tollgate('tollgate-fetch', { BENCH_UPSTREAM_HTTP: 'global', CACHE: 'off' }),
  tollgate('tollgate-no-record', { BENCH_RECORDING: 'off', CACHE: 'off' }),
  tollgateOnPostgres('tollgate-postgres', { CACHE: 'off' }),
  tollgateOnPostgres('tollgate-postgres-no-record', { BENCH_RECORDING: 'off', CACHE: 'off' }),
  tollgate('tollgate-no-compress', { COMPRESSION: 'off', CACHE: 'off' }),
  tollgate('tollgate-limits-memory', { BENCH_KEY_SPEC: HIGH_LIMITS, CACHE: 'off' }),
  tollgate('tollgate-limits-redis', {
    BENCH_KEY_SPEC: HIGH_LIMITS,
    CACHE: 'off',
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  }),
  tollgate('tollgate-cache', { CACHE: 'on' }),
  tollgateOnPostgres('tollgate-postgres-cache', { CACHE: 'on' }),
  tollgate('tollgate-cache-model', { CACHE: 'on', EMBEDDINGS: 'model' }),
];

const SCENARIOS: Scenario[] = (['json', 'stream'] as const).flatMap((group) => [
  { name: `${group} · direct to upstream`, service: 'upstream', group },
  { name: `${group} · bare undici proxy`, service: 'proxy', group },
  { name: `${group} · tollgate (pooled)`, service: 'tollgate', group },
  { name: `${group} · tollgate (global fetch)`, service: 'tollgate-fetch', group },
  { name: `${group} · tollgate, recording off`, service: 'tollgate-no-record', group },
  { name: `${group} · tollgate on PostgreSQL`, service: 'tollgate-postgres', group },
  {
    name: `${group} · tollgate on PostgreSQL, recording off`,
    service: 'tollgate-postgres-no-record',
    group,
  },
  { name: `${group} · tollgate, compression off`, service: 'tollgate-no-compress', group },
  { name: `${group} · tollgate, limits (memory)`, service: 'tollgate-limits-memory', group },
  { name: `${group} · tollgate, limits (redis)`, service: 'tollgate-limits-redis', group },
  // The miss path with the cache on: no-cache skips the lookup, the answer is still stored.
  {
    name: `${group} · tollgate, cache miss`,
    service: 'tollgate-cache',
    group,
    headers: { 'cache-control': 'no-cache' },
  },
  { name: `${group} · tollgate, cache hit`, service: 'tollgate-cache', group },
  // The default configuration as real traffic meets it: every question new.
  { name: `${group} · tollgate, true miss`, service: 'tollgate-cache', group, newQuestions: true },
  {
    name: `${group} · tollgate on PostgreSQL, true miss`,
    service: 'tollgate-postgres-cache',
    group,
    newQuestions: true,
  },
  {
    name: `${group} · tollgate on PostgreSQL, cache hit`,
    service: 'tollgate-postgres-cache',
    group,
  },
  {
    name: `${group} · tollgate, true miss, model embedder`,
    service: 'tollgate-cache-model',
    group,
    newQuestions: true,
  },
]);

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Sends the row's request once and refuses to measure anything but a complete, correct answer. */
async function checkRequest(scenario: Scenario, request: RowRequest): Promise<void> {
  const res = await fetch(request.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...request.headers },
    body: request.bodyFor ? request.bodyFor() : request.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const complete =
    scenario.group === 'stream'
      ? text.trimEnd().endsWith('data: [DONE]')
      : text.includes('"choices"');
  if (res.status !== 200 || !complete) {
    throw new Error(`${scenario.name}: check request got ${res.status}: ${text.slice(0, 300)}`);
  }
}

interface Measurement extends LoadResult {
  cpuMicrosPerRequest: number;
  /** The same CPU by kind of thread (main, each worker, the rest); empty off Linux. */
  threadMicrosPerRequest: Record<string, number>;
}

async function measure(
  target: ServiceHandle,
  request: RowRequest,
  onPostgres: boolean,
): Promise<Measurement> {
  const load = { ...request, connections: CONNECTIONS };
  await runLoad({ ...load, until: { durationS: WARMUP_S } });
  const serverBefore = onPostgres ? postgresServerMicros() : null;
  const before = await target.cpuReading();
  const result = await runLoad({ ...load, until: { durationS: DURATION_S } });
  const after = await target.cpuReading();
  const serverAfter = onPostgres ? postgresServerMicros() : null;
  const requests = Math.max(1, result.requests);
  const threadMicrosPerRequest: Record<string, number> = {};
  for (const [label, micros] of Object.entries(after.threads)) {
    threadMicrosPerRequest[label] = (micros - (before.threads[label] ?? 0)) / requests;
  }
  if (serverBefore !== null && serverAfter !== null && serverAfter.size > 0) {
    threadMicrosPerRequest[POSTGRES_SERVER_LABEL] =
      postgresServerMicrosBetween(serverBefore, serverAfter) / requests;
  }
  return {
    ...result,
    cpuMicrosPerRequest: (after.micros - before.micros) / requests,
    threadMicrosPerRequest,
  };
}

/** Each Tollgate row's CPU per request by thread, from its round with the least CPU. */
function formatThreadBreakdown(prepared: readonly PreparedRow[]): string[] {
  const lines: string[] = [];
  for (const row of prepared) {
    if (!row.scenario.service.startsWith('tollgate') || row.runs.length === 0) continue;
    const least = row.runs.reduce((a, b) =>
      b.cpuMicrosPerRequest < a.cpuMicrosPerRequest ? b : a,
    );
    const parts = Object.entries(least.threadMicrosPerRequest)
      .sort(([, a], [, b]) => b - a)
      .map(([label, micros]) => `${label} ${micros.toFixed(0)}`);
    if (parts.length > 0) lines.push(`  ${row.scenario.name}: ${parts.join(' · ')}`);
  }
  return lines.length === 0
    ? []
    : [
        '',
        'CPU µs/req by thread (/proc, 10 ms ticks; round with the least CPU; GC pauses are part of main;',
        `  "${POSTGRES_SERVER_LABEL}": the server's processes on this machine, not in CPU µs/req):`,
        ...lines,
      ];
}

interface PreparedRow {
  scenario: Scenario;
  target: ServiceHandle;
  request: RowRequest;
  runs: Measurement[];
}

function summarize(scenario: Scenario, runs: readonly Measurement[]): RowSummary {
  const best = runs.reduce((a, b) => (b.requestsPerS > a.requestsPerS ? b : a));
  const worst = Math.min(...runs.map((r) => r.requestsPerS));
  return {
    name: scenario.name,
    group: scenario.group,
    service: scenario.service,
    requestsPerS: best.requestsPerS,
    p50Ms: best.p50Ms,
    p99Ms: best.p99Ms,
    cpuMicrosPerRequest: Math.min(...runs.map((r) => r.cpuMicrosPerRequest)),
    spread: (best.requestsPerS - worst) / best.requestsPerS,
    failures: runs.reduce((sum, r) => sum + r.failures, 0),
  };
}

async function startServices(
  scenarios: readonly Scenario[],
  started: Map<string, ServiceHandle>,
): Promise<void> {
  const needed = new Set(['upstream', ...scenarios.map((s) => s.service)]);
  for (const spec of SERVICES) {
    if (!needed.has(spec.name)) continue;
    const execArgv = [
      ...(CPU_PROF_DIR && spec.profiled
        ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROF_DIR, spec.name)}`]
        : []),
      ...(spec.profiled ? [...START.nodeFlags, ...NODE_FLAGS] : []),
    ];
    log(`starting ${spec.name}…`);
    started.set(spec.name, await forkService(spec.name, spec.entry, spec.env(started), execArgv));
  }
}

function printReport(rows: readonly RowSummary[]): void {
  const cpu = cpus();
  console.log(
    `\nTollgate overhead — ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per row, ` +
      `best of ${ROUNDS} alternating rounds; embedded database: ${EMBEDDED === 'files' ? 'data directory on disk' : 'in memory'}; ` +
      `node ${process.version}, ${cpu.length}× ${cpu[0]?.model ?? 'cpu'}\n`,
  );
  console.log(formatTable(rows));
  console.log(
    [
      '',
      'req/s, p50, p99: from the round with the best req/s; latency is to the last byte of the response.',
      '×direct, ×proxy: req/s relative to the same body sent straight to the fake upstream / through the bare proxy.',
      'CPU µs/req: user+system CPU of the process receiving the load, lowest over the rounds',
      '  (on direct rows that is the fake upstream itself).',
      'spread: (best − worst) / best req/s over the rounds.',
      '',
      ...formatComparison(rows, 'tollgate', 'tollgate-fetch', 'pooled undici client gives'),
      '',
      'Feature costs (on ÷ off, same run):',
      ...formatFeatureCost(rows, 'tollgate', 'tollgate-no-record', 'recording on vs off'),
      ...formatFeatureCost(
        rows,
        'tollgate-postgres',
        'tollgate-postgres-no-record',
        'recording on vs off (PostgreSQL)',
      ),
      ...formatFeatureCost(rows, 'tollgate', 'tollgate-no-compress', 'safe compression vs off'),
      ...formatFeatureCost(
        rows,
        'tollgate-limits-memory',
        'tollgate',
        'rate limits (memory) vs none',
      ),
      ...formatFeatureCost(
        rows,
        'tollgate-limits-redis',
        'tollgate',
        'rate limits (redis) vs none',
      ),
      ...formatRowRatio(rows, 'cache hit', 'cache miss', 'cache hit vs miss path'),
    ].join('\n'),
  );
}

async function run(started: Map<string, ServiceHandle>): Promise<void> {
  let scenarios = SCENARIOS.filter((s) => !ONLY || ONLY.test(s.name));
  if (scenarios.length === 0)
    throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no row`);
  const onPostgres = new Set(SERVICES.filter((s) => s.postgres).map((s) => s.name));
  if (scenarios.some((s) => onPostgres.has(s.service))) {
    try {
      benchDatabase = await createBenchDatabase();
    } catch (err) {
      log(`PostgreSQL rows skipped: ${POSTGRES_SERVER} — ${(err as Error).message}`);
      scenarios = scenarios.filter((s) => !onPostgres.has(s.service));
    }
  }
  await startServices(scenarios, started);

  const prepared: PreparedRow[] = [];
  for (const scenario of scenarios) {
    const target = started.get(scenario.service);
    if (!target) throw new Error(`${scenario.name}: unknown service ${scenario.service}`);
    const request: RowRequest = {
      url: `${target.origin}${scenario.path ?? '/v1/chat/completions'}`,
      body: scenario.body ?? REQUEST_BODIES[scenario.group],
      headers: { ...target.headers, ...scenario.headers },
      bodyFor: scenario.newQuestions
        ? newQuestionBodies(REQUEST_BODIES[scenario.group])
        : undefined,
    };
    await checkRequest(scenario, request);
    await scenario.setup?.(target, request);
    // A fresh gateway needs a few thousand requests before its CPU per request settles (it
    // falls about threefold), far more than a short warm-up gives; every row gets the same.
    log(`priming ${scenario.name} with ${PRIME_REQUESTS} requests…`);
    await runLoad({ ...request, connections: CONNECTIONS, until: { amount: PRIME_REQUESTS } });
    prepared.push({ scenario, target, request, runs: [] });
  }

  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? prepared : [...prepared].reverse();
    for (const row of order) {
      const m = await measure(row.target, row.request, onPostgres.has(row.scenario.service));
      row.runs.push(m);
      log(
        `round ${round + 1}/${ROUNDS} ${row.scenario.name}: ${m.requestsPerS.toFixed(0)} req/s, ` +
          `p50 ${m.p50Ms.toFixed(2)} ms, ${m.cpuMicrosPerRequest.toFixed(0)} µs CPU/req`,
      );
    }
  }

  const rows = prepared.map((p) => summarize(p.scenario, p.runs));
  printReport(rows);
  for (const line of formatThreadBreakdown(prepared)) console.log(line);
  console.log('\nResident memory (RSS) of each gateway process after its rows:');
  for (const [name, handle] of started) {
    if (!name.startsWith('tollgate')) continue;
    await handle.cpuMicros();
    console.log(`  ${name.padEnd(32)} ${(handle.rssBytes() / 1024 / 1024).toFixed(0)} MB`);
  }
  if (rows.some((r) => r.failures > 0)) {
    throw new Error('some requests failed; the rows marked in the "failed" column are not valid');
  }
}

async function main(): Promise<number> {
  log('bringing the build up to date…');
  bringBuildUpToDate();
  const started = new Map<string, ServiceHandle>();
  // Front processes first, the fake upstream last, so nothing logs a dead upstream on the way out.
  const stopAll = async () => {
    for (const service of [...started.values()].reverse()) await service.stop();
  };
  // Rounds are fixed-length; priming is by count, so allow it a slow 100 requests per second.
  const rowsUpperBound =
    SCENARIOS.length * (ROUNDS * (WARMUP_S + DURATION_S + 15) + PRIME_REQUESTS / 100);
  const watchdog = setTimeout(
    () => {
      log(`benchmark exceeded its ${Math.round(rowsUpperBound + 120)} s bound; stopping`);
      void stopAll().finally(() => process.exit(1));
    },
    (rowsUpperBound + 120) * 1000,
  );
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stopAll().finally(() => process.exit(130)));
  }
  try {
    await run(started);
    return 0;
  } catch (err) {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 1;
  } finally {
    await stopAll();
    await benchDatabase?.drop();
    clearTimeout(watchdog);
  }
}

process.exitCode = await main();
