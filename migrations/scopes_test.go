package migrations_test

import (
	"context"
	"testing"
)

// Migration 00019 gives every existing API key the scope read_write, so a
// key made before scopes keeps doing all it did; a revoked key keeps its
// revocation; the database refuses a scope the code does not know; and it
// goes down again. The rows are written in SQL of the schema before it:
// the packages' code speaks the schema after.
func TestAPIKeyScopesMigrationOnExistingKeys(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 18)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
WITH a AS (INSERT INTO accounts (name) VALUES ('before scopes') RETURNING id),
u AS (INSERT INTO users (account_id, email, password_hash) SELECT id, 'old@example.com', 'x' FROM a RETURNING id, account_id)
INSERT INTO api_keys (account_id, user_id, name, prefix, hash, public_id, revoked_at)
SELECT account_id, id, k.name, 'intk_' || k.name, sha256(k.name::bytea), 'ak_' || k.name, k.revoked
FROM u, (VALUES ('live', NULL::timestamptz), ('revoked', now())) AS k(name, revoked)`); err != nil {
		t.Fatal(err)
	}

	if _, err := p.UpTo(ctx, 19); err != nil {
		t.Fatalf("migration 00019 on existing keys: %v", err)
	}
	rows, err := pool.Query(ctx, `SELECT name || ' ' || scope || ' ' || (revoked_at IS NOT NULL)::text FROM api_keys ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"live read_write false", "revoked read_write true"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("keys after the migration: %q, want %q", got, want)
	}
	for _, bad := range []string{"admin", "", "READ_ONLY"} {
		if _, err := pool.Exec(ctx, `UPDATE api_keys SET scope = $1`, bad); err == nil {
			t.Errorf("the database took the scope %q", bad)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE api_keys SET scope = 'read_only' WHERE name = 'live'`); err != nil {
		t.Errorf("read_only refused: %v", err)
	}
	if _, err := p.DownTo(ctx, 18); err != nil {
		t.Fatalf("down: %v", err)
	}
}
