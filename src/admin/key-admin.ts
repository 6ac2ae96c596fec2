import { generateApiKey } from '../crypto/api-key-format.js';
import type { Database } from '../storage/db.js';
import type { ApiKeyPatch, ApiKeyRow } from '../storage/queries/api-keys.js';
import { insertApiKey } from '../storage/queries/api-keys.js';
import { ensureTenant, findTenant } from '../storage/queries/tenants.js';

/** Every scope a key can carry. */
export const SCOPES = ['chat', 'analytics:read', 'analytics:content', 'admin'] as const;
/** One scope. */
export type Scope = (typeof SCOPES)[number];

/** What an administrator asks for when creating a key. */
export interface KeySpec {
  name: string;
  /** Tenant id or name; created when it does not exist. Default: `default`. */
  tenant?: string;
  scopes?: readonly string[];
  rpm?: number | null;
  tpm?: number | null;
  maxConcurrency?: number | null;
  /** null = every model. */
  allowedModels?: readonly string[] | null;
  expiresAt?: Date | null;
  /** false turns the response cache off for this key. Default: on. */
  cacheEnabled?: boolean;
}

/** The public view of a key: everything but its secret hash. */
export interface KeyView {
  id: string;
  publicId: string;
  prefix: string;
  tenantId: string;
  name: string;
  scopes: string[];
  rpm: number | null;
  tpm: number | null;
  maxConcurrency: number | null;
  allowedModels: string[] | null;
  cacheEnabled: boolean;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** Raised for an administrator's bad input (one clear line). */
export class KeyAdminError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'KeyAdminError';
  }
}

/** Checks scope names; throws KeyAdminError naming the first unknown one. */
export function validateScopes(scopes: readonly string[]): string[] {
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw new KeyAdminError(`unknown scope '${s}' (known: ${SCOPES.join(', ')})`, 'scopes');
    }
  }
  return [...new Set(scopes)];
}

/** Parses a duration such as `30d`, `12h`, `15m` or `90s` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(d|h|m|s)$/.exec(text.trim());
  if (!m?.[1] || !m[2])
    throw new KeyAdminError(`invalid duration '${text}' (use e.g. 30d, 12h, 15m)`, 'expires_in');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 }[m[2] as 'd' | 'h' | 'm' | 's'];
  return Number(m[1]) * unit;
}

/** The public view of a key row. */
export function keyView(row: ApiKeyRow): KeyView {
  return {
    id: row.id,
    publicId: row.publicId,
    prefix: `tg_${row.publicId}_`,
    tenantId: row.tenantId,
    name: row.name,
    scopes: row.scopes,
    rpm: row.rpm,
    tpm: row.tpm,
    maxConcurrency: row.maxConcurrency,
    allowedModels: row.allowedModels,
    cacheEnabled: row.cacheEnabled !== false,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

function checkLimit(value: number | null | undefined, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || value <= 0)
    throw new KeyAdminError(`${field} must be a positive integer`, field);
  return value;
}

/** Validates a partial change to a key. */
export function validatePatch(patch: ApiKeyPatch): ApiKeyPatch {
  const out: ApiKeyPatch = {};
  if (patch.name !== undefined) {
    if (patch.name.trim() === '') throw new KeyAdminError('name must not be empty', 'name');
    out.name = patch.name.trim();
  }
  if (patch.scopes !== undefined) out.scopes = validateScopes(patch.scopes);
  if (patch.rpm !== undefined) out.rpm = checkLimit(patch.rpm, 'rpm');
  if (patch.tpm !== undefined) out.tpm = checkLimit(patch.tpm, 'tpm');
  if (patch.maxConcurrency !== undefined)
    out.maxConcurrency = checkLimit(patch.maxConcurrency, 'max_concurrency');
  if (patch.allowedModels !== undefined) out.allowedModels = patch.allowedModels;
  if (patch.expiresAt !== undefined) out.expiresAt = patch.expiresAt;
  if (patch.cacheEnabled !== undefined) out.cacheEnabled = patch.cacheEnabled;
  return out;
}

/** Creates a key; the returned `key` is the only time the secret exists outside the client. */
export async function createKey(
  db: Database,
  spec: KeySpec,
): Promise<{ key: string; row: ApiKeyRow }> {
  const name = spec.name.trim();
  if (name === '') throw new KeyAdminError('name must not be empty', 'name');
  const scopes = validateScopes(spec.scopes ?? ['chat']);
  const tenantRef = spec.tenant ?? 'default';
  const tenant =
    tenantRef === 'default' ? await ensureTenant(db, 'default') : await findTenant(db, tenantRef);
  if (!tenant) throw new KeyAdminError(`unknown tenant '${tenantRef}'`, 'tenant');
  if (tenant.forgottenAt)
    throw new KeyAdminError(`tenant '${tenantRef}' has been forgotten`, 'tenant');
  const generated = generateApiKey();
  const row = await insertApiKey(db, {
    id: `key_${generated.publicId}`,
    publicId: generated.publicId,
    secretHash: generated.secretHash,
    tenantId: tenant.id,
    name,
    scopes,
    rpm: checkLimit(spec.rpm, 'rpm'),
    tpm: checkLimit(spec.tpm, 'tpm'),
    maxConcurrency: checkLimit(spec.maxConcurrency, 'max_concurrency'),
    allowedModels:
      spec.allowedModels === undefined || spec.allowedModels === null
        ? null
        : [...spec.allowedModels],
    expiresAt: spec.expiresAt ?? null,
    cacheEnabled: spec.cacheEnabled ?? true,
  });
  return { key: generated.key, row };
}
