package migrations_test

import (
	"context"
	"io/fs"
	"path"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/migrations"
)

// A River upgrade that adds a schema version must fail here until
// `go generate ./migrations` has written its goose file, and no generated
// file may drift from what rivermigrate says.
func TestRiverMigrationsMatchRiver(t *testing.T) {
	t.Parallel()
	versions, err := migrations.RiverVersions()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations.FS(), migrations.RiverFilePattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(versions) {
		t.Fatalf("River has %d schema versions after 001, the goose set has %d river files: run go generate ./migrations", len(versions), len(files))
	}
	for i, v := range versions {
		b, err := fs.ReadFile(migrations.FS(), files[i])
		if err != nil {
			t.Fatal(err)
		}
		want := migrations.RiverFileBody(v)
		if string(b) != want {
			t.Errorf("%s differs from River version %03d: regenerate it", files[i], v.Version)
		}
		if got, want := path.Base(files[i])[6:], migrations.RiverFileName(0, v)[6:]; got != want {
			t.Errorf("file %s should be for River version %03d (%s)", files[i], v.Version, want)
		}
	}
}

// The whole set goes down to zero and up again, and replicas migrating at
// once apply each file exactly once.
func TestUpDownUpAndConcurrentReplicas(t *testing.T) {
	t.Parallel()
	pool, url := testdb.New(t)
	ctx := context.Background()

	p, closer, err := migrations.Provider(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down to 0: %v", err)
	}
	var tables int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('submissions', 'river_job')").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("after down: %d of submissions/river_job remain", tables)
	}

	const replicas = 4
	applied := make([]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			applied[i], errs[i] = migrations.Up(ctx, pool, nil)
		})
	}
	wg.Wait()
	total := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	all, _ := fs.Glob(migrations.FS(), "*.sql")
	if total != len(all) {
		t.Fatalf("replicas applied %d migrations in all, want each of %d once", total, len(all))
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('submissions', 'river_job')").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 2 {
		t.Fatalf("after up: %d of submissions/river_job exist, want 2", tables)
	}
}
