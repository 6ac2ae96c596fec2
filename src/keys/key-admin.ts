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
import { AdminRefusal } from './admin-refusal.js';
import { generateApiKey } from './api-key-format.js';
import type { KeySettings, KeySettingsChange } from './key-settings.js';

/** Who performs an administrative act (a key id, or `cli`), and when; written to the audit log. */
export interface AdminAct {
  actor: string;
  at?: Date;
}

/**
 * Creates a key from valid settings (see key-settings.ts); the returned `key` is the only time the
 * secret exists outside the client. With an `act`, the creation is written to the audit log in the
 * same transaction (without the secret). Refuses an unknown or forgotten tenant.
 */
export async function createKey(
  db: Database,
  settings: KeySettings,
  act?: AdminAct,
): Promise<{ key: string; row: ApiKeyRow }> {
  const tenantRef = settings.tenant ?? 'default';
  const tenant =
    tenantRef === 'default' ? await ensureTenant(db, 'default') : await findTenant(db, tenantRef);
  if (!tenant) {
    throw new AdminRefusal({
      reason: 'invalid',
      message: `Unknown tenant '${tenantRef}'.`,
      field: 'tenant',
    });
  }
  if (tenant.forgottenAt) {
    throw new AdminRefusal({
      reason: 'invalid',
      message: `Tenant '${tenantRef}' has been forgotten.`,
      field: 'tenant',
    });
  }
  const generated = generateApiKey();
  const row = await db.transaction(async (tx) => {
    const inserted = await insertApiKey(tx, {
      id: `key_${generated.publicId}`,
      publicId: generated.publicId,
      secretHash: generated.secretHash,
      tenantId: tenant.id,
      name: settings.name,
      scopes: [...(settings.scopes ?? ['chat'])],
      rpm: settings.rpm ?? null,
      tpm: settings.tpm ?? null,
      maxConcurrency: settings.maxConcurrency ?? null,
      compression: settings.compression ?? null,
      allowedModels: settings.allowedModels ? [...settings.allowedModels] : null,
      expiresAt: settings.expiresAt ?? null,
      cacheEnabled: settings.cacheEnabled ?? true,
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
            compression: inserted.compression,
            allowedModels: inserted.allowedModels,
            expiresAt: inserted.expiresAt?.toISOString() ?? null,
            cacheEnabled: inserted.cacheEnabled,
          },
        },
        act.at,
      );
    }
    return inserted;
  });
  return { key: generated.key, row };
}

/** The change's values as audit details (dates as ISO text). */
function changeDetails(patch: KeySettingsChange): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    changes[field] = value instanceof Date ? value.toISOString() : value;
  }
  return changes;
}

/**
 * Applies a valid change to a key (by id or public id) and audits it with the changed values.
 * Returns undefined for an unknown key; an empty change writes nothing.
 */
export async function updateKey(
  db: Database,
  idOrPublicId: string,
  change: KeySettingsChange,
  act: AdminAct,
): Promise<ApiKeyRow | undefined> {
  const { scopes, allowedModels, ...rest } = change;
  const changes: ApiKeyPatch = { ...rest };
  if (scopes !== undefined) changes.scopes = [...scopes];
  if (allowedModels !== undefined) changes.allowedModels = allowedModels && [...allowedModels];
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
        details: { changes: changeDetails(change) },
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
