-- Webhook endpoints saved before a user name and password in `url` were refused: they move into an
-- `Authorization: Basic` header, the very one the hub has been sending (Node builds it from the
-- URL's percent-decoded user name and password), so the receiver sees the same requests and the
-- API, the attempt log and events never show them again. An endpoint with an Authorization header
-- of its own kept sending that one (it wins over the URL's), and one whose credentials Node could
-- not decode (a stray `%`, bytes that are no UTF-8) never sent any: both just lose them.
-- The userinfo is what precedes the last `@` before the path, as the URL parser reads it.
DO $$
DECLARE
  endpoint record;
  userinfo text;
  credentials text;
BEGIN
  FOR endpoint IN
    SELECT id, url, headers FROM webhook_endpoint WHERE url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/\\?#]*@'
  LOOP
    -- The URL parser drops tabs and newlines.
    userinfo := translate(substring(endpoint.url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/\\?#]*)@'), E'\t\n\r', '');
    credentials := NULL;
    IF userinfo NOT IN ('', ':') AND userinfo !~ '%(?![0-9A-Fa-f]{2})' THEN
      BEGIN
        SELECT convert_from(string_agg(
            CASE WHEN left(part.m[1], 1) = '%' THEN decode(substr(part.m[1], 2), 'hex') ELSE convert_to(part.m[1], 'UTF8') END,
            ''::bytea ORDER BY part.n), 'UTF8')
          INTO credentials
          FROM regexp_matches(userinfo, '%[0-9A-Fa-f]{2}|[^%]+', 'g') WITH ORDINALITY AS part(m, n);
        -- No colon: a user name alone, with an empty password.
        IF position(':' in userinfo) = 0 THEN credentials := credentials || ':'; END IF;
      EXCEPTION WHEN others THEN
        credentials := NULL;
      END;
    END IF;
    UPDATE webhook_endpoint SET
      url = regexp_replace(endpoint.url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/\\?#]*@', '\1'),
      headers = CASE
        WHEN credentials IS NULL
          OR EXISTS (SELECT 1 FROM jsonb_object_keys(endpoint.headers) AS k WHERE lower(k) = 'authorization')
        THEN endpoint.headers
        ELSE endpoint.headers || jsonb_build_object(
          'Authorization', 'Basic ' || translate(encode(convert_to(credentials, 'UTF8'), 'base64'), E'\n', ''))
      END,
      updated_at = now()
    WHERE id = endpoint.id;
  END LOOP;
END $$;
--> statement-breakpoint
-- The notices of disabled endpoints already stored carry the endpoint as it was, URL included.
UPDATE webhook_event
SET payload = jsonb_set(payload, '{data,endpoint,url}', to_jsonb(
  regexp_replace(payload #>> '{data,endpoint,url}', '^([A-Za-z][A-Za-z0-9+.-]*://)[^/\\?#]*@', '\1')))
WHERE type = 'webhook.endpoint_disabled'
  AND payload #>> '{data,endpoint,url}' ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/\\?#]*@';
