/**
 * Analytics query benchmark: seeds 1,000,000 metadata rows over 30 days into PGlite and into
 * PostgreSQL, then times the 30-day summary (group_by=day) and the first page of the log through
 * the same query functions the API uses, and the first page of sessions and one session's thread.
 * Goal: the summary answers in under 1 s on PostgreSQL.
 *
 *   npm run bench:analytics            (BENCH_ROWS, BENCH_DATABASE_URL to change the defaults)
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { DEFAULT_PRICES, priceRows } from '../src/analytics/prices.js';
import type { Database, DatabaseHandle, DatabaseTarget } from '../src/storage/database.js';
import { openDatabase } from '../src/storage/database.js';
import type { InteractionFilter } from '../src/storage/queries/analytics-filter.js';
import { listInteractionPage } from '../src/storage/queries/analytics-interactions.js';
import { rollUpPending } from '../src/storage/queries/analytics-rollups.js';
import { listSessionPage } from '../src/storage/queries/analytics-sessions.js';
import { summarizeInteractions } from '../src/storage/queries/analytics-summary.js';
import { vacuumChurnedTables } from '../src/storage/queries/vacuum.js';
import { runOnServer } from '../tests/helpers/server-sql.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SEED_BATCH_ROWS = 100_000;
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NOW = Date.parse('2025-06-01T00:00:00Z');
const DAYS = 30;
const RUNS = 5;
const MAIN_TENANT = 'ten_bench_main';

interface Result {
  driver: string;
  seedS: number;
  foldS: number;
  summary: number[];
  summaryHourly: number[];
  summaryTenant: number[];
  firstPage: number[];
  filteredPage: number[];
  sessionsPage: number[];
  sessionThread: number[];
}

/** One INSERT … SELECT per batch: a realistic mix of tenants, keys, models, statuses and timings. */
async function seed(db: Database, from: number, to: number): Promise<void> {
  const start = new Date(NOW - DAYS * 86_400_000).toISOString();
  await db.execute(sql`
    insert into interactions (id, created_at, tenant_id, key_id, end_user, model, upstream_model,
      provider, status, error_code, cache_status, stream, prompt_tokens, completion_tokens,
      tokens_saved_compression, latency_ms, upstream_ms, ttft_ms, session_id)
    select
      md5(r.i::text || 'bench')::uuid,
      -- Rows arrive in time order, as the log writer appends them.
      ${start}::timestamptz + ((r.i + r.t) / ${ROWS}::int * ${DAYS}::int * 86400) * interval '1 second',
      case when r.a < 0.6 then ${MAIN_TENANT} else 'ten_bench_' || (r.i % 7) end,
      'key_' || (r.i % 40),
      'user_' || (r.i % 2000),
      m.model,
      m.model,
      'openai',
      case when r.b < 0.02 then 500 when r.b < 0.05 then 429 when r.b < 0.06 then 400 else 200 end,
      case when r.b < 0.06 then 'upstream_error' end,
      case when r.c < 0.18 then 'hit' when r.c < 0.24 then 'semantic-hit'
           when r.c < 0.26 then 'bypass' else 'miss' end,
      r.d < 0.5,
      (50 + r.e * 3000)::int,
      (10 + r.f * 800)::int,
      (r.e * 120)::int,
      case when r.c < 0.24 then 2 + r.f * 10 else 150 + r.f * r.f * 4000 end,
      case when r.c < 0.24 then null else 140 + r.f * r.f * 3900 end,
      case when r.d < 0.5 then 80 + r.e * 600 end,
      -- Four requests in five belong to a session of about eight turns.
      case when r.b < 0.8 then 'session_' || (r.i / 8) end
    from (select i, random() as t, random() as a, random() as b, random() as c, random() as d,
        random() as e, random() as f, random() as g
      from generate_series(${from}::int, ${to - 1}::int) as s(i)) as r
    cross join lateral (select (array['gpt-4o-mini','gpt-4o-mini','gpt-4o-mini','gpt-4o',
      'gpt-4.1-mini','gpt-4.1','gpt-4.1-nano','o4-mini','o3','gpt-3.5-turbo'])[1 + floor(r.g * 10)::int]
      as model) as m`);
}

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: plans and caches
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

