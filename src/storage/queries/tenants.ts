import type { InferSelectModel } from 'drizzle-orm';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { uuidv7 } from '../../runtime/uuidv7.js';
import type { Database } from '../database.js';
import { tenants } from '../schema.js';

/** A tenant row. */
export type Tenant = InferSelectModel<typeof tenants>;

/** Creates a tenant; returns the new row. */
export async function insertTenant(db: Database, name: string): Promise<Tenant> {
  const [row] = await db
    .insert(tenants)
    .values({ id: `ten_${uuidv7().replaceAll('-', '')}`, name })
    .returning();
  if (!row) throw new Error('insert into tenants returned no row');
  return row;
}

/** Finds a tenant by id or by name. */
export async function findTenant(db: Database, idOrName: string): Promise<Tenant | undefined> {
  const byId = await db.select().from(tenants).where(eq(tenants.id, idOrName)).limit(1);
  if (byId[0]) return byId[0];
  const byName = await db.select().from(tenants).where(eq(tenants.name, idOrName)).limit(1);
  return byName[0];
}

/** Finds a tenant by name, creating it when it does not exist yet. */
export async function ensureTenant(db: Database, name: string): Promise<Tenant> {
  const existing = await findTenant(db, name);
  if (existing) return existing;
  await db
    .insert(tenants)
    .values({ id: `ten_${uuidv7().replaceAll('-', '')}`, name })
    .onConflictDoNothing({ target: tenants.name });
  const row = await findTenant(db, name);
  if (!row) throw new Error(`tenant ${name} could not be created`);
  return row;
}

/** Every tenant, oldest first. */
export function listTenants(db: Database): Promise<Tenant[]> {
  return db.select().from(tenants).orderBy(asc(tenants.createdAt));
}

/** Stores a tenant's first wrapped data key unless another process already did; returns the row. */
export async function setTenantDataKeyIfMissing(
  db: Database,
  tenantId: string,
  wrapped: Buffer,
  masterKeyId: string,
): Promise<Tenant | undefined> {
  await db
    .update(tenants)
    .set({ dataKeyWrapped: wrapped, masterKeyId })
    .where(
      and(eq(tenants.id, tenantId), isNull(tenants.dataKeyWrapped), isNull(tenants.forgottenAt)),
    );
  const rows = await db.select().from(tenants).where(eq(tenants.id, tenantId)).limit(1);
  return rows[0];
}

/** Replaces a tenant's wrapped data key (master key rotation); rows are untouched. */
export async function rewrapTenantDataKey(
  db: Database,
  tenantId: string,
  wrapped: Buffer,
  masterKeyId: string,
): Promise<void> {
  await db
    .update(tenants)
    .set({ dataKeyWrapped: wrapped, masterKeyId })
    .where(eq(tenants.id, tenantId));
}

/** Destroys a tenant's data key (crypto-shredding) and marks it forgotten; metadata stays. */
export async function forgetTenantRow(
  db: Database,
  tenantId: string,
  at: Date,
): Promise<Tenant | undefined> {
  const [row] = await db
    .update(tenants)
    .set({ dataKeyWrapped: null, masterKeyId: null, forgottenAt: at })
    .where(eq(tenants.id, tenantId))
    .returning();
  return row;
}
