package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/internal/testbin"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
)

// TestBinary builds intake and drives it the way a new user would: migrate,
// create a user and a key, serve, create a form, submit to it twice with
// one key and once from a browser, read it back, then SIGTERM.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	// A database name nobody has: the binary must create it.
	name := fmt.Sprintf("intake_blackbox_%d", time.Now().UnixNano())
	dbURL := testdb.URLFor(name)
	t.Cleanup(func() {
		exec.Command("psql", testdb.ServerURL(), "-c", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").Run()
	})
	addr := freeAddr(t)
	base := "http://" + addr
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "INTAKE_ADDR="+addr, "INTAKE_BASE_URL="+base, "INTAKE_LOG_FORMAT=json")

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("intake %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	if out := run("version"); !strings.Contains(out, "go1.") {
		t.Errorf("version printed %q", out)
	}
	if out := run("migrate", "up"); !strings.Contains(out, "00001_intake_schema.sql") {
		t.Errorf("migrate up printed %q", out)
	}
	if out := run("migrate", "status"); strings.Contains(out, " pending\n") || strings.Count(out, " applied ") < 8 {
		t.Errorf("migrate status after up shows pending migrations:\n%s", out)
	}
	run("users", "create", "--email", "owner@example.com", "--password", "s3cret-pass")
	if out := run("users", "create", "--email", "owner@example.com", "--password", "s3cret-pass"); !strings.Contains(out, "already exists") {
		t.Errorf("second users create printed %q", out)
	}
	if out := run("users", "plan", "--email", "owner@example.com"); !strings.Contains(out, "on the free plan (Free): 0 of 1000 submissions used") || !strings.Contains(out, "unlimited") {
		t.Errorf("users plan printed %q, want the free plan, its usage and the plans", out)
	}
	if out := run("users", "plan", "--email", "owner@example.com", "--plan", "pro"); !strings.Contains(out, "on the pro plan (Pro): 0 of 50000") {
		t.Errorf("users plan --plan pro printed %q", out)
	}
	key := strings.TrimSpace(run("apikeys", "create", "--email", "owner@example.com", "--name", "ci"))
	if !strings.HasPrefix(key, "intk_") || strings.ContainsAny(key, " \n") {
		t.Fatalf("apikeys create printed %q, want only the key", key)
	}
	readOnly := strings.TrimSpace(run("apikeys", "create", "--email", "owner@example.com", "--name", "reports", "--scope", "read_only"))
	if !strings.HasPrefix(readOnly, "intk_") || strings.ContainsAny(readOnly, " \n") {
		t.Fatalf("apikeys create --scope read_only printed %q, want only the key", readOnly)
	}

	serve := exec.Command(bin, "serve")
	serve.Env = env
	var logs lockedBuffer // written by the process's output copier while the test reads it
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		serve.Process.Kill()
		if t.Failed() {
			t.Logf("serve logs:\n%s", logs.String())
		}
	})
	waitReady(t, base+"/readyz")

	apiAs := func(key, method, path, body string) (int, map[string]any) {
		t.Helper()
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
		return resp.StatusCode, out
	}
	api := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		return apiAs(key, method, path, body)
	}
	// The read_only key reads and may not change; the keys list says which
	// is which.
	if status, out := apiAs(readOnly, "POST", "/api/v1/forms", `{"name":"Nope"}`); status != 403 || out["type"] != "https://intake.dev/problems/forbidden" {
		t.Errorf("create a form with the read_only key = %d %v, want 403 forbidden", status, out)
	}
	if status, out := apiAs(readOnly, "GET", "/api/v1/apikeys", ""); status != 200 || fmt.Sprint(out["data"]) == "" {
		t.Errorf("list keys with the read_only key = %d %v", status, out)
	} else {
		scopes := map[string]any{}
		for _, k := range out["data"].([]any) {
			scopes[k.(map[string]any)["name"].(string)] = k.(map[string]any)["scope"]
		}
		if scopes["ci"] != "read_write" || scopes["reports"] != "read_only" {
			t.Errorf("listed scopes = %v, want ci read_write and reports read_only", scopes)
		}
	}
	// The CLI's changes are in the audit log, as the CLI's.
	if status, log := api("GET", "/api/v1/audit", ""); status != 200 || fmt.Sprint(log["data"]) == "" {
		t.Errorf("audit = %d %v", status, log)
	} else {
		var got []string
		for _, e := range log["data"].([]any) {
			e := e.(map[string]any)
			got = append(got, fmt.Sprint(e["action"], " ", e["actor"].(map[string]any)["type"], " ", e["changed"]))
		}
		all := strings.Join(got, "|")
		if !strings.Contains(all, "api_key.create cli []") || !strings.Contains(all, "account.update cli [plan]") ||
			!strings.HasSuffix(all, "user.create cli [email password]|account.create cli [name]") || strings.Count(all, " cli ") != len(got) {
			t.Errorf("audit after the CLI = %q, want the CLI's user, account, key and plan changes", all)
		}
	}
	status, form := api("POST", "/api/v1/forms", `{"name":"Contact","fields":[{"name":"email","type":"email","required":true},{"name":"message","type":"textarea"}]}`)
	if status != 201 {
		t.Fatalf("create form = %d %v", status, form)
	}
	endpoint := form["endpoint"].(string)

	post := func(body, key string, header map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", endpoint, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := post(`{"email":"ada@example.com","message":"Hello"}`, "intent-1", nil)
	firstBody, _ := io.ReadAll(first.Body)
	second := post(`{"email":"ada@example.com","message":"Hello"}`, "intent-1", nil)
	secondBody, _ := io.ReadAll(second.Body)
	if first.StatusCode != 201 || second.StatusCode != 201 || !bytes.Equal(firstBody, secondBody) || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("submit twice: %d %s / %d %s replayed=%q", first.StatusCode, firstBody, second.StatusCode, secondBody, second.Header.Get("Idempotent-Replayed"))
	}
	browser := post("email=grace%40example.com&message=Hi", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if browser.StatusCode != 303 || !strings.HasSuffix(browser.Header.Get("Location"), "/thanks") {
		t.Fatalf("browser post = %d Location %q", browser.StatusCode, browser.Header.Get("Location"))
	}
	thanks, err := http.Get(browser.Header.Get("Location"))
	if err != nil || thanks.StatusCode != 200 {
		t.Fatalf("thank-you page: %v %v", err, thanks)
	}

	// `users create` made a verified owner: the notifications go out — to
	// the log, with no SMTP server configured.
	waitLog(t, &logs, regexp.MustCompile(`"msg":"mail: not sent[^\n]*"to":"owner@example.com"`))

	// A dashboard sign-up is not verified until its link is opened; with
	// no SMTP server the link is in the log, as `make run` shows it.
	dash := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	dashPost := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := dash.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := dashPost("/signup", url.Values{"email": {"signup@example.com"}, "password": {"a long password"}}); resp.StatusCode != 303 {
		t.Fatalf("sign-up = %d", resp.StatusCode)
	}
	link := waitLog(t, &logs, regexp.MustCompile(`"link":"`+regexp.QuoteMeta(base)+`/verify\?token=([A-Za-z0-9_-]{43})"`))
	if resp, err := http.Get(base + "/verify?token=" + link[1]); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the link's page: %v %v", resp, err)
	}
	if resp := dashPost("/verify", url.Values{"token": {link[1]}}); resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
		t.Fatalf("verify = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := dashPost("/verify", url.Values{"token": {link[1]}}); resp.StatusCode != 410 {
		t.Errorf("the link used twice = %d, want 410", resp.StatusCode)
	}

	status, list := api("GET", "/api/v1/forms/"+form["id"].(string)+"/submissions", "")
	if data, _ := list["data"].([]any); status != 200 || len(data) != 2 {
		t.Fatalf("list submissions = %d %v, want 2 submissions", status, list)
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %v", err)
	} else if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), `intake_submissions_total{outcome="replayed"} 1`) {
		t.Errorf("metrics lack the replay:\n%s", grep(string(b), "intake_submissions_total"))
	}
	if !strings.Contains(logs.String(), `"outcome":"replayed"`) || !strings.Contains(logs.String(), `"request_id"`) {
		t.Errorf("logs lack outcome or request id:\n%s", logs.String())
	}

	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("serve did not log a clean stop:\n%s", logs.String())
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	// A usage error touches no database: none is created for them. (An
	// older version of this test left one behind; it is not this run's.)
	admin, err := pgx.Connect(context.Background(), testdb.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(context.Background(), `DROP DATABASE IF EXISTS intake_never_created`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"frobnicate"}, {"users", "create"}, {"migrate", "sideways"}, {"users", "plan"}, {"users", "two-factor-reset"},
		{"apikeys", "create", "--email", "owner@example.com", "--scope", "admin"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+testdb.URLFor("intake_never_created"))
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
			t.Errorf("intake %v: %v, want exit status 2\n%s", args, err, out)
		}
	}
	var made bool
	if err := admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'intake_never_created')`).Scan(&made); err != nil || made {
		t.Errorf("a usage error created the database intake_never_created (%v)", err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "INTAKE_BASE_URL=not a url")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "INTAKE_BASE_URL") {
		t.Errorf("a bad INTAKE_BASE_URL must stop serve with a message naming it: %v\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

type lockedBuffer = testfactory.LockedBuffer

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, u string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", u)
}

// waitLog waits up to 20 s for the log to match re and returns the match.
func waitLog(t *testing.T, logs *lockedBuffer, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m
		}
	}
	t.Fatalf("the log never matched %s; log:\n%s", re, logs.String())
	return nil
}

func grep(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
