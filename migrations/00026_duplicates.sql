-- Business uniqueness (README, "One answer per person: unique values"): a
-- form's `unique` setting names the fields whose values together may be
-- taken once, forever or within a window. Each submission that is not
-- spam carries the hash of its normalised values (unique_hash) and the end
-- of the window its value counts in (unique_until; NULL: forever). The
-- exclusion constraint lets no two submissions of a form hold the same
-- hash over overlapping [created_at, unique_until) ranges: a value older
-- than its window no longer counts, and a change of window applies to new
-- submissions (each keeps the window it was taken with). It is enforced in
-- the submissions' own write (ON CONFLICT DO NOTHING), so two racing
-- submissions with the same value store one, in one group write or in two
-- transactions. Rows without a hash (the setting off, spam, an empty
-- value) are not in the index.
--
-- Every duplicate absorbed is counted by how it was recognised
-- (submissions/replays.go): a retry with the submission's key, a browser
-- repeat within the implicit window, a repeat of its unique value, and an
-- identical keyless JSON post within keyless_json_window. replays stays
-- the total (it counted the first two before this migration, unsplit).
--
-- A submission merged into another (the dashboard's "possible
-- duplicates", or POST /api/v1/submissions/{id}/merge) names it in
-- merged_into: it is never deleted, only hidden from default lists and
-- exports; undoing the merge clears it. A merged submission whose kept one
-- is deleted shows again (ON DELETE SET NULL).
--
-- btree_gist gives GiST the = of bigint and bytea; it is a trusted
-- extension, so a database owner without superuser may create it.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE submissions ADD COLUMN unique_hash bytea, ADD COLUMN unique_until timestamptz;
ALTER TABLE submissions ADD CONSTRAINT submissions_unique_value EXCLUDE USING gist (
    form_id WITH =, unique_hash WITH =, tstzrange(created_at, unique_until) WITH &&
) WHERE (unique_hash IS NOT NULL);

ALTER TABLE submissions ADD COLUMN duplicates_key integer NOT NULL DEFAULT 0,
    ADD COLUMN duplicates_implicit integer NOT NULL DEFAULT 0,
    ADD COLUMN duplicates_unique integer NOT NULL DEFAULT 0,
    ADD COLUMN duplicates_keyless integer NOT NULL DEFAULT 0,
    ADD COLUMN last_duplicate_at timestamptz,
    ADD COLUMN merged_into uuid REFERENCES submissions (id) ON DELETE SET NULL;
CREATE INDEX submissions_merged_into_idx ON submissions (merged_into) WHERE merged_into IS NOT NULL;

-- +goose Down
ALTER TABLE submissions DROP COLUMN duplicates_key, DROP COLUMN duplicates_implicit, DROP COLUMN duplicates_unique,
    DROP COLUMN duplicates_keyless, DROP COLUMN last_duplicate_at, DROP COLUMN merged_into;
ALTER TABLE submissions DROP CONSTRAINT submissions_unique_value;
ALTER TABLE submissions DROP COLUMN unique_hash, DROP COLUMN unique_until;
