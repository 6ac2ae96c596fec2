import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../src/deps.js';
import { listAudit } from '../../src/storage/queries/audit-log.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { startAnalyticsGateway } from '../helpers/analytics-client.js';
import { expectedBulkRow, recordInteraction, seedBulkRows } from '../helpers/analytics-seed.js';
import { createCsvReader } from '../helpers/csv-reader.js';
import type { TestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

const EXPORT_ROWS = 100_000;
const HEAP_GROWTH_LIMIT_BYTES = 50 * 1024 * 1024;
const START = new Date('2025-04-01T00:00:00Z');

// Heap is measured after a full collection, so only memory the export still holds is counted.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function liveHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function asCsv(value: string | number | boolean | null | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}

describe.each(storageDrivers())('analytics export on $name', (driver) => {
  let target: TestDatabaseTarget;
  let gateway: TestApp;
  let deps: Deps;
  let reader: { key: string; id: string; tenantId: string };
  let contentReader: { key: string; id: string; tenantId: string };

  beforeAll(async () => {
    // The gateway's periodic jobs (the rollup fold above all) do not run here: on a slow machine
    // a fold of the seeded rows would hold the database while these tests read it.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    target = await driver.create();
    ({ gateway, deps } = await startAnalyticsGateway(target));
    await insertTenant(deps.database.db, 'acme');
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
    contentReader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:content'] });
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.drop();
    vi.useRealTimers();
  });

  beforeEach(async () => {
    await deps.database.db.execute(sql`truncate interactions, audit_log`);
  });

  const exportOf = (query: string, key: string) =>
    gateway.request(`/analytics/export?${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });

  it('streams 100,000 rows as CSV with bounded memory, and the CSV parses back to the same rows', async () => {
    await seedBulkRows(deps.database.db, reader.tenantId, EXPORT_ROWS, START);
    const baseline = liveHeap();
    let peak = baseline;
    const res = await exportOf('format=csv', reader.key);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const body = res.body;
    if (!body) throw new Error('export has no body');
    const csv = createCsvReader();
    const decoder = new TextDecoder();
    let header: string[] | undefined;
    let index = 0;
    let chunks = 0;
    for await (const chunk of body) {
      for (const record of csv.push(decoder.decode(chunk, { stream: true }))) {
        if (!header) {
          header = record;
          continue;
        }
        const row = Object.fromEntries(header.map((name, i) => [name, record[i]]));
        const expected = expectedBulkRow(index, reader.tenantId, START);
        for (const [name, value] of Object.entries(expected)) {
          if (row[name] !== asCsv(value)) {
            throw new Error(`row ${index} field ${name}: ${row[name]} != ${asCsv(value)}`);
          }
        }
        index++;
      }
      if (++chunks % 25 === 0) peak = Math.max(peak, liveHeap());
    }
    expect(header).not.toContain('request');
    expect(index).toBe(EXPORT_ROWS);
    expect(peak - baseline, `heap grew by ${peak - baseline} bytes`).toBeLessThan(
      HEAP_GROWTH_LIMIT_BYTES,
    );
    const audit = await listAudit(deps.database.db);
    expect(audit.map((a) => a.action)).toEqual(['analytics.export']);
    expect(audit[0]?.details).toMatchObject({
      tenant_id: reader.tenantId,
      format: 'csv',
      with_content: false,
    });
  }, 120_000);

  it('exports the filtered rows only, as NDJSON', async () => {
    await seedBulkRows(deps.database.db, reader.tenantId, 2_500, START);
    const res = await exportOf('format=ndjson&status=500&model=gpt-4o', reader.key);
    const lines = (await res.text()).trim().split('\n');
    const rows = lines.map((l) => JSON.parse(l) as { status: number; model: string });
    // Rows with i % 10 == 0 failed and i % 3 == 0 asked for gpt-4o: i % 30 == 0.
    expect(rows).toHaveLength(Math.ceil(2_500 / 30));
    expect(rows.every((r) => r.status === 500 && r.model === 'gpt-4o')).toBe(true);
    const audit = await listAudit(deps.database.db);
    expect(audit[0]?.details).toMatchObject({ status: 500, model: 'gpt-4o', format: 'ndjson' });
  });

  it('adds decrypted request and response columns only for analytics:content, and audits the read', async () => {
    await recordInteraction(deps, {
      tenantId: reader.tenantId,
      keyId: reader.id,
      request: { messages: [{ role: 'user', content: 'EXPORTED-PROMPT, with "quotes"' }] },
      response: { choices: [{ message: { content: 'EXPORTED-ANSWER' } }] },
    });
    const plain = await (await exportOf('format=csv', reader.key)).text();
    expect(plain).not.toContain('EXPORTED-');
    const res = await exportOf('format=csv', contentReader.key);
    const records = createCsvReader().push(await res.text());
    const [header, row] = records;
    expect(header).toEqual(expect.arrayContaining(['request', 'response', 'content_status']));
    const record = Object.fromEntries((header ?? []).map((name, i) => [name, row?.[i]]));
    expect(JSON.parse(record.request ?? 'null')).toEqual({
      messages: [{ role: 'user', content: 'EXPORTED-PROMPT, with "quotes"' }],
    });
    expect(JSON.parse(record.response ?? 'null')).toEqual({
      choices: [{ message: { content: 'EXPORTED-ANSWER' } }],
    });
    expect(record.content_status).toBe('ok');
    const actions = (await listAudit(deps.database.db))
      .filter((a) => a.actor === contentReader.id)
      .map((a) => a.action)
      .sort();
    expect(actions).toEqual(['analytics.export', 'analytics.read_content']);
  });
});
