-- The autoresponse limits count per mailbox (ada+1@ and ada+2@ are one)
-- over all forms as well as per form: the worker's count and expiry by
-- recipient alone need an index led by it. The table holds a day's rows.

-- +goose Up
CREATE INDEX autoresponses_mailbox_idx ON autoresponses (recipient, sent_at);

-- +goose Down
DROP INDEX autoresponses_mailbox_idx;
