-- The callback secret's own time: `updated_at` moves with every settings change. Until now it
-- stood for the secret's time too, so existing rows take it.
ALTER TABLE "webhook_settings" ADD COLUMN "callback_secret_rotated_at" timestamp (3) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
UPDATE "webhook_settings" SET "callback_secret_rotated_at" = "updated_at";
