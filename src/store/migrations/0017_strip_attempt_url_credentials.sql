-- The attempt log keeps each request's URL as sent, and until now that included a user name and
-- password: those of endpoints saved before they were refused (until migration 0016 moved them
-- into an Authorization header), and those of messages' status_url accepted before they were
-- refused, whose callbacks still send them. The log is only ever shown without them, and the hub
-- now writes it without them: the rows written before lose them too. Only the userinfo goes
-- (what precedes the last `@` before the path, as the URL parser reads it, as in 0016); an `@`
-- in the path or the query stays. The deliveries keep their URL: callbacks still sign in with it.
UPDATE webhook_attempt
SET url = regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/\\?#]*@', '\1')
WHERE url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/\\?#]*@';
