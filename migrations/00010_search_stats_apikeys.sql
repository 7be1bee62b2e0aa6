-- Search over submissions, replay counts for the stats, and public ids for
-- API keys (so they can be listed and revoked through the API).

-- +goose Up
-- Full words of every string and number in the data, lower-cased with the
-- 'simple' configuration (no stemming, no stop words: a form's fields are
-- names, emails and short texts in any language). The parser keeps an email
-- address or a URL as one token; the values are parsed a second time with
-- '@' and '.' turned into spaces, so "grace" finds grace.hopper@example.com
-- while the whole address stays one rare token (a fast lookup). A stored
-- generated column keeps it in step with the data; a GIN index over
-- (form_id, search) — btree_gin lets the form id share the index — makes a
-- form-scoped search an index lookup even on a form with a million
-- submissions, instead of a scan of its rows.
CREATE EXTENSION IF NOT EXISTS btree_gin;
ALTER TABLE submissions
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', jsonb_path_query_array(data, 'strict $.** ? (@.type() == "string" || @.type() == "number")')::text)
        || to_tsvector('simple', translate(
            jsonb_path_query_array(data, 'strict $.** ? (@.type() == "string" || @.type() == "number")')::text, '@.', '  '))
    ) STORED;
CREATE INDEX submissions_search_idx ON submissions USING gin (form_id, search);

-- Duplicates absorbed: replays are counted in memory and flushed every few
-- seconds (see submissions.ReplayCounter), so the replay path itself stays
-- a single read.
ALTER TABLE submissions ADD COLUMN replays integer NOT NULL DEFAULT 0;
CREATE TABLE form_daily_replays (
    form_id bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    day     date NOT NULL,
    replays bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (form_id, day)
);

ALTER TABLE api_keys ADD COLUMN public_id text;
UPDATE api_keys SET public_id = 'ak_' || substr(md5(random()::text || id::text), 1, 16);
ALTER TABLE api_keys ALTER COLUMN public_id SET NOT NULL;
CREATE UNIQUE INDEX api_keys_public_id_key ON api_keys (public_id);

-- +goose Down
DROP INDEX api_keys_public_id_key;
ALTER TABLE api_keys DROP COLUMN public_id;
DROP TABLE form_daily_replays;
ALTER TABLE submissions DROP COLUMN replays;
DROP INDEX submissions_search_idx;
ALTER TABLE submissions DROP COLUMN search;
