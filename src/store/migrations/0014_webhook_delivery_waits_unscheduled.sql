-- A paused or disabled endpoint's deliveries wait unscheduled, out of the due ones workers scan;
-- enabling the endpoint makes them due. Those waiting already wait so too.
ALTER TABLE "webhook_delivery" ALTER COLUMN "next_attempt_at" DROP NOT NULL;--> statement-breakpoint
UPDATE "webhook_delivery" d SET "next_attempt_at" = NULL
FROM "webhook_endpoint" e
WHERE e."id" = d."endpoint_id" AND NOT e."enabled" AND d."state" = 'pending';
