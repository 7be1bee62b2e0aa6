package migrations_test

import (
	"context"
	"testing"
)

// Migration 00024 indexes the addresses of the submissions already stored
// (the index is built over them, CONCURRENTLY, outside a transaction) and
// goes down again. The rows are written in SQL of the schema before it.
func TestPersonAddressesMigrationOnExistingSubmissions(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 23)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
WITH a AS (INSERT INTO accounts (name) VALUES ('before 00024') RETURNING id),
f AS (INSERT INTO forms (public_id, account_id, name) SELECT 'addrform', id, 'F' FROM a RETURNING id)
INSERT INTO submissions (id, form_id, contract_version, data, meta, created_at)
SELECT gen_random_uuid(), f.id, 1, d::jsonb, m::jsonb, now() FROM f, (VALUES
	('{"email": " Ada@Example.com "}', '{}'),
	('{"message": "write to ada@example.com, please"}', '{}'),
	('{"message": "hi"}', '{"reply_to": "ADA@example.com"}'),
	('{"email": "xada@example.com", "message": "ada@example.co"}', '{}')) AS v(d, m)`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 24); err != nil {
		t.Fatalf("migration 00024 on existing submissions: %v", err)
	}
	var n int
	var valid bool
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE submission_addresses(data, meta) @> ARRAY['ada@example.com']`).Scan(&n); err != nil || n != 3 {
		t.Errorf("submissions carrying ada@example.com: %d, %v; want 3", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'submissions_addresses_idx'::regclass`).Scan(&valid); err != nil || !valid {
		t.Errorf("submissions_addresses_idx valid: %v, %v", valid, err)
	}
	if _, err := p.DownTo(ctx, 23); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE proname = 'submission_addresses'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after down: %d functions, %v", n, err)
	}
}
