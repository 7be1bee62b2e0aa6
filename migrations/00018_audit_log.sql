-- The audit log (package audit): one row per change made through the API,
-- the dashboard or the CLI, written in the transaction of the change.
--
-- The actor's user and API key ids carry no foreign key: a user or key
-- deleted later must not erase or rewrite the history of what it did. The
-- account's rows go with the account (ON DELETE CASCADE) and only so: a
-- trigger refuses every UPDATE, and every DELETE but the cascade's (a
-- later erasure part that must delete rows says so here).
--
-- changed holds field and setting names only, never values.

-- +goose Up
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_kind    text NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'cli', 'system')),
    actor_user_id bigint,
    actor_key_id  bigint,
    client_ip     text NOT NULL DEFAULT '',
    action        text NOT NULL,
    object_type   text NOT NULL,
    object_id     text NOT NULL,
    changed       text[] NOT NULL DEFAULT '{}'
);
-- The account's newest-first pages, and the same filtered by object.
CREATE INDEX audit_log_account_idx ON audit_log (account_id, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (account_id, object_id, id DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- pg_trigger_depth() > 1: the DELETE is the cascade of an account's
    -- deletion (its foreign key's trigger runs it), the one way rows go.
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
