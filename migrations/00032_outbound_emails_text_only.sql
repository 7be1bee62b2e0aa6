-- outbound_emails kept each email's HTML body beside its text, but nothing
-- reads it: the dashboard's outbox shows the text. It was most of the row
-- (2.5 KB of 3.6 KB for a notification), compressed into TOAST on every
-- email (pglz alone was 1.4 % of the machine's CPU under load) and written
-- to the WAL (docs/BENCHMARKS.md, "Where the CPU goes, and the minimal
-- ceiling"). Emails are still sent with both parts. Dropping the column
-- is instant; its space is reused as rows are vacuumed.

-- +goose Up
ALTER TABLE outbound_emails DROP COLUMN body_html;

-- +goose Down
ALTER TABLE outbound_emails ADD COLUMN body_html text NOT NULL DEFAULT '';
