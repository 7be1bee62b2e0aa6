package migrations_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/migrations"
)

// Addresses forms listed before notify_recipients existed were never
// confirmed: after the migration each is pending, except the account's own
// users' addresses, and the list's duplicates (in any case) are one row.
func TestNotifyRecipientsBackfill(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 14)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
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

// downTo gives t a database migrated to the newest version, then down to
// version, with the provider to go on from there: a migration's test
// writes the rows that stood before it, then runs it.
func downTo(t *testing.T, version int64) (*pgxpool.Pool, *goose.Provider) {
	t.Helper()
	pool, _ := testdb.New(t)
	p, closer, err := migrations.Provider(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	if _, err := p.DownTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return pool, p
}
