DROP INDEX "message_idempotency_key";--> statement-breakpoint
DROP INDEX "message_send_key";--> statement-breakpoint
DROP INDEX "message_part_of_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "message_idempotency_key" ON "message" USING btree ("workspace_id","idempotency_key") WHERE idempotency_key is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "message_send_key" ON "message" USING btree ("channel_account_id","send_key") WHERE send_key is not null;--> statement-breakpoint
CREATE INDEX "message_part_of_idx" ON "message" USING btree ("part_of","part") WHERE part_of is not null;