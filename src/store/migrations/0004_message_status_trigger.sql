-- Every status an outbound message takes is kept, with its reason and route, whatever code
-- changed it. clock_timestamp(), not now(): several changes in one transaction keep their order
-- in time too.
CREATE FUNCTION record_message_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.direction = 'outbound' AND (TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status) THEN
    INSERT INTO message_status_change (message_id, status, error_code, channel_account_id, at)
    VALUES (NEW.id, NEW.status, NEW.error_code, NEW.channel_account_id, clock_timestamp());
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER message_status_change_trigger
AFTER INSERT OR UPDATE OF status ON message
FOR EACH ROW EXECUTE FUNCTION record_message_status_change();
