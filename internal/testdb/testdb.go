// Package testdb gives each test its own Postgres database, copied from a
// template that is migrated once per schema (CREATE DATABASE … TEMPLATE takes
// milliseconds; migrating takes a second). It talks to the real server at
// INTAKE_TEST_DATABASE_URL (default: the local Postgres) and fails — never
// skips — when the server is not there.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/migrations"
)

// ServerURL is the server the tests use, pointing at its maintenance database.
func ServerURL() string {
	if u := os.Getenv("INTAKE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// New creates a fresh, migrated database for t, dropped when t ends, and
// returns a pool on it with its URL.
func New(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("testdb: prepare template database (is Postgres running at %s?): %v", ServerURL(), templateErr)
	}
	name := "intake_test_" + randomHex(6)
	admin := adminConn(ctx, t)
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		_, err = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName))
		// Two CREATE DATABASE … TEMPLATE at once can see each other as users of the template.
		if err == nil || !strings.Contains(err.Error(), "is being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	admin.Close(ctx)
	if err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	dbURL := URLFor(name)
	cfg, err := database.PoolConfig(dbURL) // as serve configures its pool
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testdb: open pool: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		admin := adminConn(ctx, t)
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	return pool, dbURL
}

// URLFor returns the URL of database name on the test server.
func URLFor(name string) string {
	u, err := url.Parse(ServerURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

// adminConn connects to the server's postgres database. When the server
// has no connection to spare (SQLSTATE 53300: other test packages' pools
// at their busiest, or a benchmark beside the tests) it waits and tries
// again for up to 15 s rather than fail a test that has not begun.
func adminConn(ctx context.Context, t testing.TB) *pgx.Conn {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 1; ; attempt++ {
		conn, err := pgx.Connect(ctx, ServerURL())
		if err == nil {
			return conn
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "53300" || time.Now().After(deadline) {
			t.Fatalf("testdb: connect to %s: %v", ServerURL(), err)
		}
		time.Sleep(time.Duration(min(attempt, 10)) * 50 * time.Millisecond)
	}
}

// ensureTemplate makes (once per schema, across test processes) a database
// with every migration applied. Its name carries a hash of the migration
// files, so a changed migration gets a fresh template.
func ensureTemplate(ctx context.Context) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS(), path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	name := "intake_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12]

	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	// Test binaries of several packages run at once; one of them migrates.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock(727274)")

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, URLFor(building))
	if err != nil {
		return "", err
	}
	_, err = migrations.Up(ctx, pool, nil)
	pool.Close()
	if err != nil {
		return "", err
	}
	for _, stmt := range []string{
		"ALTER DATABASE " + building + " RENAME TO " + name,
		"ALTER DATABASE " + name + " IS_TEMPLATE true",
		fmt.Sprintf("COMMENT ON DATABASE %s IS 'intake test template, made %d'", name, time.Now().Unix()),
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			return "", err
		}
	}
	// Old templates from earlier schemas only take disk space. Those made in
	// the last day stay: another checkout (a branch with other migrations)
	// may be running its tests from one right now.
	rows, err := admin.Query(ctx, `
		SELECT d.datname FROM pg_database d
		WHERE d.datname LIKE 'intake_tmpl_%' AND d.datname <> $1
		  AND coalesce(substring(shobj_description(d.oid, 'pg_database') FROM 'made ([0-9]+)')::bigint, 0)
		      < extract(epoch FROM now()) - 86400`, name)
	if err == nil {
		old, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, o := range old {
			admin.Exec(ctx, "ALTER DATABASE "+o+" IS_TEMPLATE false")
			admin.Exec(ctx, "DROP DATABASE IF EXISTS "+o+" WITH (FORCE)")
		}
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
