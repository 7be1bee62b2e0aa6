-- Verified sign-up and password reset (docs/SECURITY.md, "Dashboard
-- sessions and passwords").
--
-- users.email_verified_at is when the user proved they read mail at their
-- address; until then their account's forms take submissions but Intake
-- sends no notification or autoresponse for it. Every user who exists when
-- this runs is set verified as of their sign-up: they were made by an
-- operator (`intake users create`) or signed up before verification
-- existed, and cutting off the notifications of an instance already in use
-- would be a worse surprise than trusting them.
--
-- email_tokens are the single-use links of the verification and reset
-- emails. The link carries a random 256-bit token; only its SHA-256 is
-- kept, so a read of the table cannot be turned into a link.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

CREATE TABLE email_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify', 'reset')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
-- The per-user limits count a purpose's recent tokens.
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose, created_at);

-- +goose Down
DROP TABLE email_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
