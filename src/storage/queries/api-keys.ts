import type { InferInsertModel, InferSelectModel } from 'drizzle-orm';
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { apiKeys, tenants } from '../schema.js';

/** An api_keys row (holds the secret's hash, never the secret). */
export type ApiKeyRow = InferSelectModel<typeof apiKeys>;
/** The fields needed to insert a key. */
export type NewApiKey = InferInsertModel<typeof apiKeys>;
/** Fields an administrator may change on an existing key. */
export type ApiKeyPatch = Partial<
  Pick<
    ApiKeyRow,
    | 'name'
    | 'scopes'
    | 'rpm'
    | 'tpm'
    | 'maxConcurrency'
    | 'allowedModels'
    | 'expiresAt'
    | 'compression'
    | 'cacheEnabled'
  >
>;

/** Inserts a key row. */
export async function insertApiKey(db: Database, key: NewApiKey): Promise<ApiKeyRow> {
  const [row] = await db.insert(apiKeys).values(key).returning();
  if (!row) throw new Error('insert into api_keys returned no row');
  return row;
}

/** Looks a key up by its public id (the part before the secret). */
export async function findApiKeyByPublicId(
  db: Database,
  publicId: string,
): Promise<ApiKeyRow | undefined> {
  const rows = await db.select().from(apiKeys).where(eq(apiKeys.publicId, publicId)).limit(1);
  return rows[0];
}

/** Finds a key by id or public id, optionally within one tenant. */
export async function findApiKey(
  db: Database,
  idOrPublicId: string,
  tenantId?: string,
): Promise<ApiKeyRow | undefined> {
  const match = idOrPublicId.startsWith('key_')
    ? eq(apiKeys.id, idOrPublicId)
    : eq(apiKeys.publicId, idOrPublicId);
  const where = tenantId ? and(match, eq(apiKeys.tenantId, tenantId)) : match;
  const rows = await db.select().from(apiKeys).where(where).limit(1);
  return rows[0];
}

/** Lists keys, optionally of one tenant, oldest first. */
export function listApiKeys(db: Database, tenantId?: string): Promise<ApiKeyRow[]> {
  const q = db.select().from(apiKeys);
  return (tenantId ? q.where(eq(apiKeys.tenantId, tenantId)) : q).orderBy(asc(apiKeys.createdAt));
}

/** Marks a key revoked (idempotent: the first revocation time is kept). */
export async function revokeApiKey(
  db: Database,
  id: string,
  at: Date,
): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${at.toISOString()}::timestamptz)` })
    .where(eq(apiKeys.id, id))
    .returning();
  return row;
}

/** Applies an administrator's changes to a key. */
export async function updateApiKey(
  db: Database,
  id: string,
  patch: ApiKeyPatch,
): Promise<ApiKeyRow | undefined> {
  const [row] = await db.update(apiKeys).set(patch).where(eq(apiKeys.id, id)).returning();
  return row;
}

/** Records when keys were last used (called in batches, off the request path). */
export async function touchApiKeys(db: Database, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(apiKeys)
    .set({ lastUsedAt: at })
    .where(inArray(apiKeys.id, [...ids]));
}

/** Revokes every active key of a tenant (when it is forgotten); returns their public ids. */
export async function revokeTenantKeys(
  db: Database,
  tenantId: string,
  at: Date,
): Promise<string[]> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
    .returning({ publicId: apiKeys.publicId });
  return rows.map((r) => r.publicId);
}

/** A key row with its tenant's own limits, as the request path needs them. */
export interface ApiKeyWithTenant {
  key: ApiKeyRow;
  tenantLimits: { rpm: number | null; tpm: number | null; maxConcurrency: number | null };
  /** When the key's tenant was forgotten (its keys are revoked then; this covers one made meanwhile). */
  tenantForgottenAt: Date | null;
}

/** Looks a key up by public id together with its tenant's limits (one query). */
export async function findApiKeyWithTenant(
  db: Database,
  publicId: string,
): Promise<ApiKeyWithTenant | undefined> {
  const rows = await db
    .select({
      key: apiKeys,
      rpm: tenants.rpm,
      tpm: tenants.tpm,
      maxConcurrency: tenants.maxConcurrency,
      forgottenAt: tenants.forgottenAt,
    })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(eq(apiKeys.publicId, publicId))
    .limit(1);
  const r = rows[0];
  return (
    r && {
      key: r.key,
      tenantLimits: { rpm: r.rpm, tpm: r.tpm, maxConcurrency: r.maxConcurrency },
      tenantForgottenAt: r.forgottenAt,
    }
  );
}
