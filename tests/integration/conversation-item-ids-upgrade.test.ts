import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/storage/database.js';
import { sqlStateOf } from '../../src/storage/sql-state.js';
import { drivers, upgradeDatabase } from '../helpers/migration-upgrade.js';

/**
 * Upgrading to migration 0019 (an item id unique in its conversation, by index): conversations
 * that earlier versions left holding an id more than once keep every item, byte for byte, the
 * later copies numbered; from then on the database itself refuses a second copy of an id.
 */

const BEFORE = '0019_conversation_item_ids';

/** Items as an earlier version could leave them (msg_a twice, msg_b three times), and their copy. */
const LEGACY = [
  ['conv_legacy', 0, 'msg_first', 0],
  ['conv_legacy', 1, 'msg_a', 0],
  ['conv_legacy', 2, 'msg_b', 0],
  ['conv_legacy', 3, 'msg_b', 1],
  ['conv_legacy', 4, 'msg_a', 1],
  ['conv_legacy', 5, 'msg_b', 2],
  ['conv_other', 0, 'msg_a', 0],
] as const;

interface ItemRow {
  conversation_id: string;
  position: number;
  item_id: string;
  item_copy: number;
  item: string;
}

describe.each(drivers)('upgrading to unique conversation item ids ($name)', (driver) => {
  const upgrade = upgradeDatabase(driver, BEFORE);

  it('keeps every copy of an id stored twice, numbers the later ones, then refuses new copies', {
    timeout: 120_000,
  }, async () => {
    const { db, folder } = upgrade;
    await db.migrate(folder);
    for (const [conversation, position, itemId] of LEGACY) {
      await db.rows(
        `insert into conversation_items (conversation_id, position, tenant_id, item_id, created_at, item_enc)
          values ('${conversation}', ${position}, 'ten_legacy', '${itemId}', now(),
            convert_to('sealed ${conversation} ${position}', 'UTF8'))`,
      );
    }
    await db.migrate(MIGRATIONS_DIR);

    const rows = await db.rows<ItemRow>(
      `select conversation_id, position, item_id, item_copy, convert_from(item_enc, 'UTF8') as item
        from conversation_items order by conversation_id, position`,
    );
    expect(rows).toEqual(
      LEGACY.map(([conversation, position, itemId, copy]) => ({
        conversation_id: conversation,
        position,
        item_id: itemId,
        item_copy: copy,
        item: `sealed ${conversation} ${position}`,
      })),
    );

    const again = await db
      .rows(
        `insert into conversation_items (conversation_id, position, tenant_id, item_id, created_at, item_enc)
          values ('conv_other', 1, 'ten_legacy', 'msg_a', now(), '\\x00')`,
      )
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(sqlStateOf(again), String(again)).toBe('23505');
  });
});