async function runOn(
  driver: string,
  target: DatabaseTarget,
  vacuum: (db: Database) => Promise<void>,
) {
  if (process.env.BENCH_ONLY && process.env.BENCH_ONLY !== driver) return null;
  const handle: DatabaseHandle = await openDatabase(target);
  try {
    await handle.migrate();
    const t0 = performance.now();
    for (let from = 0; from < ROWS; from += SEED_BATCH_ROWS) {
      await seed(handle.db, from, Math.min(ROWS, from + SEED_BATCH_ROWS));
      process.stderr.write(`\r${driver}: seeded ${Math.min(ROWS, from + SEED_BATCH_ROWS)} rows`);
    }
    const seedS = (performance.now() - t0) / 1000;
    process.stderr.write(` in ${seedS.toFixed(1)} s\n`);
    // What the gateway does every few seconds as rows arrive, here in one go.
    const t1 = performance.now();
    await rollUpPending(handle.db);
    await vacuum(handle.db);
    const foldS = (performance.now() - t1) / 1000;
    const window = { from: new Date(NOW - DAYS * 86_400_000), to: new Date(NOW) };
    const all: InteractionFilter = { tenantId: null, ...window };
    const tenant: InteractionFilter = { tenantId: MAIN_TENANT, ...window };
    const prices = priceRows(DEFAULT_PRICES);
    const result: Result = {
      driver,
      seedS,
      foldS,
      summary: await time(() => summarizeInteractions(handle.db, all, 'day', prices)),
      summaryHourly: await time(() => summarizeInteractions(handle.db, tenant, 'hour', prices)),
      summaryTenant: await time(() => summarizeInteractions(handle.db, tenant, 'day', prices)),
      firstPage: await time(() =>
        listInteractionPage(handle.db, tenant, { limit: 100, order: 'desc' }),
      ),
      filteredPage: await time(() =>
        listInteractionPage(
          handle.db,
          { ...tenant, model: 'o3', status: 'error' },
          { limit: 100, order: 'desc' },
        ),
      ),
      sessionsPage: await time(() => listSessionPage(handle.db, tenant, { limit: 100 }, prices)),
      sessionThread: await time(() =>
        listInteractionPage(
          handle.db,
          { tenantId: MAIN_TENANT, sessionId: `session_${Math.floor(ROWS / 16)}` },
          { limit: 100, order: 'asc' },
        ),
      ),
    };
    return result;
  } finally {
    await handle.close();
  }
}

function fmt(samples: number[]): string {
  const median = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
  const best = samples[0] ?? Number.NaN;
  return `${median.toFixed(1)} (${best.toFixed(1)})`.padStart(18);
}

async function main() {
  const results: Result[] = [];
  // The embedded database has no autovacuum: the gateway vacuums the churned tables every 10 s.
  const pglite = await runOn('pglite', { kind: 'pglite', dataDir: null }, vacuumChurnedTables);
  if (pglite) results.push(pglite);
  const name = `tollgate_bench_${randomBytes(4).toString('hex')}`;
  await runOnServer(SERVER_URL, `CREATE DATABASE "${name}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  try {
    const pg = await runOn('postgres', { kind: 'postgres', url: url.toString() }, () =>
      runOnServer(
        url.toString(),
        'VACUUM ANALYZE interactions, interaction_rollups_daily, interaction_histograms_daily, interaction_rollup_pending, interaction_histogram_pending',
      ),
    );
    if (pg) results.push(pg);
  } finally {
    if (process.env.BENCH_KEEP) process.stderr.write(`kept database ${name}\n`);
    else await runOnServer(SERVER_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
  const rows = ROWS.toLocaleString('en-US');
  process.stdout.write(
    `\nAnalytics queries over ${rows} rows, ${DAYS} days; ms, median (best) of ${RUNS} runs\n\n`,
  );
  process.stdout.write(
    `${'driver'.padEnd(10)}${'seed s'.padStart(8)}${'fold s'.padStart(8)}${'summary all'.padStart(18)}${'summary tenant'.padStart(18)}${'tenant by hour'.padStart(18)}${'first page'.padStart(18)}${'filtered page'.padStart(18)}${'sessions page'.padStart(18)}${'session thread'.padStart(18)}\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `${r.driver.padEnd(10)}${r.seedS.toFixed(1).padStart(8)}${r.foldS.toFixed(1).padStart(8)}${fmt(r.summary)}${fmt(r.summaryTenant)}${fmt(r.summaryHourly)}${fmt(r.firstPage)}${fmt(r.filteredPage)}${fmt(r.sessionsPage)}${fmt(r.sessionThread)}\n`,
    );
  }
  const pg = results.find((r) => r.driver === 'postgres');
  if (!pg) {
    process.stdout.write('\n30-day summary on PostgreSQL: not measured in this run\n');
    return;
  }
  const worst = Math.max(...pg.summary, ...pg.summaryTenant);
  process.stdout.write(
    `\n30-day summary on PostgreSQL, slowest run: ${worst.toFixed(0)} ms (goal < 1000 ms): ${worst < 1000 ? 'met' : 'NOT met'}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
