import type { ApiKeyRow } from '../storage/queries/api-keys.js';

/**
 * A key as administrators see it, through the admin API and the CLI's `--json`: snake_case, never
 * the secret or its hash.
 */
export interface KeyJson {
  id: string;
  object: 'api_key';
  public_id: string;
  /** The key's visible start, `tg_<public id>_`. */
  prefix: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  rpm: number | null;
  tpm: number | null;
  max_concurrency: number | null;
  compression: string | null;
  /** null = every model. */
  models: string[] | null;
  expires_at: string | null;
  /** false: the key's requests bypass the response cache. */
  cache_enabled: boolean;
  revoked_at: string | null;
  created_at: string;
  last_used_at: string | null;
}

/** The public view of a key row. */
export function keyJson(row: ApiKeyRow): KeyJson {
  return {
    id: row.id,
    object: 'api_key',
    public_id: row.publicId,
    prefix: `tg_${row.publicId}_`,
    tenant_id: row.tenantId,
    name: row.name,
    scopes: row.scopes,
    rpm: row.rpm,
    tpm: row.tpm,
    max_concurrency: row.maxConcurrency,
    compression: row.compression,
    models: row.allowedModels,
    expires_at: row.expiresAt?.toISOString() ?? null,
    // The column is nullable; the key verifier reads null as on, and so must this view.
    cache_enabled: row.cacheEnabled !== false,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
  };
}

/** Whether a key works now: `active`, `revoked` or `expired`. */
export function keyStatus(row: ApiKeyRow, nowMs: number): 'active' | 'revoked' | 'expired' {
  if (row.revokedAt) return 'revoked';
  if (row.expiresAt && row.expiresAt.getTime() <= nowMs) return 'expired';
  return 'active';
}
