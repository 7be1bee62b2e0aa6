-- A person's data (docs/ARCHITECTURE.md, "A person's data"): finding every
-- submission of an account that carries an email address, for a GDPR/CCPA
-- request (GET /api/v1/people, POST /api/v1/erasures).
--
-- The search column of migration 00010 cannot serve it: Postgres's text
-- parser reads "bob+tag@example.com" as the word "bob" and the address
-- "tag@example.com", and "bob@localhost" or "a.b@c.d" as plain words, so a
-- lookup through it would miss submissions that carry those addresses; and
-- the reply-to (meta) is not in it. submission_addresses is the one
-- definition of "carries the address": every run of address characters
-- (a local part of letters, digits and . _ % + -, an @, then labels of
-- letters, digits and - joined by single dots) in any string of the data
-- or in the reply-to, lower-cased. An address is found as a whole word:
-- "xbob@example.com" does not carry bob@example.com, and neither does
-- "bob@example.co" carry bob@example.com nor the reverse. Both the index
-- and the recheck of the lookup use it, so they cannot disagree.
--
-- The GIN index over (form_id, addresses) — btree_gin, as in 00010 — makes
-- the lookup of one address an index probe on a million rows. It is built
-- CONCURRENTLY: submissions keep being taken while it builds.

-- +goose NO TRANSACTION
-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION submission_addresses(data jsonb, meta jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]), '{}')
FROM (SELECT v #>> '{}' AS t FROM jsonb_path_query(data, 'strict $.** ? (@.type() == "string")') AS v
      UNION ALL SELECT meta ->> 'reply_to') AS texts,
     regexp_matches(lower(texts.t), '([[:alnum:]._%+-]+@[[:alnum:]-]+(?:\.[[:alnum:]-]+)*)', 'g') AS m
$$;
-- +goose StatementEnd
CREATE INDEX CONCURRENTLY submissions_addresses_idx ON submissions USING gin (form_id, submission_addresses(data, meta));

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS submissions_addresses_idx;
DROP FUNCTION IF EXISTS submission_addresses(jsonb, jsonb);
