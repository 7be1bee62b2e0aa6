package main_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/internal/testbin"
	"github.com/intakehq/intake/internal/testdb"
)

// A webhook survives a receiver outage and a crash of Intake: the receiver
// fails the first attempt, Intake is SIGKILLed and started again, and the
// retry arrives from the new process with the same webhook-id and a valid
// signature. The owner's email is in the outbox (no SMTP configured).
func TestWebhookSurvivesReceiverOutageAndCrash(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	name := fmt.Sprintf("intake_restart_%d", time.Now().UnixNano())
	dbURL := testdb.URLFor(name)
	t.Cleanup(func() {
		exec.Command("psql", testdb.ServerURL(), "-c", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").Run()
	})
	addr := freeAddr(t)
	base := "http://" + addr
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "INTAKE_ADDR="+addr, "INTAKE_BASE_URL="+base,
		"INTAKE_WEBHOOK_ALLOW_PRIVATE=true", "INTAKE_LOG_FORMAT=json")

	type hit struct{ id, ts, sig, body string }
	var mu sync.Mutex
	var hits []hit
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), string(body)})
		n := len(hits)
		mu.Unlock()
		if n == 1 {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
		}
	}))
	defer receiver.Close()
	got := func() []hit { mu.Lock(); defer mu.Unlock(); return append([]hit(nil), hits...) }

	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("intake %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	serve := func() (*exec.Cmd, *lockedBuffer) {
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		logs := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitReady(t, base+"/readyz")
		return cmd, logs
	}

	first, logs := serve()
	run("users", "create", "--email", "owner@example.com", "--password", "s3cret-pass")
	key := run("apikeys", "create", "--email", "owner@example.com")
	call := func(method, path, body string) map[string]any {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s = %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	form := call("POST", "/api/v1/forms", `{"name":"Contact","fields":[{"name":"email","type":"email","required":true}]}`)
	hook := call("POST", "/api/v1/forms/"+form["id"].(string)+"/webhooks", fmt.Sprintf(`{"url":%q}`, receiver.URL))
	secret := hook["secret"].(string)

	req, _ := http.NewRequest("POST", form["endpoint"].(string), strings.NewReader(`{"email":"ada@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "crash-test-1")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("submit: %v %v", err, resp)
	}

	// Wait for the failed attempt to be recorded, then crash Intake.
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// (A process killed while the job is still marked running is rescued
	// after River's RescueStuckJobsAfter, five minutes: too long for a test.
	// The worker-stopped-mid-delivery case is tested in notify.)
	eventually(t, 15*time.Second, "the first attempt to be logged and its job to await a retry", func() bool {
		var n int
		conn.QueryRow(context.Background(), `SELECT count(*) FROM delivery_attempts a, river_job j
WHERE a.status = 500 AND j.kind = 'webhook.deliver' AND j.state IN ('available', 'retryable', 'scheduled')`).Scan(&n)
		return n == 1
	})
	// The owner's email is not what this test is about: let it reach the
	// outbox first, so the kill cannot catch its job mid-run (a job killed
	// mid-run waits for River's five-minute rescue).
	eventually(t, 15*time.Second, "the owner's notification to reach the outbox", func() bool {
		var n int
		conn.QueryRow(context.Background(), `SELECT count(*) FROM outbound_emails WHERE state = 'outbox'`).Scan(&n)
		return n == 1
	})
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()

	_, logs2 := serve()
	// The retry is due ~5 s after the failure; a retry due later than River's
	// scheduler interval waits for the new process to be elected leader
	// (the killed one's lease must lapse first), which takes ~20 s.
	eventually(t, 60*time.Second, "the retry to arrive after the restart", func() bool { return len(got()) >= 2 })
	h := got()
	if h[0].id == "" || h[0].id != h[1].id {
		t.Fatalf("webhook-ids %q and %q, want one id across the crash", h[0].id, h[1].id)
	}
	for i, x := range h[:2] {
		keyBytes, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, keyBytes)
		mac.Write([]byte(x.id + "." + x.ts + "." + x.body))
		if x.sig != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Errorf("attempt %d: signature %q does not verify", i+1, x.sig)
		}
	}
	eventually(t, 10*time.Second, "the delivery to be marked delivered", func() bool {
		var state string
		conn.QueryRow(context.Background(), `SELECT state FROM deliveries`).Scan(&state)
		return state == "delivered"
	})
	var emails int
	conn.QueryRow(context.Background(), `SELECT count(*) FROM outbound_emails WHERE state = 'outbox' AND recipient = 'owner@example.com'`).Scan(&emails)
	if emails != 1 {
		t.Errorf("owner notifications in the outbox = %d, want 1\nlogs before the crash:\n%s\nafter:\n%s", emails, logs.String(), logs2.String())
	}
	if len(h) != 2 {
		t.Errorf("receiver got %d requests, want 2", len(h))
	}
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", within, what)
}
