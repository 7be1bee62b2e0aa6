package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/internal/testdb"
)

// TestBenchGoodVerdict runs the whole command for a few seconds against
// the built intake binary, the ceiling included, and expects a good
// verdict, the ratio line and no scratch rows left behind.
func TestBenchGoodVerdict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{
		"-url", b.base, "-database-url", b.dbURL, "-wait", "10s", "-duration", "3s", "-concurrency", "16", "-ceiling",
	}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 || !strings.Contains(out, "VERDICT: GOOD") {
		t.Fatalf("exit %d, want 0 and a good verdict\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{"requests  ", "intents   ", "p99", "replay (later)", "201 ×", "× the naive SQL ceiling of "} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	var jobs, scratch int
	err := b.db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM river_job WHERE queue = $1),
		(SELECT count(*) FROM forms WHERE name LIKE 'intake-bench ceiling%')`, ceilingQueue).Scan(&jobs, &scratch)
	if err != nil || jobs != 0 || scratch != 0 {
		t.Errorf("after the ceiling: %d scratch jobs, %d scratch forms (%v), want none", jobs, scratch, err)
	}
}

// TestVerdictFlags makes a good run bad in the database, the two ways that
// break the promise, and expects Check to say so.
func TestVerdictFlags(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tg, err := prepareForm(ctx, b.db, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{URL: b.base, Concurrency: 4, Count: 40, Payload: 50, Dup: 2, Browser: 0.25}
	res, err := drive(ctx, cfg, tg.publicID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Check(ctx, b.db, tg, res.intents, res.runID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Good() || v.Acknowledged != 40 || v.Submissions != 40 || v.Jobs != 40 {
		t.Fatalf("before tampering: %+v, want good with 40 acknowledged intents, submissions and jobs", v)
	}

	dup, gone := res.intents[0].token, res.intents[1].token
	_, err = b.db.Exec(ctx, `
		INSERT INTO submissions (id, form_id, contract_version, data, spam, idempotency_key, meta, created_at)
		SELECT gen_random_uuid(), form_id, contract_version, data, spam, idempotency_key, meta, now()
		FROM submissions WHERE form_id = $1 AND data->>'message' LIKE $2 || ' %'`, tg.id, dup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(ctx, `DELETE FROM submissions WHERE form_id = $1 AND data->>'message' LIKE $2 || ' %'`, tg.id, gone); err != nil {
		t.Fatal(err)
	}
	v, err = Check(ctx, b.db, tg, res.intents, res.runID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Good() {
		t.Fatalf("after tampering the verdict is good: %+v", v)
	}
	if len(v.Duplicated) != 1 || !strings.HasPrefix(v.Duplicated[0], dup+": 2") {
		t.Errorf("Duplicated = %q, want %s stored twice", v.Duplicated, dup)
	}
	if len(v.Missing) != 1 || v.Missing[0] != gone {
		t.Errorf("Missing = %q, want %s", v.Missing, gone)
	}
	// The copy was inserted without its job.
	if len(v.JobsWrong) != 1 || !strings.HasPrefix(v.JobsWrong[0], dup+": 0 jobs") {
		t.Errorf("JobsWrong = %q, want the copy of %s without jobs", v.JobsWrong, dup)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-concurrency", "0"}, {"-browser", "2"}, {"-url", "localhost"}, {"extra"}, {"-payload", "5000"}} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("Run(%q) = %d, want 2\n%s", args, code, errOut.String())
		}
	}
}

type testBundle struct {
	base  string
	dbURL string
	db    *pgxpool.Pool
}

// setup starts the built intake binary on a free port against a fresh
// database, with the submit rate limit off as the bench requires.
func setup(t *testing.T) *testBundle {
	t.Helper()
	bin := buildIntake(t)
	db, dbURL := testdb.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	serve := exec.Command(bin, "serve")
	serve.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "INTAKE_ADDR="+addr, "INTAKE_BASE_URL="+base,
		"INTAKE_SUBMIT_RATE_LIMIT=0", "INTAKE_LOG_LEVEL=warn")
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Kill()
		serve.Wait()
		if t.Failed() {
			t.Logf("serve logs:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("intake never became ready at %s", base)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &testBundle{base: base, dbURL: dbURL, db: db}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildIntake builds cmd/intake once for the package's tests.
func buildIntake(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "intake-bench-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "intake")
		if out, err := exec.Command("go", "build", "-o", binPath, "../intake").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
