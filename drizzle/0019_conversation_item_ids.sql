-- An item id is unique in its conversation, now by a unique index: until now only a check made
-- when a request was read, so two turns answering at once could both append the same new item id
-- (and paging after that id never ended). Conversations that earlier versions left holding an id
-- more than once keep every copy: the first (by position) stays item_copy 0, the later ones are
-- numbered 1, 2, … so the index holds; nothing is deleted or rewritten (each item's ciphertext is
-- bound to its conversation and item id, not to its copy).
ALTER TABLE "conversation_items" ADD COLUMN "item_copy" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "conversation_items" AS c SET "item_copy" = ranked.copy
  FROM (
    SELECT "conversation_id", "position",
      row_number() OVER (PARTITION BY "conversation_id", "item_id" ORDER BY "position") - 1 AS copy
    FROM "conversation_items"
  ) AS ranked
  WHERE c."conversation_id" = ranked."conversation_id" AND c."position" = ranked."position"
    AND ranked.copy > 0;--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_items_item_key" ON "conversation_items" USING btree ("conversation_id","item_id","item_copy");
