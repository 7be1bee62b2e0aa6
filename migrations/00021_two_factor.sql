-- Two-factor log-in (docs/SECURITY.md, "Two-factor log-in"): a TOTP
-- (RFC 6238) secret per user, ten single-use recovery codes, and an
-- account's choice to require it of every user.
--
-- two_factor.secret is sealed at rest (internal/seal, bound to the user),
-- as webhook secrets are. A row with enabled_at NULL is an enrolment not
-- yet confirmed with a code: it protects nothing. last_step is the TOTP
-- time step of the last code accepted, so a code works once.
--
-- recovery_codes keeps only the SHA-256 of each code: they are 160-bit
-- random strings, so a plain hash is enough, and a read of the table
-- cannot be turned into a log-in. used_at marks one spent.
--
-- login_challenges are the half-logged-in state between a correct password
-- and the second step: a random token in a cookie, only its SHA-256 here.
-- It is not a session (sessions has no row for it), lasts minutes, and
-- allows a few wrong codes before it is spent.

-- +goose Up
ALTER TABLE accounts ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

CREATE TABLE two_factor (
    user_id    bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    enabled_at timestamptz,
    last_step  bigint NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    UNIQUE (user_id, code_hash)
);

CREATE TABLE login_challenges (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('code', 'enrol')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    failures   int NOT NULL DEFAULT 0
);
CREATE INDEX login_challenges_user_idx ON login_challenges (user_id);

-- +goose Down
DROP TABLE login_challenges;
DROP TABLE recovery_codes;
DROP TABLE two_factor;
ALTER TABLE accounts DROP COLUMN require_two_factor;
