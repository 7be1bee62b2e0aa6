package database_test

import (
	"context"
	"testing"
	"time"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/testdb"
)

// Two processes starting at once both make the instance's key; the one
// that waited on the other's insert reads the other's key instead of
// failing. The test holds the first insert open so the second statement
// starts before it commits, every time.
func TestInstanceSecretRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := testdb.New(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO instance_settings (name, value) VALUES ('secret_key', 'first')`); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		key string
		err error
	}
	got := make(chan answer, 1)
	go func() {
		key, err := database.InstanceSecret(ctx, pool)
		got <- answer{key, err}
	}()
	// Wait until the second insert is blocked on the first's row.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var waiting bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%instance_settings%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second insert never waited on the first")
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	a := <-got
	if a.err != nil || a.key != "first" {
		t.Fatalf("InstanceSecret = %q, %v; want the first process's key", a.key, a.err)
	}
	again, err := database.InstanceSecret(ctx, pool)
	if err != nil || again != "first" {
		t.Fatalf("InstanceSecret again = %q, %v", again, err)
	}
}
