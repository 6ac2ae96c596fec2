import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import {
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * Longest model name accepted. Provider model ids are a few dozen characters; the name is stored
 * in plaintext, indexed analytics rollups, whose index entries must stay far below a page.
 */
export const MAX_MODEL_CHARS = 256;

/** PostgreSQL bytea; PGlite returns Uint8Array and node-postgres Buffer, so both are normalised. */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType() {
    return 'bytea';
  },
  fromDriver(value) {
    return Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.length);
  },
});

/** A tenant: the unit of isolation for keys, cache entries and encrypted rows. */
export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  dataKeyWrapped: bytea('data_key_wrapped'),
  masterKeyId: text('master_key_id'),
  /** Optional limits shared by all of the tenant's keys, on top of each key's own. */
  rpm: integer('rpm'),
  tpm: integer('tpm'),
  maxConcurrency: integer('max_concurrency'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  forgottenAt: timestamp('forgotten_at', { withTimezone: true, mode: 'date' }),
});

/** API keys, stored as public id + SHA-256 of the secret; never the secret itself. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    publicId: text('public_id').notNull(),
    secretHash: text('secret_hash').notNull(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    scopes: text('scopes').array().notNull().default(sql`ARRAY['chat']::text[]`),
    rpm: integer('rpm'),
    tpm: integer('tpm'),
    maxConcurrency: integer('max_concurrency'),
    allowedModels: text('allowed_models').array(),
    /** Default prompt compression for this key (`off`, `safe`, `aggressive`); null = gateway default. */
    compression: text('compression'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    /** false turns the response cache off for this key's requests; null counts as true. */
    cacheEnabled: boolean('cache_enabled').default(true),
  },
  (t) => [
    uniqueIndex('api_keys_public_id_key').on(t.publicId),
    index('api_keys_tenant_idx').on(t.tenantId),
  ],
);

/**
 * One row per request that passed authentication. Metadata is plaintext and indexed for analysts;
 * the request and the response exist only as ciphertext under the tenant's data key.
 */
export const interactions = pgTable(
  'interactions',
  {
    id: uuid('id').primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    tenantId: text('tenant_id').notNull(),
    keyId: text('key_id').notNull(),
    endUser: text('end_user'),
    model: text('model'),
    upstreamModel: text('upstream_model'),
    provider: text('provider'),
    status: integer('status').notNull(),
    errorCode: text('error_code'),
    cacheStatus: text('cache_status'),
    cacheSimilarity: real('cache_similarity'),
    stream: boolean('stream').notNull().default(false),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    tokensSavedCompression: integer('tokens_saved_compression'),
    compressionMode: text('compression_mode'),
    /** Prompt tokens as the client sent them: prompt_tokens (after compression) + the saving. */
    promptTokensBeforeCompression: integer('prompt_tokens_before_compression'),
    /** On a cache hit, the cached answer's total tokens: what the upstream did not bill. */
    tokensSavedCache: integer('tokens_saved_cache'),
    /**
     * On a cache hit, the completion tokens of tokensSavedCache (the rest are prompt tokens), so
     * the saving is priced at the output rate for them; null when the split is unknown.
     */
    tokensSavedCacheCompletion: integer('tokens_saved_cache_completion'),
    latencyMs: real('latency_ms').notNull(),
    upstreamMs: real('upstream_ms'),
    ttftMs: real('ttft_ms'),
    requestEnc: bytea('request_enc'),
    responseEnc: bytea('response_enc'),
    /** The OpenAI endpoint: `chat.completions`, `responses` or `embeddings`. */
    endpoint: text('endpoint'),
    /** The client's own `x-request-id` (a bounded token), kept apart from the row's id. */
    clientRequestId: text('client_request_id'),
    /**
     * The session the request belongs to: its conversation, the first response of its
     * `previous_response_id` chain, or the client's `x-tollgate-session-id` header.
     */
    sessionId: text('session_id'),
    /** Prompt tokens the provider served from its own prompt cache (billed at its cached rate). */
    cachedTokens: integer('cached_tokens'),
    /** Completion tokens the model spent reasoning (billed as output, never shown). */
    reasoningTokens: integer('reasoning_tokens'),
    /**
     * True when prompt_tokens and completion_tokens are the gateway's own count, not the
     * provider's: a stream cut short before its usage chunk (the client left, the gateway stopped,
     * the upstream ended early), counted from the prompt sent and the text streamed.
     */
    usageEstimated: boolean('usage_estimated').notNull().default(false),
  },
  (t) => [
    // Most requests name no client request id and join no session: partial, these two indexes
    // cost such a row nothing (every query on them asks for a value, which implies not null).
    index('interactions_client_request_idx')
      .on(t.tenantId, t.clientRequestId)
      .where(sql`${t.clientRequestId} is not null`),
    index('interactions_session_idx')
      .on(t.tenantId, t.sessionId, t.createdAt)
      .where(sql`${t.sessionId} is not null`),
    index('interactions_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('interactions_created_idx').on(t.createdAt),
    index('interactions_key_created_idx').on(t.keyId, t.createdAt),
  ],
);

/** An interactions row as stored. */
export type InteractionRow = InferSelectModel<typeof interactions>;
/** An interactions row ready to insert (text fields already encrypted). */
export type NewInteraction = InferInsertModel<typeof interactions>;

/** Who did what to keys, tenants and encrypted content, and when. Never holds a secret. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** The key that acted, or `cli` for the command line. */
    actor: text('actor').notNull(),
    tenantId: text('tenant_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    details: jsonb('details').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_log_created_idx').on(t.createdAt),
    index('audit_log_tenant_idx').on(t.tenantId),
  ],
);

