-- Intake's own tables. River's live in the *_river_* files beside this one.

-- +goose Up
CREATE TABLE accounts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email         text NOT NULL,
    password_hash text NOT NULL, -- argon2id, PHC string format
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_account_idx ON users (account_id);

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id      bigint REFERENCES users (id) ON DELETE SET NULL,
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL,          -- shown in lists; the key itself is never stored
    hash         bytea NOT NULL,         -- SHA-256 of the key (keys are 160-bit random)
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (hash);
CREATE INDEX api_keys_account_idx ON api_keys (account_id);

CREATE TABLE forms (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id        text NOT NULL CHECK (public_id ~ '^[a-z2-7]{8}$'),
    account_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name             text NOT NULL,
    settings         jsonb NOT NULL DEFAULT '{}',
    contract_version integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    archived_at      timestamptz
);
CREATE UNIQUE INDEX forms_public_id_key ON forms (public_id);
CREATE INDEX forms_account_idx ON forms (account_id, id);

-- Contracts are append-only: a change makes a new version and every
-- submission keeps the version it was checked against.
CREATE TABLE form_contracts (
    form_id    bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    version    integer NOT NULL,
    fields     jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (form_id, version)
);

CREATE TABLE submissions (
    id               uuid PRIMARY KEY,   -- UUIDv7 made in Go: time-ordered, no round trip
    form_id          bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    contract_version integer NOT NULL,
    data             jsonb NOT NULL,
    spam             boolean NOT NULL DEFAULT false,
    spam_reason      text,
    idempotency_key  text,
    meta             jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL
);
-- Keyset pagination, newest first, per form.
CREATE INDEX submissions_form_created_idx ON submissions (form_id, created_at DESC, id DESC);

-- Uploaded files, written in the submission's transaction.
CREATE TABLE submission_files (
    submission_id uuid NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    field         text NOT NULL,
    position      integer NOT NULL,
    filename      text NOT NULL,
    content_type  text NOT NULL,
    size          bigint NOT NULL,
    sha256        text NOT NULL,
    content       bytea NOT NULL,
    PRIMARY KEY (submission_id, field, position)
);

-- One row per (form, key): the claim that makes a submission exactly-once,
-- and the stored response a retry gets back byte for byte. No foreign key to
-- submissions: a deleted submission must still replay, not be made again.
CREATE TABLE idempotency_keys (
    form_id          bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    key              text NOT NULL,
    fingerprint      bytea NOT NULL,
    submission_id    uuid NOT NULL,
    response_status  smallint NOT NULL,
    response_headers jsonb NOT NULL,
    response_body    bytea NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (form_id, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Instance-wide values such as the generated secret key.
CREATE TABLE instance_settings (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE instance_settings;
DROP TABLE idempotency_keys;
DROP TABLE submission_files;
DROP TABLE submissions;
DROP TABLE form_contracts;
DROP TABLE forms;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE accounts;
