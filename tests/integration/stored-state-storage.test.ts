import type { ResponseItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetention } from '../../src/analytics/retention.js';
import type { ConversationStore } from '../../src/conversations/conversation-store.js';
import { createConversationStore } from '../../src/conversations/conversation-store.js';
import type { ResponseStore, ResponseToStore } from '../../src/conversations/response-store.js';
import { createResponseStore } from '../../src/conversations/response-store.js';
import { createJsonSealer } from '../../src/conversations/sealed-json.js';
import { generateMasterKeyEntry, parseMasterKeys } from '../../src/crypto/key-ring.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { createTenantKeys } from '../../src/tenants/tenant-keys.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

function message(id: string, role: 'user' | 'assistant', text: string): ResponseItem {
  return role === 'user'
    ? { id, type: 'message', role, status: 'completed', content: [{ type: 'input_text', text }] }
    : {
        id,
        type: 'message',
        role,
        status: 'completed',
        content: [{ type: 'output_text', text, annotations: [] }],
      };
}

function turn(
  tenantId: string,
  n: number,
  previousResponseId: string | null,
  conversationId: string | null = null,
): ResponseToStore {
  const id = `resp_${conversationId ?? 'chain'}_${n}`;
  return {
    id,
    tenantId,
    keyId: 'key_test',
    createdAt: new Date(NOW),
    previousResponseId,
    conversationId,
    sessionId: conversationId ?? 'resp_chain_1',
    response: { id, object: 'response', status: 'completed' },
    inputItems: [message(`msg_${id}_in`, 'user', `question ${n}`)],
    outputItems: [message(`msg_${id}_out`, 'assistant', `answer ${n}`)],
  };
}

const textOf = (item: ResponseItem | undefined) =>
  item?.type === 'message' ? (item.content[0] as { text: string }).text : null;