/**
 * The response cache's durable copy; the lookup itself runs in memory. The answer and the question
 * exist only as ciphertext under the tenant's data key. The vector is a plain `bytea` (Float32,
 * little-endian) so the semantic cache works on any PostgreSQL; an older `embedding vector` column,
 * added by a migration only where pgvector exists, is no longer read or written.
 */
export const cacheEntries = pgTable(
  'cache_entries',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    scopeHash: text('scope_hash').notNull(),
    exactHash: text('exact_hash').notNull(),
    /** Which embedder made the vector; vectors of different embedders are never compared. */
    embedder: text('embedder'),
    /**
     * The configured upstream that gave the answer, recorded on the rows of its hits; null for
     * entries written before it was kept.
     */
    provider: text('provider'),
    responseEnc: bytea('response_enc').notNull(),
    questionEnc: bytea('question_enc'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    hits: integer('hits').notNull().default(0),
    lastHitAt: timestamp('last_hit_at', { withTimezone: true, mode: 'date' }),
    /** Bytes of ciphertext, for capacity reports. */
    size: integer('size').notNull(),
    /** The question's vector as Float32 little-endian bytes (made by `embedder`), when dense. */
    embeddingF32: bytea('embedding_f32'),
    /**
     * The question's vector, when mostly zeros, as its nonzero components only (see
     * cache/vector-bytes.ts); at most one of the two vector columns is set.
     */
    embeddingSparse: bytea('embedding_sparse'),
    /**
     * When the database last wrote the row (its own clock): other instances read the rows written
     * since their last look, so their in-memory index learns of them without a query per request.
     * Milliseconds, so a JavaScript Date holds it exactly (it is a paging cursor).
     */
    writtenAt: timestamp('written_at', { withTimezone: true, mode: 'date', precision: 3 })
      .notNull()
      .defaultNow(),
  },
  (t) => [
    uniqueIndex('cache_entries_tenant_exact_key').on(t.tenantId, t.exactHash),
    index('cache_entries_expires_idx').on(t.expiresAt),
    index('cache_entries_written_idx').on(t.writtenAt, t.id),
  ],
);

/**
 * A tenant's cache flushed (`DELETE /admin/cache`): instances sharing the database read these rows
 * on their sync and drop the tenant's entries from their memory too. Pruned once older than any
 * entry could live.
 */
