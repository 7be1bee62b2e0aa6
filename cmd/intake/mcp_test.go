package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testbin"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
)

// TestMCPStdio drives `intake mcp --url` as a desktop agent does: the
// built binary started as a process, the MCP SDK's own client on its stdin
// and stdout, a real `intake serve` as the remote. The tools are the
// remote's (a read_only key is shown only the reads), submit is exactly
// once through it, and the way there failing — a wrong key, the remote
// down — is a tool error carrying a problem, never a dead server.
func TestMCPStdio(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	db, dbURL := testdb.New(t)
	ctx := context.Background()
	acct := testfactory.NewAccount(ctx, t, db)
	form := testfactory.NewForm(ctx, t, db, acct.User.AccountID, nil)
	_, readOnly, err := accounts.CreateAPIKey(ctx, db, audit.System, acct.User, "reports", accounts.ScopeReadOnly)
	if err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	base := "http://" + addr
	serve := exec.Command(bin, "serve", "--migrate=false", "--workers=false")
	serve.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "INTAKE_ADDR="+addr, "INTAKE_BASE_URL="+base)
	var logs lockedBuffer
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
	waitReady(t, base+"/readyz")

	connect := func(t *testing.T, url, key string) *mcp.ClientSession {
		t.Helper()
		cmd := exec.Command(bin, "mcp", "--url", url)
		cmd.Env = append(os.Environ(), "INTAKE_API_KEY="+key)
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		client := mcp.NewClient(&mcp.Implementation{Name: "intake-stdio-test", Version: "1"}, nil)
		cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatalf("connect to intake mcp: %v\nstderr: %s", err, stderr.String())
		}
		t.Cleanup(func() {
			cs.Close()
			if t.Failed() {
				t.Logf("intake mcp's stderr:\n%s", stderr.String())
			}
		})
		return cs
	}
	tools := func(t *testing.T, cs *mcp.ClientSession) []string {
		t.Helper()
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
		}
		slices.Sort(names)
		return names
	}
	call := func(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (map[string]any, bool) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := json.Marshal(res.StructuredContent)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: structured content %s: %v", name, b, err)
		}
		return out, res.IsError
	}
	problem := func(t *testing.T, out map[string]any, isErr bool, typ string) {
		t.Helper()
		if !isErr || out["type"] != "https://intake.dev/problems/"+typ || out["title"] == "" || out["detail"] == "" {
			t.Errorf("got %v (tool error %v), want a tool error carrying the problem %s with its title and detail", out, isErr, typ)
		}
	}

	t.Run("read_write key: every tool, submit exactly once", func(t *testing.T) {
		cs := connect(t, base, acct.APIKey)
		if got := tools(t, cs); len(got) != 16 || !slices.Contains(got, "submit") || !slices.Contains(got, "erase_person") {
			t.Errorf("tools = %v, want the 16 of the remote", got)
		}
		if cs.InitializeResult().Instructions == "" || !strings.Contains(cs.InitializeResult().Instructions, "idempotency_key") {
			t.Errorf("instructions = %q", cs.InitializeResult().Instructions)
		}
		args := map[string]any{"form_id": form.PublicID, "idempotency_key": "stdio-1", "data": map[string]any{"email": "stdio@example.com"}}
		// Three at once and one after: one submission, the others replays.
		var wg sync.WaitGroup
		answers := make([]map[string]any, 3)
		for i := range answers {
			wg.Go(func() {
				out, isErr := call(t, cs, "submit", args)
				if isErr {
					t.Errorf("submit: tool error %v", out)
				}
				answers[i] = out
			})
		}
		wg.Wait()
		again, _ := call(t, cs, "submit", args)
		if again["replayed"] != true || again["status"] != float64(201) {
			t.Errorf("submit again = %v, want the stored 201, replayed", again)
		}
		ids := map[any]bool{}
		for _, a := range append(answers, again) {
			if ans, ok := a["answer"].(map[string]any); ok {
				ids[ans["id"]] = true
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE form_id = $1`, form.ID).Scan(&n); err != nil || n != 1 || len(ids) != 1 {
			t.Fatalf("stored %d submissions (%v), answers named %v; want one", n, err, ids)
		}
		var id string
		for k := range ids {
			id, _ = k.(string)
		}
		got, isErr := call(t, cs, "get_submission", map[string]any{"submission_id": id})
		if isErr || got["id"] != id {
			t.Errorf("get_submission = %v (error %v)", got, isErr)
		}
		// The remote's refusals come back as they were.
		out, isErr := call(t, cs, "get_form", map[string]any{"form_id": "frm_nosuchform"})
		problem(t, out, isErr, "not-found")
		// The resource goes through too.
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "intake://forms/" + form.PublicID + "/schema"})
		if err != nil || len(res.Contents) != 1 || !strings.Contains(res.Contents[0].Text, `"email"`) {
			t.Errorf("read the schema resource = %v, %v", res, err)
		}
	})

	t.Run("read_only key: only the reads", func(t *testing.T) {
		cs := connect(t, base+"/mcp", readOnly) // --url with /mcp works too
		want := []string{"form_stats", "get_form", "get_submission", "list_deliveries", "list_forms", "list_submissions", "list_webhooks", "search_submissions"}
		if got := tools(t, cs); !slices.Equal(got, want) {
			t.Errorf("tools = %v, want %v", got, want)
		}
		out, isErr := call(t, cs, "submit", map[string]any{"form_id": form.PublicID, "idempotency_key": "ro", "data": map[string]any{"email": "ro@example.com"}})
		problem(t, out, isErr, "forbidden")
	})

	t.Run("a wrong key is the remote's unauthorized problem", func(t *testing.T) {
		cs := connect(t, base, "intk_notakeyatall")
		out, isErr := call(t, cs, "list_forms", nil)
		problem(t, out, isErr, "unauthorized")
	})

	t.Run("a redirect is not followed with the key", func(t *testing.T) {
		var mu sync.Mutex
		var elsewhere []string // the Authorization headers the other host got
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			elsewhere = append(elsewhere, r.Header.Get("Authorization"))
			mu.Unlock()
			http.Error(w, "not here", http.StatusNotFound)
		}))
		defer other.Close()
		redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/mcp", http.StatusTemporaryRedirect)
		}))
		defer redirecting.Close()
		cs := connect(t, redirecting.URL, acct.APIKey)
		out, isErr := call(t, cs, "list_forms", nil)
		problem(t, out, isErr, "service-unavailable")
		if d, _ := out["detail"].(string); !strings.Contains(d, "does not follow") {
			t.Errorf("detail %q does not say the redirect was refused", d)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(elsewhere) != 0 {
			t.Errorf("the host redirected to got %d requests (Authorization %q), want none", len(elsewhere), elsewhere)
		}
	})

	t.Run("the remote down is a retryable tool error", func(t *testing.T) {
		cs := connect(t, "http://"+freeAddr(t), acct.APIKey)
		out, isErr := call(t, cs, "submit", map[string]any{"form_id": form.PublicID, "idempotency_key": "down", "data": map[string]any{}})
		problem(t, out, isErr, "service-unavailable")
		if d, _ := out["detail"].(string); !strings.Contains(d, "same idempotency_key") {
			t.Errorf("detail %q does not say to retry with the same key", d)
		}
		// The server lives on: the next call is answered too.
		out, isErr = call(t, cs, "list_forms", nil)
		problem(t, out, isErr, "service-unavailable")
	})
}

// TestMCPStdioUsage: the command refuses what it cannot work with, before
// it reads stdin, and never takes the key as a flag.
func TestMCPStdioUsage(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	for name, c := range map[string]struct {
		args []string
		key  string
		want string
	}{
		"no url":                   {[]string{"mcp"}, "intk_x", "--url is required"},
		"not http":                 {[]string{"mcp", "--url", "ftp://intake.example.com"}, "intk_x", "must be an http or https address"},
		"credentials":              {[]string{"mcp", "--url", "https://me:pw@intake.example.com"}, "intk_x", "without credentials"},
		"http elsewhere":           {[]string{"mcp", "--url", "http://intake.example.com"}, "intk_x", "must be https"},
		"allow-http, still no key": {[]string{"mcp", "--allow-http", "--url", "http://intake:8080"}, "", "INTAKE_API_KEY is not set"},
		"no key":                   {[]string{"mcp", "--url", "https://intake.example.com"}, "", "INTAKE_API_KEY is not set"},
		"key as a flag":            {[]string{"mcp", "--url", "https://intake.example.com", "--key", "intk_x"}, "intk_x", "not defined: -key"},
		"an unknown flag":          {[]string{"mcp", "--url", "https://intake.example.com", "--verbose"}, "intk_x", "not defined: -verbose"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = append(os.Environ(), "INTAKE_API_KEY="+c.key)
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: intake %s = %v, %q; want exit 2 saying %q", name, strings.Join(c.args, " "), err, out, c.want)
		}
	}
}
