-- outbound_emails kept each email's HTML body beside its text, but nothing
-- reads it: the dashboard's outbox shows the text. It was most of the row
-- (2.5 KB of 3.6 KB for a notification), compressed into TOAST on every
-- email (pglz alone was 1.4 % of the machine's CPU under load) and written
-- to the WAL (docs/BENCHMARKS.md, "Where the CPU goes, and the minimal
-- ceiling"). Emails are still sent with both parts; Intake now records
-- the text only, and the column takes '' by default.
--
-- The column stays for now: during a rolling deploy the nodes not yet
-- restarted still write it, and would fail every email's record if it were
-- gone. A later migration may drop it once no such binary runs.

-- +goose Up
ALTER TABLE outbound_emails ALTER COLUMN body_html SET DEFAULT '';

-- +goose Down
ALTER TABLE outbound_emails ALTER COLUMN body_html DROP DEFAULT;
