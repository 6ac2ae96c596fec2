import type { Database } from '../storage/database.js';
import type { ApiKeyPatch, ApiKeyRow } from '../storage/queries/api-keys.js';
import {
  findApiKey,
  insertApiKey,
  revokeApiKey,
  updateApiKey,
} from '../storage/queries/api-keys.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import { ensureTenant, findTenant } from '../storage/queries/tenants.js';
import { generateApiKey } from './api-key-format.js';

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
  /** Default prompt compression (`off`, `safe`, `aggressive`); null = the gateway default. */
  compression?: string | null;
  /** null = every model. */
  allowedModels?: readonly string[] | null;
  expiresAt?: Date | null;
  /** false turns the response cache off for this key. Default: on. */
  cacheEnabled?: boolean;
}

/** Who performs an administrative act (a key id, or `cli`), and when; written to the audit log. */
export interface AdminAct {
  actor: string;
  at?: Date;
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
  compression: string | null;
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
    compression: row.compression,
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
  // Limits are stored as PostgreSQL integers.
  if (!Number.isInteger(value) || value <= 0 || value > 2_147_483_647)
    throw new KeyAdminError(`${field} must be a positive integer of at most 2147483647`, field);
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
  if (patch.compression !== undefined) out.compression = checkCompression(patch.compression);
  if (patch.maxConcurrency !== undefined)
    out.maxConcurrency = checkLimit(patch.maxConcurrency, 'max_concurrency');
  if (patch.allowedModels !== undefined) out.allowedModels = patch.allowedModels;
  if (patch.expiresAt !== undefined) out.expiresAt = patch.expiresAt;
  if (patch.cacheEnabled !== undefined) out.cacheEnabled = patch.cacheEnabled;
  return out;
}

function checkCompression(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (!['off', 'safe', 'aggressive'].includes(value)) {
    throw new KeyAdminError('compression must be off, safe or aggressive', 'compression');
  }
  return value;
}

/**
 * Creates a key; the returned `key` is the only time the secret exists outside the client. With an
 * `act`, the creation is written to the audit log in the same transaction (without the secret).
 */
export async function createKey(
  db: Database,
  spec: KeySpec,
  act?: AdminAct,
): Promise<{ key: string; row: ApiKeyRow }> {
  const name = spec.name.trim();
  if (name === '') throw new KeyAdminError('name must not be empty', 'name');
  const scopes = validateScopes(spec.scopes ?? ['chat']);
  const rpm = checkLimit(spec.rpm, 'rpm');
  const tpm = checkLimit(spec.tpm, 'tpm');
  const maxConcurrency = checkLimit(spec.maxConcurrency, 'max_concurrency');
  const tenantRef = spec.tenant ?? 'default';
  const tenant =
    tenantRef === 'default' ? await ensureTenant(db, 'default') : await findTenant(db, tenantRef);
  if (!tenant) throw new KeyAdminError(`unknown tenant '${tenantRef}'`, 'tenant');
  if (tenant.forgottenAt)
    throw new KeyAdminError(`tenant '${tenantRef}' has been forgotten`, 'tenant');
  const generated = generateApiKey();
  const row = await db.transaction(async (tx) => {
    const inserted = await insertApiKey(tx, {
      id: `key_${generated.publicId}`,
      publicId: generated.publicId,
      secretHash: generated.secretHash,
      tenantId: tenant.id,
      name,
      scopes,
      rpm,
      tpm,
      maxConcurrency,
      compression: checkCompression(spec.compression),
      allowedModels:
        spec.allowedModels === undefined || spec.allowedModels === null
          ? null
          : [...spec.allowedModels],
      expiresAt: spec.expiresAt ?? null,
      cacheEnabled: spec.cacheEnabled ?? true,
    });
    if (act) {
      await insertAudit(
        tx,
        {
          actor: act.actor,
          tenantId: inserted.tenantId,
          action: 'key.create',
          targetType: 'api_key',
          targetId: inserted.id,
          details: {
            name: inserted.name,
            scopes: inserted.scopes,
            rpm: inserted.rpm,
            tpm: inserted.tpm,
            maxConcurrency: inserted.maxConcurrency,
            allowedModels: inserted.allowedModels,
            expiresAt: inserted.expiresAt?.toISOString() ?? null,
          },
        },
        act.at,
      );
    }
    return inserted;
  });
  return { key: generated.key, row };
}

/** The patch's values as audit details (dates as ISO text). */
function patchDetails(patch: ApiKeyPatch): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    changes[field] = value instanceof Date ? value.toISOString() : value;
  }
  return changes;
}

/**
 * Validates and applies a change to a key (by id or public id) and audits it with the changed
 * values. Returns undefined for an unknown key; an empty change writes nothing.
 */
export async function updateKey(
  db: Database,
  idOrPublicId: string,
  patch: ApiKeyPatch,
  act: AdminAct,
): Promise<ApiKeyRow | undefined> {
  const changes = validatePatch(patch);
  const existing = await findApiKey(db, idOrPublicId);
  if (!existing) return undefined;
  if (Object.keys(changes).length === 0) return existing;
  return db.transaction(async (tx) => {
    const row = await updateApiKey(tx, existing.id, changes);
    if (!row) return undefined;
    await insertAudit(
      tx,
      {
        actor: act.actor,
        tenantId: row.tenantId,
        action: 'key.update',
        targetType: 'api_key',
        targetId: row.id,
        details: { changes: patchDetails(changes) },
      },
      act.at,
    );
    return row;
  });
}

/**
 * Revokes a key (by id or public id; idempotent: the first revocation time is kept) and audits it.
 * Returns undefined for an unknown key.
 */
export async function revokeKey(
  db: Database,
  idOrPublicId: string,
  act: AdminAct,
): Promise<ApiKeyRow | undefined> {
  const existing = await findApiKey(db, idOrPublicId);
  if (!existing) return undefined;
  const at = act.at ?? new Date();
  return db.transaction(async (tx) => {
    const row = await revokeApiKey(tx, existing.id, at);
    if (!row) return undefined;
    await insertAudit(
      tx,
      {
        actor: act.actor,
        tenantId: row.tenantId,
        action: 'key.revoke',
        targetType: 'api_key',
        targetId: row.id,
        details: { name: row.name, alreadyRevoked: existing.revokedAt !== null },
      },
      at,
    );
    return row;
  });
}
