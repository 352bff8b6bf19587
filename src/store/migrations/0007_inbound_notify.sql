-- Intake workers in every process wake when events are stored, whoever stored them (a webhook,
-- a long poll loop), in the statement that stores them: no separate round trip per batch. The
-- notification leaves only when the transaction commits, and repeats within one are merged.
CREATE FUNCTION notify_inbound_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('switchboard_inbound', '');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER inbound_event_notify_trigger
AFTER INSERT ON inbound_event
FOR EACH STATEMENT EXECUTE FUNCTION notify_inbound_events();
