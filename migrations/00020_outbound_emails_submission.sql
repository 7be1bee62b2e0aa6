-- Deleting a submission sets outbound_emails.submission_id to NULL on the
-- emails it caused (ON DELETE SET NULL). Without an index on the column,
-- Postgres finds those emails by a scan of the whole table for every
-- submission deleted: the nightly retention job (submissions/retention.go),
-- which deletes a thousand submissions per statement, would scan it a
-- thousand times per batch. The index makes each a lookup.

-- +goose Up
CREATE INDEX outbound_emails_submission_idx ON outbound_emails (submission_id)
WHERE submission_id IS NOT NULL;

-- +goose Down
DROP INDEX outbound_emails_submission_idx;
