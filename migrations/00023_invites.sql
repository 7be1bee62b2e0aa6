-- Invitations to an account (docs/SECURITY.md, "Members and roles"). An
-- admin or the owner invites an address with a role (never owner: that is
-- handed over, not given); the email carries a single-use link whose token
-- is kept only as its SHA-256, like email_tokens'. An invite is pending
-- until it is accepted, revoked or past expires_at (7 days).
--
-- One pending invite per (account, address): inviting the address again,
-- or resending, revokes the pending one and inserts a new row with a new
-- token, so the old link stops working and every email sent is a row
-- (the hourly limit counts rows by created_at).

-- +goose Up
CREATE TABLE invites (
    id          bigserial PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX invites_one_pending ON invites (account_id, lower(email)) WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invites_account_created_idx ON invites (account_id, created_at);

-- +goose Down
DROP TABLE invites;
