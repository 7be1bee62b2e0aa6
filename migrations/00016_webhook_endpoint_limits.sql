-- At most 10 webhook endpoints per form, and a URL once per form: one
-- anonymous submission must not turn into a hundred outbound POSTs
-- (docs/SECURITY.md, "Webhook receivers and Intake's network").
--
-- URLs are compared by webhook_url_key: scheme and host case-folded, the
-- default port dropped, an empty path read as "/", the fragment (never
-- sent) dropped. A trailing slash elsewhere is kept: /hook and /hook/ are
-- different resources to a receiver. The key is computed here only, so the
-- rows already stored and every new one are compared the same way.
--
-- A running database may already hold duplicates, and forms over the cap.
-- Nothing is deleted (each row has its secret and its delivery log):
-- later duplicates are disabled, marked legacy_duplicate and left out of
-- the unique index, and endpoints past a form's 10 oldest are disabled,
-- each with the reason shown to its owner. Enabling a marked row, or giving
-- it a new URL, puts it back under the index (webhooks.Update), so it
-- cannot deliver twice again; a form over the cap can enable nothing until
-- its owner deletes endpoints.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION webhook_url_key(url text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT coalesce(lower(m[1]) || '://'
	|| regexp_replace(lower(m[2]), CASE lower(m[1]) WHEN 'http' THEN ':(80)?$' WHEN 'https' THEN ':(443)?$' ELSE ':$' END, '')
	|| CASE WHEN m[3] = '' OR left(m[3], 1) = '?' THEN '/' || m[3] ELSE m[3] END, url)
FROM (SELECT regexp_match(split_part(url, '#', 1), '^([A-Za-z][A-Za-z0-9+.-]*)://([^/?]*)(.*)$') AS m) AS parts
$$;
-- +goose StatementEnd

-- Writers wait while the rows are sorted out, so none slips a duplicate in
-- between the update and the index (an older replica during a rolling
-- upgrade).
LOCK TABLE webhook_endpoints IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE webhook_endpoints ADD COLUMN legacy_duplicate boolean NOT NULL DEFAULT false;

WITH ranked AS (
	SELECT id, first_value(public_id) OVER w AS first, row_number() OVER w AS n
	FROM webhook_endpoints
	WINDOW w AS (PARTITION BY form_id, webhook_url_key(url) ORDER BY id)
)
UPDATE webhook_endpoints e SET legacy_duplicate = true, enabled = false, updated_at = now(),
	disabled_reason = 'disabled by an upgrade: ' || r.first || ' has the same URL, and a form sends to a URL once'
FROM ranked r
WHERE r.id = e.id AND r.n > 1;

WITH ranked AS (
	SELECT id, row_number() OVER (PARTITION BY form_id ORDER BY legacy_duplicate, id) AS n
	FROM webhook_endpoints
)
UPDATE webhook_endpoints e SET enabled = false, updated_at = now(),
	disabled_reason = 'disabled by an upgrade: a form has at most 10 webhook endpoints; delete others before enabling this one'
FROM ranked r
WHERE r.id = e.id AND r.n > 10 AND e.enabled;

CREATE UNIQUE INDEX webhook_endpoints_form_url_key ON webhook_endpoints (form_id, webhook_url_key(url))
	WHERE NOT legacy_duplicate;

-- +goose Down
DROP INDEX webhook_endpoints_form_url_key;
ALTER TABLE webhook_endpoints DROP COLUMN legacy_duplicate;
DROP FUNCTION webhook_url_key(text);
