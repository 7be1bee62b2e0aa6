-- outbound_emails kept each email's HTML body beside its text, but nothing
-- reads it: the dashboard's outbox shows the text. It was most of
-- the row (2.5 KB of 3.6 KB for a notification, compressed into TOAST with
-- its CPU and written to the WAL), on every email, under load about as
-- much CPU as the index inserts of the submission (docs/BENCHMARKS.md,
-- "Where the CPU goes, and the minimal ceiling"). Dropping the column is
-- instant; its space is reused as rows are vacuumed.

-- +goose Up
ALTER TABLE outbound_emails DROP COLUMN body_html;

-- +goose Down
ALTER TABLE outbound_emails ADD COLUMN body_html text NOT NULL DEFAULT '';
