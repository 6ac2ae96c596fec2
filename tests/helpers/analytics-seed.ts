import { sql } from 'drizzle-orm';
import type { Deps } from '../../src/deps.js';
import type { InteractionRecord } from '../../src/recording/interaction-row.js';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import type { Database } from '../../src/storage/database.js';
import { insertInteractions } from '../../src/storage/queries/interactions.js';
import type { NewInteraction } from '../../src/storage/schema.js';
import { settleLog } from './settle.js';

/** Inserts metadata-only rows (no ciphertext), filling every field a test does not care about. */
export async function seedRows(
  db: Database,
  rows: (Partial<NewInteraction> & { tenantId: string; createdAt: Date })[],
): Promise<NewInteraction[]> {
  const full = rows.map(
    (r): NewInteraction => ({
      id: uuidv7(r.createdAt.getTime()),
      keyId: 'key_seed',
      endUser: null,
      model: 'gpt-4o-mini',
      upstreamModel: null,
      provider: 'default',
      status: 200,
      errorCode: null,
      cacheStatus: 'miss',
      cacheSimilarity: null,
      stream: false,
      promptTokens: 10,
      completionTokens: 5,
      tokensSavedCompression: 0,
      latencyMs: 100,
      upstreamMs: 90,
      ttftMs: null,
      ...r,
    }),
  );
  for (let i = 0; i < full.length; i += 500) await insertInteractions(db, full.slice(i, i + 500));
  return full;
}

/** Records an interaction through the real recorder and writer (so its text is encrypted). */
export async function recordInteraction(
  deps: Deps,
  r: Partial<InteractionRecord> & { tenantId: string; keyId: string },
): Promise<string> {
  const id = r.id ?? uuidv7();
  await deps.recorder.record({
    id,
    clientRequestId: null,
    sessionId: null,
    endpoint: 'chat.completions',
    receivedAt: new Date(deps.clock.now()),
    endUser: null,
    model: 'gpt-4o-mini',
    upstreamModel: 'gpt-4o-mini',
    provider: 'default',
    status: 200,
    errorCode: null,
    cacheStatus: 'miss',
    cacheSimilarity: null,
    stream: false,
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    compression: { mode: 'safe', tokensSaved: 0 },
    tokensSavedCache: null,
    latencyMs: 120,
    upstreamMs: 100,
    ttftMs: null,
    request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] },
    response: { choices: [{ message: { role: 'assistant', content: 'hi' } }] },
    ...r,
  });
  await settleLog(deps);
  return id;
}

/**
 * Seeds `count` metadata rows for one tenant in a single INSERT … SELECT, one second apart from
 * `start`. Row i is fully determined by i (see `expectedBulkRow`), so a reader can check any row
 * without keeping the seed in memory.
 */
export async function seedBulkRows(
  db: Database,
  tenantId: string,
  count: number,
  start: Date,
): Promise<void> {
  await db.execute(sql`
    insert into interactions (id, created_at, tenant_id, key_id, end_user, model, provider, status,
      cache_status, stream, prompt_tokens, completion_tokens, tokens_saved_compression,
      latency_ms, upstream_ms, ttft_ms, cached_tokens, reasoning_tokens, usage_estimated)
    select
      ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
      ${start.toISOString()}::timestamptz + i * interval '1 second',
      ${tenantId},
      'key_bulk_' || (i % 3),
      case when i % 4 = 0 then null else 'user "' || (i % 7) || '", team' || chr(10) || 'x' end,
      (array['gpt-4o','gpt-4o-mini','o3'])[1 + i % 3],
      'default',
      case when i % 10 = 0 then 500 else 200 end,
      (array['miss','hit','semantic-hit','bypass'])[1 + i % 4],
      i % 2 = 0,
      i % 1000,
      i % 100,
      i % 5,
      (i % 997) + 0.5,
      (i % 997),
      case when i % 2 = 0 then (i % 300) + 0.25 else null end,
      case when i % 4 = 0 then (i % 1000) / 2 else null end,
      case when i % 3 = 2 then i % 50 else null end,
      i % 11 = 5
    from generate_series(0, ${count - 1}) as s(i)`);
}

/** The row `seedBulkRows` wrote at index i, in the analytics API's snake_case. */
export function expectedBulkRow(i: number, tenantId: string, start: Date) {
  return {
    id: `00000000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    created_at: new Date(start.getTime() + i * 1000).toISOString(),
    tenant_id: tenantId,
    key_id: `key_bulk_${i % 3}`,
    end_user: i % 4 === 0 ? null : `user "${i % 7}", team\nx`,
    model: ['gpt-4o', 'gpt-4o-mini', 'o3'][i % 3],
    status: i % 10 === 0 ? 500 : 200,
    cache_status: ['miss', 'hit', 'semantic-hit', 'bypass'][i % 4],
    stream: i % 2 === 0,
    prompt_tokens: i % 1000,
    completion_tokens: i % 100,
    tokens_saved_compression: i % 5,
    latency_ms: (i % 997) + 0.5,
    ttft_ms: i % 2 === 0 ? (i % 300) + 0.25 : null,
    cached_tokens: i % 4 === 0 ? Math.floor((i % 1000) / 2) : null,
    reasoning_tokens: i % 3 === 2 ? i % 50 : null,
    usage_estimated: i % 11 === 5,
  };
}
