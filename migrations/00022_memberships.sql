-- Members and roles (docs/SECURITY.md, "Members and roles"). A user was
-- one account's (users.account_id); now a user may be a member of several
-- accounts, each with a role: owner (exactly one per account), admin,
-- member or viewer. memberships is the one place that says who is in an
-- account and as what; users keeps only the person (email, password).
--
-- Every existing user becomes a member of the account they were in: the
-- first user by id as its owner (the one who made it: what "owner" meant
-- until now), any other as admin, so nobody can do less than before.
--
-- sessions.account_id is the account a session is looking at (a user in
-- several switches between them). NULL, or an account the user has since
-- left, means "the user's most recently used account" (accounts.SessionFor).
-- memberships.last_used_at orders those: the account a log-in opens.

-- +goose Up
CREATE TABLE memberships (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    PRIMARY KEY (account_id, user_id)
);
CREATE UNIQUE INDEX memberships_one_owner ON memberships (account_id) WHERE role = 'owner';
CREATE INDEX memberships_user_idx ON memberships (user_id);

INSERT INTO memberships (account_id, user_id, role, created_at, last_used_at)
SELECT u.account_id, u.id,
       CASE WHEN u.id = min(u.id) OVER (PARTITION BY u.account_id) THEN 'owner' ELSE 'admin' END,
       u.created_at, u.created_at
FROM users u;

ALTER TABLE sessions ADD COLUMN account_id bigint REFERENCES accounts (id) ON DELETE SET NULL;
UPDATE sessions s SET account_id = u.account_id FROM users u WHERE u.id = s.user_id;

DROP INDEX users_account_idx;
ALTER TABLE users DROP COLUMN account_id;

-- +goose Down
ALTER TABLE users ADD COLUMN account_id bigint REFERENCES accounts (id) ON DELETE CASCADE;
UPDATE users u SET account_id = (
    SELECT m.account_id FROM memberships m WHERE m.user_id = u.id
    ORDER BY m.role = 'owner' DESC, m.created_at, m.account_id LIMIT 1);
-- A user in no account gets one of their own, as sign-up made.
-- +goose StatementBegin
DO $$
DECLARE r record; a bigint;
BEGIN
    FOR r IN SELECT id, email FROM users WHERE account_id IS NULL LOOP
        INSERT INTO accounts (name) VALUES (r.email) RETURNING id INTO a;
        UPDATE users SET account_id = a WHERE id = r.id;
    END LOOP;
END $$;
-- +goose StatementEnd
ALTER TABLE users ALTER COLUMN account_id SET NOT NULL;
CREATE INDEX users_account_idx ON users (account_id);
ALTER TABLE sessions DROP COLUMN account_id;
DROP TABLE memberships;
