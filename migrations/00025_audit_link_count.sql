-- The audit log (package audit) learns two things:
--
-- actor_kind 'link': someone who is not logged in, acting by a link Intake
-- mailed them (a notification recipient confirming or unsubscribing),
-- with their client address like any actor. Their email address is not
-- kept: the log is append-only, and an email address is a person's data
-- that an erasure must be able to remove.
--
-- count: how many objects one entry covers, for a change made to many at
-- once (retention's nightly deletion of a form's submissions); NULL for a
-- change to one object.

-- +goose Up
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_kind_check
    CHECK (actor_kind IN ('user', 'api_key', 'cli', 'system', 'link'));
ALTER TABLE audit_log ADD COLUMN count bigint CHECK (count >= 0);

-- +goose Down
-- Rows already written stay (the log is append-only): the older check is
-- put back NOT VALID, so it holds for new rows only.
ALTER TABLE audit_log DROP COLUMN count;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_kind_check
    CHECK (actor_kind IN ('user', 'api_key', 'cli', 'system')) NOT VALID;