describe.each(storageDrivers())('stored responses and conversations on $name', (driver) => {
  let target: TestDatabaseTarget;
  let handle: DatabaseHandle;
  let responses: ResponseStore;
  let conversations: ConversationStore;
  let tenantId: string;
  let otherId: string;

  beforeAll(async () => {
    target = await driver.create();
    handle = await openDatabase(target.target);
    await handle.migrate();
    const ring = parseMasterKeys(generateMasterKeyEntry('test'));
    const sealer = createJsonSealer(createTenantKeys({ db: handle.db, ring }));
    const clock = { now: () => NOW, monotonic: () => performance.now() };
    responses = createResponseStore({ db: handle.db, sealer });
    conversations = createConversationStore({ db: handle.db, sealer, clock });
    tenantId = (await insertTenant(handle.db, 'stored')).id;
    otherId = (await insertTenant(handle.db, 'stored-other')).id;
  });

  afterAll(async () => {
    await handle?.close();
    await target?.drop();
  });

  it('walks a previous_response_id chain oldest first, in its tenant only', async () => {
    expect(await responses.save(turn(tenantId, 1, null))).toEqual({ ok: true });
    expect(await responses.save(turn(tenantId, 2, 'resp_chain_1'))).toEqual({ ok: true });
    expect(await responses.save(turn(tenantId, 3, 'resp_chain_2'))).toEqual({ ok: true });
    const chain = await responses.chain(tenantId, 'resp_chain_3');
    expect(chain?.items.map(textOf)).toEqual([
      'question 1',
      'answer 1',
      'question 2',
      'answer 2',
      'question 3',
      'answer 3',
    ]);
    expect(chain?.sessionId).toBe('resp_chain_1');
    expect(chain?.missing).toBeNull();
    expect(await responses.chain(otherId, 'resp_chain_3')).toBeNull();
    expect(await responses.get(otherId, 'resp_chain_2')).toBeNull();
    const found = await responses.findItems(tenantId, ['msg_resp_chain_2_out', 'msg_nope']);
    expect([...found.keys()]).toEqual(['msg_resp_chain_2_out']);
    expect((await responses.findItems(otherId, ['msg_resp_chain_2_out'])).size).toBe(0);
    expect(await responses.remove(otherId, 'resp_chain_3')).toBe(false);
    expect(await responses.remove(tenantId, 'resp_chain_3')).toBe(true);
    expect(await responses.get(tenantId, 'resp_chain_3')).toBeNull();
  });

  it('appends turns taken at once without losing or mixing items, and pages them', async () => {
    const conversation = await conversations.create(tenantId, { metadata: { a: 'b' }, items: [] });
    await Promise.all(
      [1, 2, 3, 4].map((n) => responses.save(turn(tenantId, n, null, conversation.id))),
    );
    const history = (await conversations.history(tenantId, conversation.id)) ?? [];
    expect(history).toHaveLength(8);
    for (let i = 0; i < 8; i += 2) {
      // Each turn's question is followed by its own answer.
      expect(textOf(history[i + 1])).toBe(textOf(history[i])?.replace('question', 'answer'));
    }
    const first = await conversations.listItems(tenantId, conversation.id, {
      after: null,
      limit: 3,
      order: 'desc',
    });
    if (!first.ok) throw new Error(first.reason);
    expect(first.page.hasMore).toBe(true);
    expect(first.page.data.map((item) => item.id)).toEqual(
      history
        .slice(-3)
        .reverse()
        .map((item) => item.id),
    );
    const next = await conversations.listItems(tenantId, conversation.id, {
      after: first.page.data.at(-1)?.id ?? null,
      limit: 10,
      order: 'desc',
    });
    if (!next.ok) throw new Error(next.reason);
    expect(next.page.data).toHaveLength(5);
    expect(next.page.hasMore).toBe(false);
    const asOther = { after: null, limit: 3, order: 'desc' as const };
    expect(await conversations.listItems(otherId, conversation.id, asOther)).toEqual({
      ok: false,
      reason: 'conversation_not_found',
    });
  });

  it('stores an item id once when turns carrying it are saved at once: the others are refused whole', async () => {
    const conversation = await conversations.create(tenantId, { metadata: {}, items: [] });
    const racing = [1, 2, 3, 4].map((n) => {
      const t = turn(tenantId, n, null, conversation.id);
      return { ...t, id: `${t.id}_raced`, inputItems: [message('msg_raced', 'user', 'same')] };
    });
    const outcomes = await Promise.all(racing.map((t) => responses.save(t)));
    const winners = racing.filter((_, i) => outcomes[i]?.ok);
    expect(
      winners.map((t) => t.id),
      JSON.stringify(outcomes),
    ).toHaveLength(1);
    expect(outcomes.filter((outcome) => !outcome.ok)).toEqual(
      [1, 2, 3].map(() => ({ ok: false, reason: 'duplicate_item', itemId: 'msg_raced' })),
    );
    const history = (await conversations.history(tenantId, conversation.id)) ?? [];
    expect(history.map((item) => item.id)).toEqual(['msg_raced', winners[0]?.outputItems[0]?.id]);
    for (const t of racing) {
      expect((await responses.get(tenantId, t.id)) !== null, t.id).toBe(winners.includes(t));
    }
  });

  it('deletes stored state older than the retention in batches', async () => {
    const conversation = await conversations.create(tenantId, {
      metadata: {},
      items: [message('msg_old', 'user', 'old')],
    });
    const later = { now: () => NOW + 40 * 86_400_000, monotonic: () => performance.now() };
    const result = await createRetention({
      db: handle.db,
      clock: later,
      logger: createLogger('silent'),
      policy: { contentDays: 30, rowsDays: undefined },
      batchRows: 2,
    }).run();
    expect(result.storedDeleted).toBeGreaterThanOrEqual(2 + 4 + 8 + 1 + 2);
    expect(await conversations.get(tenantId, conversation.id)).toBeNull();
    expect(await responses.get(tenantId, 'resp_chain_1')).toBeNull();
  });
});
