package migrations_test

import (
	"context"
	"testing"
)

// Migration 00025 goes down over rows it made possible (a link actor, a
// count) without removing them — the log is append-only — and refuses a
// new link actor once down; up again, it takes them again.
func TestAuditLinkCountMigrationDownAndUp(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 25)
	ctx := context.Background()
	// Rows in SQL: the code of the day writes the schema it knows.
	const insert = `INSERT INTO audit_log (account_id, actor_kind, action, object_type, object_id)
SELECT id, 'link', 'form.update', 'form', 'f1' FROM accounts`
	if _, err := pool.Exec(ctx, `INSERT INTO accounts (name) VALUES ('a')`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, insert); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO audit_log (account_id, actor_kind, action, object_type, object_id, count)
SELECT id, 'system', 'submission.delete', 'form', 'f1', 25 FROM accounts`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 24); err != nil {
		t.Fatalf("down over a link actor's row: %v", err)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&rows); err != nil || rows != 2 {
		t.Errorf("after down: %d rows (%v), want both kept", rows, err)
	}
	if _, err := pool.Exec(ctx, insert); err == nil {
		t.Error("down, a new link actor was taken")
	}
	if _, err := p.UpTo(ctx, 25); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if _, err := pool.Exec(ctx, insert); err != nil {
		t.Errorf("up again, a link actor: %v", err)
	}
}
