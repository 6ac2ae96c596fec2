import { and, eq } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from '../database.js';

/** A table whose rows belong to a tenant and are named by an id. */
export interface TenantOwned<T extends PgTable> {
  table: T;
  tenantId: AnyPgColumn;
  id: AnyPgColumn;
}

/** A table of items that each belong to one row of a tenant-owned table. */
export interface TenantOwnedItems {
  table: PgTable;
  tenantId: AnyPgColumn;
  /** The owning row's id. */
  ownerId: AnyPgColumn;
}

/** A tenant's row by id; another tenant's is not found. */
export async function findTenantOwned<T extends PgTable>(
  db: Database,
  owned: TenantOwned<T>,
  tenantId: string,
  id: string,
): Promise<T['$inferSelect'] | undefined> {
  const rows: T['$inferSelect'][] = await db
    .select()
    .from(owned.table as PgTable)
    .where(and(eq(owned.tenantId, tenantId), eq(owned.id, id)))
    .limit(1);
  return rows[0];
}

/** Deletes a tenant's row and its items in one transaction; false when there was none. */
export function deleteTenantOwned(
  db: Database,
  owned: TenantOwned<PgTable>,
  items: TenantOwnedItems,
  tenantId: string,
  id: string,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const gone = await tx
      .delete(owned.table)
      .where(and(eq(owned.tenantId, tenantId), eq(owned.id, id)))
      .returning({ id: owned.id });
    if (gone.length === 0) return false;
    await tx.delete(items.table).where(and(eq(items.tenantId, tenantId), eq(items.ownerId, id)));
    return true;
  });
}
