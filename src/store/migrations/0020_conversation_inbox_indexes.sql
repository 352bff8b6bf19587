-- additive
CREATE INDEX "conversation_status_activity_idx" ON "conversation" USING btree ("workspace_id","status",coalesce("last_message_at", "created_at") desc,"id" desc);--> statement-breakpoint
CREATE INDEX "conversation_assignee_activity_idx" ON "conversation" USING btree ("workspace_id","assignee","status",coalesce("last_message_at", "created_at") desc,"id" desc) WHERE assignee is not null;
