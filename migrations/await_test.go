package migrations_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/migrations"
)

// AwaitApplied returns at once on a schema with every migration, waits
// (saying so, once) while one is missing, and returns when it is applied.
func TestAwaitApplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := testdb.New(t)
	var logs testfactory.LockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	if err := migrations.AwaitApplied(ctx, pool, logger, 50*time.Millisecond); err != nil || logs.String() != "" {
		t.Fatalf("on a migrated schema: %v, log %q; want nil at once, nothing said", err, logs.String())
	}

	p, closer, err := migrations.Provider(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	_, target, err := p.GetVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- migrations.AwaitApplied(ctx, pool, logger, 50*time.Millisecond) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "waiting for migrations") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a few checks more
	select {
	case err := <-done:
		t.Fatalf("returned (%v) with migration %d not applied", err, target)
	default:
	}
	if strings.Count(logs.String(), "waiting for migrations") != 1 ||
		!strings.Contains(logs.String(), "schema_version="+strconv.FormatInt(target-1, 10)) ||
		!strings.Contains(logs.String(), "needs="+strconv.FormatInt(target, 10)) {
		t.Errorf("the wait is not said once with both versions:\n%s", logs.String())
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after the migration: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting 10 s after the migration was applied")
	}
	if !strings.Contains(logs.String(), "the schema is up to date") {
		t.Errorf("the end of the wait is not said:\n%s", logs.String())
	}
}

// A database never migrated (no goose table) is waited on like one
// behind, not an error: a worker may start before the first serve.
func TestAwaitAppliedNeverMigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := testdb.New(t)
	p, closer, err := migrations.Provider(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DROP TABLE goose_db_version`); err != nil {
		t.Fatal(err)
	}
	var logs testfactory.LockedBuffer
	wait, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err = migrations.AwaitApplied(wait, pool, slog.New(slog.NewTextHandler(&logs, nil)), 50*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(logs.String(), "schema_version=0") {
		t.Errorf("on a database never migrated: %v, log %q; want a wait from version 0 until the context ends", err, logs.String())
	}
}
