-- The cap on confirmation emails to one address over all forms and
-- accounts (notify.ConfirmationsPerAddress) counts an address's recent
-- confirm_sent_at on every save that mails one: this index keeps that
-- count a short range scan.

-- +goose Up
CREATE INDEX notify_recipients_confirm_sent_idx ON notify_recipients (email, confirm_sent_at)
WHERE confirm_sent_at IS NOT NULL;

-- +goose Down
DROP INDEX notify_recipients_confirm_sent_idx;
