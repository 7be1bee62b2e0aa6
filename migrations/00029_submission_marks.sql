-- The dashboard's triage marks on a submission (README, "The dashboard"):
-- read_at is when someone of the account first opened it or marked it
-- read (NULL: unread, as every submission arrives), starred is a mark
-- anyone of the account may set to find it again. Both belong to the
-- account, not to one member: a team shares one inbox, as a shared
-- mailbox does. Neither is part of the submission's data, its API shape
-- or its exports, and neither is written to the audit log (marks, not
-- changes; spam and deletion are audited as before).
--
-- The starred list reads a partial index: few rows are starred, and the
-- list walks them newest first. The unread list walks the date index,
-- as the inbox does.

-- +goose Up
ALTER TABLE submissions ADD COLUMN read_at timestamptz, ADD COLUMN starred boolean NOT NULL DEFAULT false;
CREATE INDEX submissions_starred_idx ON submissions (form_id, created_at DESC, id DESC) WHERE starred;

-- +goose Down
DROP INDEX submissions_starred_idx;
ALTER TABLE submissions DROP COLUMN read_at, DROP COLUMN starred;
