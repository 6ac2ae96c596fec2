import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptRowField, generateDataKey } from '../src/crypto/envelope.js';
import { openOutbox } from '../src/recording/outbox.js';
import { createInteractionWriter } from '../src/recording/writer.js';
import { createLogger } from '../src/runtime/logger.js';
import { uuidv7 } from '../src/runtime/uuidv7.js';
import type { DatabaseTarget } from '../src/storage/database.js';
import { openDatabase } from '../src/storage/database.js';
import { insertInteractions, storeInteractions } from '../src/storage/queries/interactions.js';
import type { NewInteraction } from '../src/storage/schema.js';
import { runOnServer } from '../tests/helpers/server-sql.js';

/**
 * Rows per second the interaction writer sustains into each database: realistic rows (metadata
 * plus request and response of ~0.7 KB JSON each, encrypted beforehand so only the writer is timed),
 * enqueued as fast as possible, timed until the last batch is in. Into each database, the gateway's
 * binary COPY and the JSON insert run side by side.
 * Env: BENCH_ROWS (50000), BENCH_BATCH (500), BENCH_DATABASE_URL (PostgreSQL server; default the
 * local one; a database is created for the run and dropped after).
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini'];

async function makeRows(n: number): Promise<NewInteraction[]> {
  const key = generateDataKey();
  const request = {
    model: 'gpt-4o-mini',
    messages: [
      {
        role: 'user',
        content: 'Summarise the attached report in three bullet points. '.repeat(12),
      },
    ],
  };
  const response = {
    choices: [{ message: { role: 'assistant', content: 'A short answer. '.repeat(40) } }],
  };
  const rows: NewInteraction[] = [];
  const start = Date.now() - n;
  for (let i = 0; i < n; i++) {
    const id = uuidv7(start + i);
    const ctx = { rowId: id, tenantId: 'ten_bench' };
    rows.push({
      id,
      createdAt: new Date(start + i),
      tenantId: 'ten_bench',
      keyId: `key_${i % 20}`,
      model: MODELS[i % MODELS.length] ?? 'gpt-4o-mini',
      provider: 'default',
      status: i % 50 === 0 ? 502 : 200,
      stream: i % 3 === 0,
      promptTokens: 120 + (i % 50),
      completionTokens: 80 + (i % 30),
      latencyMs: 300 + (i % 700),
      upstreamMs: 290 + (i % 700),
      requestEnc: await encryptRowField(key, request, { ...ctx, field: 'request' }),
      responseEnc: await encryptRowField(key, response, { ...ctx, field: 'response' }),
    });
  }
  return rows;
}

/** How a batch reaches the database: the handle's own way (the gateway's), or the JSON insert. */
type InsertPath = 'gateway' | 'json';

async function timeInto(
  target: DatabaseTarget,
  rows: readonly NewInteraction[],
  path: InsertPath = 'gateway',
): Promise<number> {
  const handle = await openDatabase(target);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-outbox-'));
  try {
    await handle.migrate();
    const writer = createInteractionWriter({
      insert: (batch) =>
        path === 'gateway'
          ? storeInteractions(handle, batch)
          : insertInteractions(handle.db, batch),
      outbox: await openOutbox(dir, () => {}),
      logger: createLogger('warn'),
      batchSize: BATCH,
    });
    const started = performance.now();
    for (const row of rows) writer.enqueue(row);
    await writer.close();
    const seconds = (performance.now() - started) / 1000;
    if (writer.metrics.rowsWritten !== rows.length || writer.metrics.outboxRows !== 0) {
      throw new Error(
        `wrote ${writer.metrics.rowsWritten} of ${rows.length} rows (outbox ${writer.metrics.outboxRows})`,
      );
    }
    return rows.length / seconds;
  } finally {
    await handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh database of one kind for one timed run, and how to remove it. */
interface Place {
  name: string;
  open(): Promise<{ target: DatabaseTarget; remove(): Promise<void> }>;
}

const PLACES: Place[] = [
  {
    name: 'PGlite (in memory)',
    open: async () => ({ target: { kind: 'pglite', dataDir: null }, remove: async () => {} }),
  },
  {
    name: 'PGlite (files)',
    open: async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-pglite-'));
      return {
        target: { kind: 'pglite', dataDir },
        remove: async () => rmSync(dataDir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const name = `tollgate_bench_${process.pid}_${Date.now()}`;
      await runOnServer(SERVER, `CREATE DATABASE "${name}"`);
      const url = new URL(SERVER);
      url.pathname = `/${name}`;
      return {
        target: { kind: 'postgres', url: url.toString() },
        remove: () => runOnServer(SERVER, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      };
    },
  },
];

async function main(): Promise<void> {
  process.stderr.write(`encrypting ${ROWS} rows…\n`);
  const rows = await makeRows(ROWS);
  const results: [string, number][] = [];
  const ratios: string[] = [];
  for (const place of PLACES) {
    const times: Record<InsertPath, number> = { gateway: 0, json: 0 };
    try {
      // Side by side, alternating, each on a fresh database: binary COPY (what the gateway sends)
      // and the JSON insert (what it falls back to for a replayed batch).
      for (const path of ['gateway', 'json', 'gateway', 'json'] as const) {
        const { target, remove } = await place.open();
        try {
          times[path] = Math.max(times[path], await timeInto(target, rows, path));
        } finally {
          await remove();
        }
      }
    } catch (err) {
      process.stderr.write(`${place.name} skipped: ${(err as Error).message}\n`);
      continue;
    }
    results.push([`${place.name}, COPY`, times.gateway], [`${place.name}, JSON`, times.json]);
    ratios.push(`${place.name}: COPY ÷ JSON insert ${(times.gateway / times.json).toFixed(2)}×`);
  }
  console.log(
    `interaction writer, ${ROWS} rows of ~${Math.round((rows[0]?.requestEnc?.length ?? 0) + (rows[0]?.responseEnc?.length ?? 0))} bytes ciphertext, batches of ${BATCH}`,
  );
  for (const [db, perS] of results)
    console.log(`${db.padEnd(28)} ${Math.round(perS).toLocaleString('en-US').padStart(9)} rows/s`);
  console.log(`(best of two runs each)\n${ratios.join('\n')}`);
}

await main();
