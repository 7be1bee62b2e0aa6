package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Migration 00022 makes every existing user a member of the account they
// were in: the first user by id its owner, any other an admin, so nobody
// can do less than before; sessions look at that account; and it goes down
// again with every user back in their account. The rows are written in SQL
// of the schema before it: the packages' code speaks the schema after.
func TestMembershipsMigrationOnExistingUsers(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 21)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
WITH a AS (INSERT INTO accounts (name) VALUES ('team'), ('solo') RETURNING id, name),
u AS (INSERT INTO users (account_id, email, password_hash)
	SELECT a.id, e.email, 'x' FROM a JOIN (VALUES ('team', 'ada@example.com', 1), ('team', 'bob@example.com', 2),
		('solo', 'cy@example.com', 3)) AS e(account, email, n) ON e.account = a.name ORDER BY e.n
	RETURNING id, account_id)
INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent)
SELECT sha256(id::text::bytea), id, now() + interval '1 day', '', '' FROM u`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 22); err != nil {
		t.Fatalf("migration 00022 on existing users: %v", err)
	}
	got := rowsText(ctx, t, pool, `SELECT a.name || ' ' || u.email || ' ' || m.role || ' ' || (s.account_id = a.id)::text
FROM memberships m JOIN accounts a ON a.id = m.account_id JOIN users u ON u.id = m.user_id
JOIN sessions s ON s.user_id = u.id`)
	if want := "solo cy@example.com owner true|team ada@example.com owner true|team bob@example.com admin true"; got != want {
		t.Errorf("memberships after the migration:\n%s\nwant\n%s", got, want)
	}
	// One owner per account, and only the roles the code knows.
	if _, err := pool.Exec(ctx, `UPDATE memberships SET role = 'owner' WHERE role = 'admin'`); err == nil {
		t.Error("the database took a second owner")
	}
	if _, err := pool.Exec(ctx, `UPDATE memberships SET role = 'root' WHERE role = 'admin'`); err == nil {
		t.Error("the database took the role root")
	}
	if _, err := p.DownTo(ctx, 21); err != nil {
		t.Fatalf("down: %v", err)
	}
	got = rowsText(ctx, t, pool, `SELECT a.name || ' ' || u.email FROM users u JOIN accounts a ON a.id = u.account_id`)
	if want := "solo cy@example.com|team ada@example.com|team bob@example.com"; got != want {
		t.Errorf("users after going down:\n%s\nwant\n%s", got, want)
	}
}

// rowsText runs query (one text column) and joins its rows, sorted, with "|".
func rowsText(ctx context.Context, t *testing.T, pool *pgxpool.Pool, query string) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(ctx, `SELECT coalesce(string_agg(x, '|' ORDER BY x), '') FROM (`+query+`) AS q(x)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
