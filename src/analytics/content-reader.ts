import type { TenantKeys } from '../crypto/tenant-keys.js';
import type { InteractionRow } from '../storage/schema.js';
import type { ExportContent } from './export-stream.js';
import { readInteractionContent } from './interaction-content.js';

type EncryptedRow = Pick<InteractionRow, 'id' | 'tenantId' | 'requestEnc' | 'responseEnc'>;

/** Decrypts one row for the API: its text, or why there is none. */
export async function readContent(
  tenantKeys: TenantKeys,
  row: EncryptedRow,
): Promise<ExportContent> {
  const content = await readInteractionContent(tenantKeys, row);
  return content.ok
    ? { request: content.request, response: content.response, status: 'ok' }
    : { request: null, response: null, status: content.reason };
}

/**
 * Decrypts a batch of rows, reading each tenant's data key once per batch rather than once per
 * row (still fresh per batch, so a tenant forgotten during an export stops being readable).
 */
export function batchContentReader(tenantKeys: TenantKeys) {
  return async function readBatch(rows: readonly EncryptedRow[]): Promise<ExportContent[]> {
    const keys = new Map<string, Promise<Buffer | null>>();
    const batchKeys: TenantKeys = {
      forEncryption: (tenantId) => tenantKeys.forEncryption(tenantId),
      forDecryption(tenantId) {
        let key = keys.get(tenantId);
        if (!key) {
          key = tenantKeys.forDecryption(tenantId);
          keys.set(tenantId, key);
        }
        return key;
      },
      evict: (tenantId) => tenantKeys.evict(tenantId),
    };
    const out: ExportContent[] = [];
    for (const row of rows) out.push(await readContent(batchKeys, row));
    return out;
  };
}
