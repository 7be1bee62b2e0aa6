package migrations_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/migrations"
)

// Addresses forms listed before notify_recipients existed were never
// confirmed: after the migration each is pending, except the account's own
// users' addresses, and the list's duplicates (in any case) are one row.
func TestNotifyRecipientsBackfill(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.New(t)
	ctx := context.Background()
	p, closer, err := migrations.Provider(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if _, err := p.DownTo(ctx, 14); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctx, `
WITH a AS (INSERT INTO accounts (name) VALUES ('a') RETURNING id),
u AS (INSERT INTO users (account_id, email, password_hash) SELECT id, 'Owner@Example.com', 'x' FROM a),
f AS (INSERT INTO forms (public_id, account_id, name, settings, contract_version)
      SELECT 'aaaaaaaa', id, 'F', '{"notify_emails": ["owner@example.com", "Colleague@Example.com", "colleague@example.com"]}'::jsonb, 1 FROM a
      UNION ALL
      SELECT 'bbbbbbbb', id, 'G', '{"notify_emails": "not a list"}'::jsonb, 1 FROM a
      RETURNING id)
INSERT INTO form_contracts (form_id, version, fields) SELECT id, 1, '[]' FROM f`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var got string
	err = pool.QueryRow(ctx, `SELECT string_agg(email || '=' || state || '/' || listed::text, ' ' ORDER BY email) FROM notify_recipients`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "colleague@example.com=pending/true owner@example.com=confirmed/true"; got != want {
		t.Errorf("backfilled %s, want %s", got, want)
	}
	if strings.Contains(got, "Colleague") {
		t.Error("an address kept its case")
	}
}
