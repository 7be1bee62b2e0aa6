package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/testbin"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
)

// TestServeAndWorkerSetUp runs `intake worker` and `intake serve
// --workers=false` on one database, as a deployment splitting them does:
// both come up on the one set-up (setUp in serve.go), serve answers, both
// exit 0 on SIGTERM, and only the worker has workers to stop.
func TestServeAndWorkerSetUp(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	_, dbURL := testdb.New(t)
	addr := freeAddr(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "INTAKE_ADDR="+addr, "INTAKE_BASE_URL=http://"+addr)

	start := func(args ...string) (*lockedBuffer, func() error) {
		p := startIntake(t, bin, env, args...)
		cmd, logs, exited := p.cmd, p.logs, p.exited
		return logs, func() error {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				return err
			case <-time.After(30 * time.Second):
				t.Fatalf("intake %s did not stop on SIGTERM; log:\n%s", strings.Join(args, " "), logs.String())
				return nil
			}
		}
	}
	workerLog, stopWorker := start("worker")
	serveLog, stopServe := start("serve", "--workers=false", "--migrate=false")
	waitLog(t, workerLog, regexp.MustCompile(`intake worker running`))
	waitReady(t, "http://"+addr+"/readyz")
	if err := stopServe(); err != nil {
		t.Errorf("serve: %v; log:\n%s", err, serveLog.String())
	}
	if err := stopWorker(); err != nil {
		t.Errorf("worker: %v; log:\n%s", err, workerLog.String())
	}
	if !strings.Contains(workerLog.String(), "stopping workers") || strings.Contains(serveLog.String(), "stopping workers") {
		t.Errorf("only the process that works jobs stops workers; worker:\n%s\nserve:\n%s", workerLog.String(), serveLog.String())
	}
}

// A worker started on a schema behind its binary waits, saying so, and
// starts working once `intake migrate up` has run: it never works jobs
// whose records the old schema would refuse.
func TestWorkerWaitsForMigrations(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	_, dbURL := testdb.New(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL)
	migrate := func(dir string) {
		t.Helper()
		cmd := exec.Command(bin, "migrate", dir)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("intake migrate %s: %v\n%s", dir, err, out)
		}
	}
	migrate("down")
	w := startIntake(t, bin, env, "worker")
	waitLog(t, w.logs, regexp.MustCompile(`waiting for migrations`))
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(w.logs.String(), "intake worker running") {
		t.Fatalf("the worker runs on a schema behind it; log:\n%s", w.logs.String())
	}
	migrate("up")
	waitLog(t, w.logs, regexp.MustCompile(`intake worker running`))
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.exited:
		if err != nil {
			t.Errorf("worker: %v; log:\n%s", err, w.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker did not stop on SIGTERM; log:\n%s", w.logs.String())
	}
}

// SIGTERM turns /readyz 503 at once; with INTAKE_SHUTDOWN_DELAY serve
// still answers everything else meanwhile (a balancer's health check takes
// it out of rotation first), then stops.
func TestShutdownDelayDrainsReadiness(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	_, dbURL := testdb.New(t)
	addr := freeAddr(t)
	p := startIntake(t, bin, append(os.Environ(), "DATABASE_URL="+dbURL, "INTAKE_ADDR="+addr, "INTAKE_BASE_URL=http://"+addr,
		"INTAKE_SHUTDOWN_DELAY=3s"), "serve", "--workers=false")
	cmd, logs, exited := p.cmd, p.logs, p.exited
	waitReady(t, "http://"+addr+"/readyz")
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	status := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 2*time.Second, "/readyz to answer 503 after SIGTERM", func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	if s := status("/healthz"); s != http.StatusOK {
		t.Errorf("during the delay /healthz = %d, want 200: still serving", s)
	}
	select {
	case err := <-exited:
		if took := time.Since(sent); err != nil || took < 3*time.Second {
			t.Errorf("serve ended after %s (%v), want after the 3 s delay; log:\n%s", took, err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop; log:\n%s", logs.String())
	}
}

// Two serve nodes on one database keep the per-address limit between
// them: with INTAKE_SUBMIT_RATE_LIMIT=10, one address posting to both in
// turn gets 10 submissions taken in all (each node its share, 5), not 20.
func TestSubmitLimitAcrossNodes(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	db, dbURL := testdb.New(t)
	ctx := context.Background()
	acct := testfactory.NewAccount(ctx, t, db)
	form := testfactory.NewForm(ctx, t, db, acct.User.AccountID, nil)
	var addrs []string
	for range 2 {
		addr := freeAddr(t)
		addrs = append(addrs, addr)
		startIntake(t, bin, append(os.Environ(), "DATABASE_URL="+dbURL, "INTAKE_ADDR="+addr, "INTAKE_BASE_URL=http://"+addr,
			"INTAKE_SUBMIT_RATE_LIMIT=10"), "serve", "--workers=false", "--migrate=false")
		waitReady(t, "http://"+addr+"/readyz")
	}
	// Both have counted both once a beat has passed after the second row.
	eventually(t, 10*time.Second, "two live serve nodes", func() bool {
		return testfactory.Count(t, db, `SELECT count(*) FROM serve_nodes WHERE seen_at > now() - interval '10 seconds'`) == 2
	})
	time.Sleep(database.NodeBeat + 500*time.Millisecond)
	taken, limited := 0, 0
	for i := range 30 {
		body := fmt.Sprintf(`{"email":"n%d@example.com","message":"across nodes"}`, i)
		resp, err := http.Post("http://"+addrs[i%2]+"/f/"+form.PublicID, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
			taken++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("submission %d: %d", i, resp.StatusCode)
		}
	}
	if taken != 10 || limited != 20 {
		t.Errorf("two nodes took %d and refused %d of one address's 30 submissions, want 10 and 20", taken, limited)
	}
}

// started is an intake command a test started: its output, and its end.
type started struct {
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited <-chan error // Wait's answer, once it ends
}

// startIntake starts the binary with args and env, killed when the test
// ends.
func startIntake(t *testing.T, bin string, env []string, args ...string) started {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return started{cmd: cmd, logs: logs, exited: exited}
}
