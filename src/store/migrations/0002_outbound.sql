ALTER TABLE "message" ADD COLUMN "part" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "part_of" uuid;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "keyboard" jsonb;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "reply_to_message_id" uuid;--> statement-breakpoint
ALTER TABLE "message" ADD CONSTRAINT "message_part_of_message_id_fk" FOREIGN KEY ("part_of") REFERENCES "public"."message"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message" ADD CONSTRAINT "message_reply_to_message_id_message_id_fk" FOREIGN KEY ("reply_to_message_id") REFERENCES "public"."message"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "message_part_of_idx" ON "message" USING btree ("part_of","part");