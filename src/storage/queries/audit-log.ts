import type { InferSelectModel } from 'drizzle-orm';
import { desc, eq } from 'drizzle-orm';
import { uuidv7 } from '../../runtime/uuidv7.js';
import type { Database } from '../database.js';
import { auditLog } from '../schema.js';

/** An audit_log row. */
export type AuditEntry = InferSelectModel<typeof auditLog>;

/** What happened, by whom; never include a secret in `details`. */
export interface AuditEvent {
  actor: string;
  tenantId?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  details?: Record<string, unknown> | null;
}

/** Appends one audit entry. */
export async function insertAudit(
  db: Database,
  event: AuditEvent,
  at: Date = new Date(),
): Promise<void> {
  await db.insert(auditLog).values({
    id: uuidv7(at.getTime()),
    createdAt: at,
    actor: event.actor,
    tenantId: event.tenantId ?? null,
    action: event.action,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    details: event.details ?? null,
  });
}

/** Appends several audit entries in one statement (one event per row read, say). */
export async function insertAudits(
  db: Database,
  events: readonly AuditEvent[],
  at: Date = new Date(),
): Promise<void> {
  if (events.length === 0) return;
  await db.insert(auditLog).values(
    events.map((event) => ({
      id: uuidv7(at.getTime()),
      createdAt: at,
      actor: event.actor,
      tenantId: event.tenantId ?? null,
      action: event.action,
      targetType: event.targetType ?? null,
      targetId: event.targetId ?? null,
      details: event.details ?? null,
    })),
  );
}

/** Recent audit entries, newest first, optionally for one tenant. */
export function listAudit(
  db: Database,
  options: { tenantId?: string; limit?: number } = {},
): Promise<AuditEntry[]> {
  const q = db.select().from(auditLog);
  return (options.tenantId ? q.where(eq(auditLog.tenantId, options.tenantId)) : q)
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(options.limit ?? 100);
}
