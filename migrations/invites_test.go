package migrations_test

import (
	"context"
	"testing"
)

// Migration 00023: one pending invitation per (account, address) whatever
// the case, any number once accepted or revoked; never the role owner;
// and down again without a trace. Rows in SQL, as that schema holds them.
func TestInvitesMigration(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 22)
	ctx := context.Background()
	if _, err := p.UpTo(ctx, 23); err != nil {
		t.Fatalf("migration 00023: %v", err)
	}
	var account int64
	if err := pool.QueryRow(ctx, `INSERT INTO accounts (name) VALUES ('team') RETURNING id`).Scan(&account); err != nil {
		t.Fatal(err)
	}
	insert := func(email, role, token string) error {
		_, err := pool.Exec(ctx, `INSERT INTO invites (account_id, email, role, token_hash, expires_at)
VALUES ($1, $2, $3, sha256($4::bytea), now() + interval '7 days')`, account, email, role, token)
		return err
	}
	if err := insert("ada@example.com", "admin", "1"); err != nil {
		t.Fatal(err)
	}
	if err := insert("ADA@example.com", "viewer", "2"); err == nil {
		t.Error("a second pending invitation to the same address was taken")
	}
	if err := insert("bob@example.com", "owner", "3"); err == nil {
		t.Error("an invitation as owner was taken")
	}
	if _, err := pool.Exec(ctx, `UPDATE invites SET revoked_at = now()`); err != nil {
		t.Fatal(err)
	}
	if err := insert("ada@example.com", "member", "4"); err != nil {
		t.Errorf("a new invitation after the revoked one: %v", err)
	}
	if err := insert("cy@example.com", "member", "4"); err == nil {
		t.Error("two invitations with one token were taken")
	}
	if _, err := p.DownTo(ctx, 22); err != nil {
		t.Fatalf("down: %v", err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('invites') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Errorf("invites after going down: %v %v", exists, err)
	}
}
