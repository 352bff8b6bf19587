-- A message rendered from a template kept only its text per channel kind, and the keyboard of its
-- first route's kind for every route. Each kind now keeps its whole body, text and keyboard. The
-- messages stored before keep sending the keyboard they would have sent: their own, for every
-- kind (until now the hub sent through VK alone, so every route of theirs had that keyboard's kind).
ALTER TABLE "message" ADD COLUMN "body_by_kind" jsonb;--> statement-breakpoint
UPDATE "message" SET "body_by_kind" = (
  SELECT jsonb_object_agg(body.kind, jsonb_build_object('text', body.text, 'keyboard', "message"."keyboard"))
  FROM jsonb_each_text("message"."text_by_kind") AS body(kind, text)
)
WHERE "text_by_kind" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "message" DROP COLUMN "text_by_kind";
