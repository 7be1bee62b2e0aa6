-- An API key is read_write (everything its account may do: every key
-- made before this migration, so nothing it could do is lost) or read_only
-- (GET and HEAD only; the API answers anything else 403 forbidden).

-- +goose Up
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'read_write'
	CONSTRAINT api_keys_scope_check CHECK (scope IN ('read_write', 'read_only'));

-- +goose Down
ALTER TABLE api_keys DROP COLUMN scope;
