package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testdb"
)

// syncBuffer is a bytes.Buffer a command's logger and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeAndWorkerSetUp runs `worker` and `serve --workers=false` in
// process on one database, as a deployment splitting them does: both come
// up on the one set-up (setUp), serve answers, and both stop with status 0
// when their context ends (SIGTERM).
func TestServeAndWorkerSetUp(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.New(t)
	env := map[string]string{"DATABASE_URL": dbURL, "INTAKE_ADDR": "127.0.0.1:0", "INTAKE_BASE_URL": "http://127.0.0.1", "INTAKE_SECRET_KEY": "a test secret key of 32 characters or more"}
	getenv := func(k string) string { return env[k] }

	start := func(args ...string) (log *syncBuffer, stop func() int) {
		ctx, cancel := context.WithCancel(context.Background())
		log = &syncBuffer{}
		code := make(chan int, 1)
		go func() { code <- Run(ctx, args, getenv, &bytes.Buffer{}, log) }()
		return log, func() int {
			cancel()
			select {
			case c := <-code:
				return c
			case <-time.After(30 * time.Second):
				t.Fatalf("intake %s did not stop; log:\n%s", strings.Join(args, " "), log)
				return -1
			}
		}
	}
	waitFor := func(log *syncBuffer, line string) string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if s := log.String(); strings.Contains(s, line) {
				return s
			}
		}
		t.Fatalf("no %q in the log:\n%s", line, log)
		return ""
	}

	workerLog, stopWorker := start("worker")
	serveLog, stopServe := start("serve", "--workers=false")
	waitFor(workerLog, "intake worker running")
	addr := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(waitFor(serveLog, "intake serving"))
	if addr == nil {
		t.Fatalf("no address in serve's log:\n%s", serveLog)
	}
	resp, err := http.Get("http://" + addr[1] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz = %d", resp.StatusCode)
	}
	if c := stopServe(); c != 0 {
		t.Errorf("serve exited %d; log:\n%s", c, serveLog)
	}
	if c := stopWorker(); c != 0 {
		t.Errorf("worker exited %d; log:\n%s", c, workerLog)
	}
	if !strings.Contains(workerLog.String(), "shutting down: stopping workers") || strings.Contains(serveLog.String(), "stopping workers") {
		t.Errorf("only the process that works jobs stops workers; worker:\n%s\nserve:\n%s", workerLog, serveLog)
	}
}
