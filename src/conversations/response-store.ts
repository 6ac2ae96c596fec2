import type { ResponseItem } from 'openai/resources/responses/responses';
import type { Database } from '../storage/database.js';
import type { AppendOutcome } from '../storage/queries/conversations.js';
import { findConversationItemsById } from '../storage/queries/conversations.js';
import {
  deleteStoredResponse,
  findChainItems,
  findStoredResponse,
  findStoredResponseItems,
  insertStoredResponse,
} from '../storage/queries/stored-responses.js';
import type { JsonSealer } from './sealed-json.js';
import { itemPlace } from './sealed-json.js';

/** The response object as it was sent (OpenAI's `response`), kept whole. */
export type StoredResponseBody = { id: string; status?: string | null } & Record<string, unknown>;

/** What is kept of one answered `POST /v1/responses` with `store: true`. */
export interface ResponseToStore {
  id: string;
  tenantId: string;
  keyId: string;
  createdAt: Date;
  previousResponseId: string | null;
  conversationId: string | null;
  /** The conversation, or the first response of the `previous_response_id` chain. */
  sessionId: string;
  response: StoredResponseBody;
  /** This request's input as items with ids (instructions are not items). */
  inputItems: readonly ResponseItem[];
  /** The output as items with ids. */
  outputItems: readonly ResponseItem[];
}

/** A stored response as read back: the response object and its input items. */
export interface StoredResponse {
  response: StoredResponseBody;
  inputItems: ResponseItem[];
  sessionId: string;
}

/** The conversation a `previous_response_id` continues: every earlier item, oldest first. */
export interface ResponseChain {
  items: ResponseItem[];
  sessionId: string;
  /** The status the response continued ended with (`completed`, `incomplete`, `failed`, …). */
  status: string;
  /** An earlier response the chain needs that is gone (deleted or pruned); null when whole. */
  missing: string | null;
}

/**
 * What storing a response came to: stored, or not at all because its conversation is gone or
 * holds one of the turn's item ids already (another turn stored it meanwhile).
 */
export type SaveOutcome = AppendOutcome;

/** Stored responses, encrypted per tenant and scoped to it in every read. */
export interface ResponseStore {
  /** Stores a response and appends its turn to its conversation, both or neither. */
  save(response: ResponseToStore): Promise<SaveOutcome>;
  /** A tenant's stored response, or null (unknown, another tenant's, or unreadable). */
  get(tenantId: string, id: string): Promise<StoredResponse | null>;
  /** Deletes a tenant's stored response; false when there was none. */
  remove(tenantId: string, id: string): Promise<boolean>;
  /** The items of a response's chain (its own input and output last), or null when not found. */
  chain(tenantId: string, id: string): Promise<ResponseChain | null>;
  /** The tenant's stored items with these ids (responses' and conversations'), by id. */
  findItems(tenantId: string, itemIds: readonly string[]): Promise<Map<string, ResponseItem>>;
}

/**
 * Whether a response ended with its answer (`completed`, or `incomplete` at a bound) rather than
 * cut short (`failed`, `cancelled`): only such a turn continues a conversation or a chain.
 */
export function endedWhole(response: { status?: string | null }): boolean {
  return response.status !== 'failed' && response.status !== 'cancelled';
}

/** Where a stored response's fields and items are sealed: bound into each ciphertext. */
const responsePlace = (tenantId: string, id: string, field: string) => ({
  tenantId,
  rowId: id,
  field,
});

/** Builds the stored-response service over the database and the tenants' data keys. */
export function createResponseStore(options: { db: Database; sealer: JsonSealer }): ResponseStore {
  const { db, sealer } = options;

  async function openItems(
    tenantId: string,
    rows: readonly { itemEnc: Buffer; itemId: string; ownerId: string }[],
  ): Promise<ResponseItem[] | null> {
    const key = await sealer.openingKeyFor(tenantId);
    if (key === null) return null;
    const items = await Promise.all(
      rows.map((row) =>
        sealer.open(key, row.itemEnc, itemPlace(tenantId, row.ownerId, row.itemId)),
      ),
    );
    return items.some((item) => item === null) ? null : (items as ResponseItem[]);
  }

  return {
    async save(r) {
      const key = await sealer.keyFor(r.tenantId);
      const turn = [...r.inputItems, ...r.outputItems];
      // Each copy of an item is sealed to its place: the response's, and the conversation's.
      const sealTurn = (ownerId: string) =>
        Promise.all(
          turn.map(async (item) => ({
            itemId: item.id,
            itemEnc: await sealer.seal(key, item, itemPlace(r.tenantId, ownerId, item.id)),
          })),
        );
      const items = (await sealTurn(r.id)).map((sealed, position) => ({
        ...sealed,
        responseId: r.id,
        position,
        tenantId: r.tenantId,
      }));
      // A turn that failed or that its client left adds nothing to its conversation: the next
      // turn continues from the last whole one, as if it had not been asked.
      const conversationId = endedWhole(r.response) ? r.conversationId : null;
      const conversationItems =
        conversationId === null
          ? []
          : (await sealTurn(conversationId)).map((sealed) => ({
              ...sealed,
              conversationId,
              tenantId: r.tenantId,
              createdAt: r.createdAt,
            }));
      return insertStoredResponse(
        db,
        {
          id: r.id,
          tenantId: r.tenantId,
          keyId: r.keyId,
          createdAt: r.createdAt,
          previousResponseId: r.previousResponseId,
          conversationId: r.conversationId,
          sessionId: r.sessionId,
          status: String(r.response.status ?? 'completed'),
          responseEnc: await sealer.seal(
            key,
            r.response,
            responsePlace(r.tenantId, r.id, 'response'),
          ),
          inputEnc: await sealer.seal(key, r.inputItems, responsePlace(r.tenantId, r.id, 'input')),
        },
        items,
        conversationItems,
      );
    },

    async get(tenantId, id) {
      const row = await findStoredResponse(db, tenantId, id);
      if (!row) return null;
      const key = await sealer.openingKeyFor(tenantId);
      if (key === null) return null;
      const response = await sealer.open(
        key,
        row.responseEnc,
        responsePlace(tenantId, id, 'response'),
      );
      const input = await sealer.open(key, row.inputEnc, responsePlace(tenantId, id, 'input'));
      if (response === null || !Array.isArray(input)) return null;
      return {
        response: response as StoredResponseBody,
        inputItems: input as ResponseItem[],
        sessionId: row.sessionId,
      };
    },

    remove: (tenantId, id) => deleteStoredResponse(db, tenantId, id),

    async chain(tenantId, id) {
      const head = await findStoredResponse(db, tenantId, id);
      if (!head) return null;
      const { rows, missing } = await findChainItems(db, tenantId, id);
      const items = await openItems(
        tenantId,
        rows.map((row) => ({ ...row, ownerId: row.responseId })),
      );
      return items === null
        ? null
        : { items, sessionId: head.sessionId, status: head.status, missing };
    },

    async findItems(tenantId, itemIds) {
      const found = new Map<string, ResponseItem>();
      if (itemIds.length === 0) return found;
      const fromResponses = await findStoredResponseItems(db, tenantId, itemIds);
      const fromConversations = await findConversationItemsById(db, tenantId, itemIds);
      const rows = [
        ...fromResponses.map((row) => ({ ...row, ownerId: row.responseId })),
        ...fromConversations.map((row) => ({ ...row, ownerId: row.conversationId })),
      ];
      const items = (await openItems(tenantId, rows)) ?? [];
      for (const item of items) found.set(item.id, item);
      return found;
    },
  };
}