export const cacheFlushes = pgTable(
  'cache_flushes',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    /** The database's clock, as `cache_entries.written_at`: sync reads both from one mark. */
    flushedAt: timestamp('flushed_at', { withTimezone: true, mode: 'date', precision: 3 })
      .notNull()
      .defaultNow(),
  },
  (t) => [index('cache_flushes_flushed_idx').on(t.flushedAt)],
);

/**
 * The gateway's price table as the analysts' views read it (written at start-up from the built-in
 * table or TOLLGATE_PRICES): US dollars per million tokens per model name, aliases included.
 */
export const modelPrices = pgTable('model_prices', {
  name: text('name').primaryKey(),
  inputPerMTokUsd: doublePrecision('input_per_mtok_usd').notNull(),
  cachedInputPerMTokUsd: doublePrecision('cached_input_per_mtok_usd').notNull(),
  outputPerMTokUsd: doublePrecision('output_per_mtok_usd').notNull(),
  /** When the price was read from the provider's price list (YYYY-MM-DD). */
  asOf: text('as_of').notNull(),
});

/**
 * A stored Responses API answer (`store: true`), kept for `previous_response_id`, retrieval and
 * listing its input. The response object and its input items exist only as ciphertext under the
 * tenant's data key; the chain's links and the session are plaintext metadata.
 */
export const storedResponses = pgTable(
  'stored_responses',
  {
    /** `resp_…`, the id the client received. */
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    keyId: text('key_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    previousResponseId: text('previous_response_id'),
    conversationId: text('conversation_id'),
    /** The conversation, or the first response of a `previous_response_id` chain. */
    sessionId: text('session_id').notNull(),
    status: text('status').notNull(),
    responseEnc: bytea('response_enc').notNull(),
    inputEnc: bytea('input_enc').notNull(),
  },
  (t) => [
    index('stored_responses_tenant_idx').on(t.tenantId, t.id),
    index('stored_responses_created_idx').on(t.createdAt),
  ],
);

/**
 * The items of stored responses one by one (input, then output, in order), so an
 * `item_reference` finds the item it names; each item exists only as ciphertext.
 */
export const storedResponseItems = pgTable(
  'stored_response_items',
  {
    responseId: text('response_id').notNull(),
    position: integer('position').notNull(),
    tenantId: text('tenant_id').notNull(),
    itemId: text('item_id').notNull(),
    itemEnc: bytea('item_enc').notNull(),
  },
  (t) => [
    uniqueIndex('stored_response_items_key').on(t.responseId, t.position),
    index('stored_response_items_item_idx').on(t.tenantId, t.itemId),
  ],
);

/** A conversation of the Conversations API; its metadata is ciphertext like its items. */
export const conversations = pgTable(
  'conversations',
  {
    /** `conv_…`. */
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    metadataEnc: bytea('metadata_enc').notNull(),
  },
  (t) => [
    index('conversations_tenant_idx').on(t.tenantId, t.id),
    index('conversations_created_idx').on(t.createdAt),
  ],
);

/** The items of a conversation in order; each item exists only as ciphertext. */
export const conversationItems = pgTable(
  'conversation_items',
  {
    conversationId: text('conversation_id').notNull(),
    position: integer('position').notNull(),
    tenantId: text('tenant_id').notNull(),
    itemId: text('item_id').notNull(),
    /**
     * 0, or for an item id that earlier versions stored more than once in a conversation, which
     * copy (1, 2, … in position order): an item id is unique in its conversation from now on.
     */
    itemCopy: integer('item_copy').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    itemEnc: bytea('item_enc').notNull(),
  },
  (t) => [
    uniqueIndex('conversation_items_key').on(t.conversationId, t.position),
    uniqueIndex('conversation_items_item_key').on(t.conversationId, t.itemId, t.itemCopy),
    index('conversation_items_item_idx').on(t.tenantId, t.itemId),
    index('conversation_items_created_idx').on(t.createdAt),
  ],
);
