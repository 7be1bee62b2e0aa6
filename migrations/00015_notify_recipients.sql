-- Double opt-in of notification addresses, and the autoresponse limit. Both
-- tables belong to package notify (notify/doc.go).

-- +goose Up

-- One row per address a form has listed in settings.notify_emails (listed),
-- or that unsubscribed from a form's mail without being listed (the account
-- owner, who gets a form's notifications when it lists no one). A listed
-- address gets mail only once confirmed. A removed address is no longer
-- listed and forgets its state; its row stays so that the one confirmation
-- mail a day (confirm_sent_at) holds across a remove and re-add.
CREATE TABLE notify_recipients (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form_id          bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    email            text NOT NULL CHECK (email = lower(email)),
    listed           boolean NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'confirmed', 'unsubscribed')),
    -- SHA-256 of the live confirmation link's token; NULL when there is none
    -- (confirmed, unlisted, or the mail was held back by the daily limit).
    token_hash       bytea,
    confirm_sent_at  timestamptz, -- the last confirmation mail
    created_at       timestamptz NOT NULL DEFAULT now(),
    confirmed_at     timestamptz,
    unsubscribed_at  timestamptz
);
CREATE UNIQUE INDEX notify_recipients_form_email_key ON notify_recipients (form_id, email);
CREATE UNIQUE INDEX notify_recipients_token_key ON notify_recipients (token_hash) WHERE token_hash IS NOT NULL;

-- The addresses forms list today were never confirmed: each starts pending
-- (the next save of its form mails its confirmation link), except the
-- account's own users' addresses, proven at sign-up.
INSERT INTO notify_recipients (form_id, email, listed, state, confirmed_at)
SELECT DISTINCT ON (f.id, lower(e.email)) f.id, lower(e.email), true,
       CASE WHEN u.id IS NULL THEN 'pending' ELSE 'confirmed' END,
       CASE WHEN u.id IS NULL THEN NULL ELSE now() END
FROM forms f
CROSS JOIN LATERAL jsonb_array_elements_text(
    CASE WHEN jsonb_typeof(f.settings->'notify_emails') = 'array' THEN f.settings->'notify_emails' ELSE '[]' END) AS e(email)
LEFT JOIN users u ON u.account_id = f.account_id AND lower(u.email) = lower(e.email)
ORDER BY f.id, lower(e.email), u.id;

-- The autoresponses sent (or about to be) in the last day, one row per
-- submission, counted per form and recipient under an advisory lock by the
-- email worker: at most 3 per address and form in 24 hours.
CREATE TABLE autoresponses (
    submission_id uuid PRIMARY KEY, -- no foreign key: a deleted submission still counts
    form_id       bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    recipient     text NOT NULL CHECK (recipient = lower(recipient)),
    sent_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX autoresponses_recipient_idx ON autoresponses (form_id, recipient, sent_at);

-- +goose Down
DROP TABLE autoresponses;
DROP TABLE notify_recipients;
