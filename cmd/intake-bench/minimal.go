package main

import (
	"context"
	"embed"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// The minimal ceiling: what a hand-written form backend would do for one
// submission, as a pgbench script (minimal/submit_tx.sql: claim the key,
// insert the submission, two River jobs in River's own shape, store the
// response, six round trips in one transaction) on the smallest schema that
// holds it (minimal/schema.sql, River's tables and three of its own, 100k
// rows of history each: minimal/reset.sql). pgbench is C and does no HTTP:
// this ceiling is higher than -ceiling's, which runs Intake's schema from
// Go. docs/BENCHMARKS.md reports Intake against both, measured in one run.
//
//go:embed minimal/*.sql
var minimalFS embed.FS

// minimalResult is how fast pgbench ran the minimal transaction.
type minimalResult struct {
	tps     float64
	clients int
	took    time.Duration
}

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)

// minimalCeiling makes a scratch database beside databaseURL's, gives it
// River's tables and the minimal schema, runs pgbench on it for duration
// with clients connections, and drops it.
func minimalCeiling(ctx context.Context, databaseURL string, clients int, duration time.Duration) (minimalResult, error) {
	pgbench, err := findPgbench()
	if err != nil {
		return minimalResult{}, err
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return minimalResult{}, err
	}
	name := fmt.Sprintf("intake_bench_minimal_%d_%d", os.Getpid(), time.Now().Unix())
	admin, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return minimalResult{}, err
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return minimalResult{}, fmt.Errorf("create the scratch database: %w", err)
	}
	defer func() {
		drop, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		admin.Exec(drop, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}()
	u.Path = "/" + name
	scratch := u.String()

	if err := minimalSchema(ctx, scratch); err != nil {
		return minimalResult{}, err
	}
	dir, err := os.MkdirTemp("", "intake-bench-minimal")
	if err != nil {
		return minimalResult{}, err
	}
	defer os.RemoveAll(dir)
	script, _ := minimalFS.ReadFile("minimal/submit_tx.sql")
	if err := os.WriteFile(filepath.Join(dir, "submit_tx.sql"), script, 0o644); err != nil {
		return minimalResult{}, err
	}
	secs := max(1, int(duration.Round(time.Second)/time.Second))
	start := time.Now()
	cmd := exec.CommandContext(ctx, pgbench, "-n", "-M", "prepared", "-D", "nforms=1", "-f", filepath.Join(dir, "submit_tx.sql"),
		"-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(secs), scratch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return minimalResult{}, fmt.Errorf("pgbench: %v: %s", err, strings.TrimSpace(string(out)))
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return minimalResult{}, fmt.Errorf("pgbench printed no tps: %s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return minimalResult{tps: tps, clients: clients, took: time.Since(start)}, nil
}

// minimalSchema applies River's migrations, then the minimal schema and
// its history, to the database at scratch.
func minimalSchema(ctx context.Context, scratch string) error {
	pool, err := pgxpool.New(ctx, scratch)
	if err != nil {
		return err
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("River's migrations on the scratch database: %w", err)
	}
	for _, f := range []string{"minimal/schema.sql", "minimal/reset.sql"} {
		sql, _ := minimalFS.ReadFile(f)
		// One statement at a time: a multi-statement query is one
		// transaction, and VACUUM may not run in one.
		for stmt := range strings.SplitSeq(string(sql), ";\n") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			if _, err := pool.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
	}
	return nil
}

// stripComments drops the lines that are only an SQL comment.
func stripComments(sql string) string {
	var b strings.Builder
	for line := range strings.Lines(sql) {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// findPgbench is pgbench on PATH or in Debian's PostgreSQL directories.
func findPgbench() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) > 0 {
		return found[len(found)-1], nil
	}
	return "", fmt.Errorf("no pgbench on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql-client)")
}
