import { decryptRowField } from '../crypto/envelope.js';
import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { InteractionRow } from '../storage/schema.js';

/** The decrypted text of an interaction, or why it cannot be read. */
export type InteractionContent =
  | { ok: true; request: unknown; response: unknown }
  | { ok: false; reason: 'tenant_forgotten' | 'no_content' };

/**
 * Decrypts a row's request and response with its tenant's data key, read fresh from the database
 * so a forgotten tenant's rows are unreadable the moment it is forgotten. Throws DecryptionError
 * when a ciphertext does not belong to this row (moved or altered).
 */
export async function readInteractionContent(
  tenantKeys: TenantKeys,
  row: Pick<InteractionRow, 'id' | 'tenantId' | 'requestEnc' | 'responseEnc'>,
): Promise<InteractionContent> {
  if (!row.requestEnc && !row.responseEnc) return { ok: false, reason: 'no_content' };
  const dataKey = await tenantKeys.forDecryption(row.tenantId);
  if (!dataKey) return { ok: false, reason: 'tenant_forgotten' };
  const ctx = { rowId: row.id, tenantId: row.tenantId };
  const [request, response] = await Promise.all([
    row.requestEnc ? decryptRowField(dataKey, row.requestEnc, { ...ctx, field: 'request' }) : null,
    row.responseEnc
      ? decryptRowField(dataKey, row.responseEnc, { ...ctx, field: 'response' })
      : null,
  ]);
  return { ok: true, request, response };
}
