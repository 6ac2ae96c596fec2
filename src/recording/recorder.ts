import type { TenantKeys } from '../crypto/tenant-keys.js';
import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import type { NewInteraction } from '../storage/schema.js';
import type { InteractionRecord } from './interaction-row.js';
import { jsonOf, metadataRow } from './interaction-row.js';
import type { RowSealer, RowToSeal } from './row-sealer.js';
import type { InteractionWriter } from './writer.js';

/** Encrypts finished requests under their tenant's data key and hands them to the writer. */
export interface InteractionRecorder {
  record(r: InteractionRecord): Promise<void>;
}

/** Builds the recorder; it runs in the background, after the response. */
export function createInteractionRecorder(deps: {
  tenantKeys: TenantKeys;
  /** Encrypts the text fields (on the sealing thread, in production). */
  sealer: RowSealer;
  writer: InteractionWriter;
  logger: Logger;
}): InteractionRecorder {
  /** Waits for the row's text to be sealed (its batch leaves every few ms), then queues it. */
  async function sealAndQueue(row: NewInteraction, seal: RowToSeal): Promise<void> {
    const { requestEnc, responseEnc } = await deps.sealer.seal(seal);
    deps.writer.enqueue({ ...row, requestEnc, responseEnc });
  }

  return {
    async record(r) {
      let dataKey: Buffer | null;
      try {
        dataKey = await deps.tenantKeys.forEncryption(r.tenantId);
      } catch (err) {
        // Never lose the row: without the tenant's key (database down on a cold start) the
        // metadata is still recorded; the content cannot be, and that is counted and logged.
        deps.logger.error(
          { reason: errorReason(err), id: r.id },
          'tenant key unavailable; row recorded without content',
        );
        deps.writer.metrics.contentDropped++;
        dataKey = null;
      }
      const row = metadataRow(r);
      // A forgotten tenant keeps its metadata but no content can be stored for it any more.
      const request = dataKey ? (r.requestJson ?? jsonOf(r.request)) : null;
      const response = dataKey ? (r.responseJson ?? jsonOf(r.response)) : null;
      if (!dataKey || (request === null && response === null)) {
        deps.writer.enqueue(row);
        return;
      }
      // Returned, not awaited: while the row waits for its seal batch, only the metadata and the
      // two JSON strings stay alive, not the request and answer objects (which would otherwise
      // outlive young-generation collections and cost the server old-generation ones).
      return sealAndQueue(row, { dataKey, rowId: r.id, tenantId: r.tenantId, request, response });
    },
  };
}
