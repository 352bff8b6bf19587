-- No query filters or sorts on the events' JSON, yet ANALYZE sampled and compared it for
-- statistics: most of the time these tables took to analyze (after 20,000 events, 366 ms for
-- inbound_event against 90 without). On PGlite, where the hub runs ANALYZE itself and it holds
-- the whole process, that was a pause in every request.
ALTER TABLE inbound_event ALTER COLUMN payload SET STATISTICS 0;
--> statement-breakpoint
ALTER TABLE webhook_event ALTER COLUMN payload SET STATISTICS 0;
