package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/internal/testbin"
	"github.com/intakehq/intake/internal/testdb"
)

// TestBenchGoodVerdict runs the whole command for a few seconds against
// the built intake binary, both ceilings included, and expects a good
// verdict, the rates and ratio lines and no scratch rows or database left
// behind.
func TestBenchGoodVerdict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{
		"-url", b.base, "-database-url", b.dbURL, "-wait", "10s", "-duration", "3s", "-concurrency", "16", "-ceiling", "-ceiling-minimal",
		"-intake-pid", strconv.Itoa(b.pid),
	}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 || !strings.Contains(out, "VERDICT: GOOD") {
		t.Fatalf("exit %d, want 0 and a good verdict\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{"requests  ", "intents   ", "p99", "replay (later)", "201 ×", "× the naive SQL ceiling of ",
		"/s sustained (", "× the minimal ceiling of ", "CPU per submission, the load and every job it caused: intake ", fmt.Sprintf("memory: intake (pid %d) peak RSS (VmHWM) ", b.pid)} {
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
	err = b.db.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE $1`,
		fmt.Sprintf("intake_bench_minimal_%d_%%", os.Getpid())).Scan(&scratch)
	if err != nil || scratch != 0 {
		t.Errorf("after the minimal ceiling: %d scratch databases (%v), want none", scratch, err)
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

// TestChaos runs chaos mode briefly against the built binary: two
// SIGKILLs of intake serve while the receiver stalls and is released. It
// runs River's workers apart (-separate-worker), so the kills never catch
// a job mid-run: such a job waits for River's rescuer, at least a minute
// and a half, too long for a test (make chaos covers it, and the Postgres
// restart, which a test must not do to a server other tests share).
func TestChaos(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	_, dbURL := testdb.New(t)
	logPath := filepath.Join(t.TempDir(), "intake.log")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{
		"-chaos", "-intake", bin, "-separate-worker", "-intake-log", logPath, "-url", "http://" + freeAddr(t),
		"-database-url", dbURL, "-duration", "6s", "-concurrency", "8", "-kills", "2", "-stall", "2s", "-drain", "30s",
	}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 || !strings.Contains(out, "VERDICT: GOOD") {
		logs, _ := os.ReadFile(logPath)
		t.Fatalf("exit %d, want 0 and a good verdict\nstdout:\n%s\nstderr:\n%s\nintake's log:\n%s", code, out, stderr.String(), logs)
	}
	for _, want := range []string{"webhook receiver stalls", "webhook receiver released", "every job completed",
		"every webhook arrived under one stable webhook-id", "memory: intake serve peak RSS (VmHWM) ", "the highest of its 3 runs",
		"memory: intake worker peak RSS"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "SIGKILL intake serve pid"); n != 2 {
		t.Errorf("%d SIGKILLs reported, want 2:\n%s", n, out)
	}
}

// TestCluster runs the cluster briefly: two intake serve behind HAProxy
// and a worker; one node is SIGKILLed, then both restart one after the
// other while the load goes on, and not one request may fail meanwhile.
// It needs HAProxy (.ci/run installs it) and fails without it.
func TestCluster(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy is not installed (apt-get install haproxy): the cluster test needs it")
	}
	bin := testbin.Intake(t)
	_, dbURL := testdb.New(t)
	logPath := filepath.Join(t.TempDir(), "intake.log")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{
		"-chaos", "-cluster", "2", "-intake", bin, "-intake-log", logPath, "-url", "http://" + freeAddr(t),
		"-database-url", dbURL, "-duration", "10s", "-concurrency", "8", "-kills", "1", "-stall", "0", "-drain", "30s",
	}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 || !strings.Contains(out, "VERDICT: GOOD") {
		logs, _ := os.ReadFile(logPath)
		t.Fatalf("exit %d, want 0 and a good verdict\nstdout:\n%s\nstderr:\n%s\nlogs:\n%s", code, out, stderr.String(), logs)
	}
	for _, want := range []string{"started a cluster: 2 × ", "SIGKILL intake serve #1 pid", "rolling restart: intake serve #1 pid",
		"intake serve #2 pid", "0 requests failed meanwhile", "every job completed", "memory: haproxy peak RSS"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestSweep runs a two-step sweep with the ceiling and expects the table,
// a good verdict and a plot.
func TestSweep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plot := filepath.Join(t.TempDir(), "sweep.svg")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{
		"-url", b.base, "-database-url", b.dbURL, "-sweep", "1,4", "-step", "1s", "-ceiling", "-plot", plot,
	}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 || !strings.Contains(out, "VERDICT: GOOD — at every concurrency") {
		t.Fatalf("exit %d, want 0 and a good verdict\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{"clients  intents/s", "p99 new", "ceiling/s  × ceiling  verdict", "   1 clients: ", "   4 clients: "} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	svg, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(svg); err != nil || !bytes.Contains(svg, []byte("naive SQL ceiling")) {
		t.Errorf("the plot is not a well-formed SVG with the ceiling (%v):\n%s", err, svg)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-concurrency", "0"}, {"-browser", "2"}, {"-url", "localhost"}, {"extra"}, {"-payload", "5000"},
		{"-chaos"}, {"-kills", "2"}, {"-step", "1s"}, {"-sweep", "1,x"}, {"-sweep", "1,2", "-chaos", "-intake", "bin/intake"},
		{"-intake", "bin/intake", "-intake-pid", "1"}, {"-intake-env", "X=1"}, {"-webhooks", "-form", "abc"},
		{"-intake", "bin/intake", "-url", "http://localhost"}, {"-cluster", "3"}, {"-cluster", "12", "-intake", "bin/intake"}, {"-chaos", "-intake", "bin/intake", "-count", "10"},
	} {
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
	pid   int // intake serve's
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeHostPort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// setup starts the built intake binary on a free port against a fresh
// database, with the submit rate limit off as the bench requires.
func setup(t *testing.T) *testBundle {
	t.Helper()
	bin := testbin.Intake(t)
	db, dbURL := testdb.New(t)
	addr := freeAddr(t)
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
	return &testBundle{base: base, dbURL: dbURL, db: db, pid: serve.Process.Pid}
}

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}
