CREATE TABLE "message_status_change" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"message_id" uuid NOT NULL,
	"status" text NOT NULL,
	"error_code" text,
	"channel_account_id" uuid,
	"at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "template" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"variables" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"bodies" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"fallback" jsonb,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "route_index" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "queue_rank" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "dispatched_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "request_hash" text;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "template" text;--> statement-breakpoint
ALTER TABLE "message" ADD COLUMN "text_by_kind" jsonb;--> statement-breakpoint
ALTER TABLE "workspace" ADD COLUMN "route_order" jsonb DEFAULT '["whatsapp_cloud","whatsapp_web","telegram","vk","ok","email"]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "message_status_change" ADD CONSTRAINT "message_status_change_message_id_message_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."message"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "template" ADD CONSTRAINT "template_workspace_id_workspace_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspace"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "message_status_change_message_idx" ON "message_status_change" USING btree ("message_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "template_name_key" ON "template" USING btree ("workspace_id","name");--> statement-breakpoint
CREATE INDEX "template_workspace_idx" ON "template" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "message_queue_idx" ON "message" USING btree ("channel_account_id","queue_rank","not_before","id") WHERE status in ('queued', 'sending');--> statement-breakpoint
CREATE INDEX "message_quota_idx" ON "message" USING btree ("channel_account_id","contact_id","dispatched_at") WHERE dispatched_at is not null and queue_rank > 0;