import type { Deps } from '../deps.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import type { AuditEvent } from '../storage/queries/audit-log.js';
import { insertAudits } from '../storage/queries/audit-log.js';

/** What the audit log keeps of one interaction's text being read: who, which row, what came of it. */
export function contentReadEvent(
  key: VerifiedKey,
  row: { id: string; tenantId: string },
  contentStatus: string,
): AuditEvent {
  return {
    actor: key.id,
    tenantId: row.tenantId,
    action: 'analytics.read_content',
    targetType: 'interaction',
    targetId: row.id,
    details: { interaction_id: row.id, content_status: contentStatus },
  };
}

/** Writes the content-read events of one answer, before the text leaves the gateway. */
export function recordContentReads(deps: Deps, events: readonly AuditEvent[]): Promise<void> {
  return insertAudits(deps.database.db, events, new Date(deps.clock.now()));
}
