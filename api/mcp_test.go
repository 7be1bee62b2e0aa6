package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// mcpBearer adds an API key to every request an MCP client sends.
type mcpBearer struct {
	key  string
	next http.RoundTripper
}

func (b mcpBearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.next.RoundTrip(r)
}

// mcpSession connects the SDK's own client to the bundle's /mcp with key.
func (b *testBundle) mcpSession(t *testing.T, key string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "intake-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:             b.server.URL + "/mcp",
		HTTPClient:           &http.Client{Transport: mcpBearer{key: key, next: http.DefaultTransport}},
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}, nil)
	if err != nil {
		t.Fatalf("connect to /mcp: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// callTool calls a tool and returns its structured result as a map, and
// whether it is a tool error.
func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (map[string]any, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, b, err)
	}
	return out, res.IsError
}

// mustTool calls a tool that must succeed.
func mustTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) map[string]any {
	t.Helper()
	out, isErr := callTool(t, cs, name, args)
	if isErr {
		t.Fatalf("%s(%v) = tool error %v", name, args, out)
	}
	return out
}

// mustToolProblem calls a tool that must fail with the problem type typ.
func mustToolProblem(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, typ string) map[string]any {
	t.Helper()
	out, isErr := callTool(t, cs, name, args)
	if !isErr || out["type"] != testProblemBase+typ || out["title"] == "" || out["detail"] == "" {
		t.Fatalf("%s(%v) = %v (error %v), want a tool error of type %s with title and detail", name, args, out, isErr, typ)
	}
	return out
}

const testProblemBase = "https://intake.dev/problems/"

func dataOf(t *testing.T, page map[string]any) []map[string]any {
	t.Helper()
	list, ok := page["data"].([]any)
	if !ok {
		t.Fatalf("not a page: %v", page)
	}
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i], _ = v.(map[string]any)
	}
	return out
}

var mcpToolNames = []string{"create_form", "delete_submission", "erase_person", "form_stats", "get_form", "get_submission",
	"list_deliveries", "list_forms", "list_submissions", "list_webhooks", "mark_spam", "merge_submissions", "redeliver",
	"search_submissions", "submit", "update_form"}

var mcpReadTools = []string{"form_stats", "get_form", "get_submission", "list_deliveries", "list_forms", "list_submissions",
	"list_webhooks", "search_submissions"}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		if tool.InputSchema == nil {
			t.Errorf("tool %s has no input schema", tool.Name)
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// Every tool's happy path with the SDK's client over HTTP, each answering
// the REST API's shapes, and the changes in the audit log as the key's.
func TestMCPTools(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cs := b.mcpSession(t, b.account.APIKey)

	if got := toolNames(t, cs); !slices.Equal(got, mcpToolNames) {
		t.Fatalf("tools = %v, want %v", got, mcpToolNames)
	}
	tpl, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tpl.ResourceTemplates) != 1 || tpl.ResourceTemplates[0].URITemplate != "intake://forms/{id}/schema" {
		t.Fatalf("resource templates = %v, %v", tpl, err)
	}
	res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "intake://forms/" + b.form.PublicID + "/schema"})
	if err != nil || len(res.Contents) != 1 || !strings.Contains(res.Contents[0].Text, `"email"`) {
		t.Fatalf("schema resource = %v, %v", res, err)
	}

	forms := dataOf(t, mustTool(t, cs, "list_forms", nil))
	if len(forms) != 1 || forms[0]["id"] != b.form.PublicID || forms[0]["endpoint"] != b.server.URL+"/f/"+b.form.PublicID {
		t.Fatalf("list_forms = %v", forms)
	}
	form := mustTool(t, cs, "get_form", map[string]any{"form_id": b.form.PublicID})
	if schema, _ := form["json_schema"].(map[string]any); form["id"] != b.form.PublicID || schema["properties"] == nil {
		t.Fatalf("get_form = %v", form)
	}
	created := mustTool(t, cs, "create_form", map[string]any{"name": "Agents",
		"fields": []any{map[string]any{"name": "email", "type": "email", "required": true}}})
	newID, _ := created["id"].(string)
	if newID == "" || created["name"] != "Agents" {
		t.Fatalf("create_form = %v", created)
	}
	if updated := mustTool(t, cs, "update_form", map[string]any{"form_id": newID, "name": "Agents 2"}); updated["name"] != "Agents 2" {
		t.Fatalf("update_form = %v", updated)
	}

	first := mustTool(t, cs, "submit", map[string]any{"form_id": b.form.PublicID, "idempotency_key": "agent-1",
		"data": map[string]any{"email": "ada@example.com", "message": "hello"}})
	again := mustTool(t, cs, "submit", map[string]any{"form_id": b.form.PublicID, "idempotency_key": "agent-1",
		"data": map[string]any{"email": "ada@example.com", "message": "hello"}})
	if first["replayed"] != false || again["replayed"] != true || fmt.Sprint(first["answer"]) != fmt.Sprint(again["answer"]) {
		t.Fatalf("submit then retry = %v, %v; want the same answer, the second replayed", first, again)
	}
	mustTool(t, cs, "submit", map[string]any{"form_id": b.form.PublicID, "idempotency_key": "agent-2",
		"data": map[string]any{"email": "bob@example.com", "message": "hi"}})

	subs := dataOf(t, mustTool(t, cs, "list_submissions", map[string]any{"form_id": b.form.PublicID, "limit": 10, "spam": false}))
	if len(subs) != 2 {
		t.Fatalf("list_submissions = %v, want 2", subs)
	}
	bob, ada := subs[0]["id"].(string), subs[1]["id"].(string)
	found := dataOf(t, mustTool(t, cs, "search_submissions", map[string]any{"form_id": b.form.PublicID, "q": "hello"}))
	if len(found) != 1 || found[0]["id"] != ada {
		t.Fatalf("search_submissions = %v, want %s", found, ada)
	}
	if got := mustTool(t, cs, "get_submission", map[string]any{"submission_id": ada}); got["id"] != ada {
		t.Fatalf("get_submission = %v", got)
	}
	if got := mustTool(t, cs, "mark_spam", map[string]any{"submission_id": bob}); got["spam"] != true {
		t.Fatalf("mark_spam = %v", got)
	}
	mustTool(t, cs, "mark_spam", map[string]any{"submission_id": bob, "spam": false})
	if got := mustTool(t, cs, "merge_submissions", map[string]any{"submission_id": bob, "into": ada}); got["id"] != bob {
		t.Fatalf("merge_submissions = %v", got)
	}
	if got := mustTool(t, cs, "delete_submission", map[string]any{"submission_id": bob}); got["deleted"] != true {
		t.Fatalf("delete_submission = %v", got)
	}
	stats := mustTool(t, cs, "form_stats", map[string]any{"form_id": b.form.PublicID, "days": 7})
	if days, _ := stats["days"].([]any); stats["form"] != b.form.PublicID || len(days) != 7 {
		t.Fatalf("form_stats = %v", stats)
	}

	e := testfactory.Endpoint(t, b.db, b.api.Sealer, b.form, "https://hooks.example/intake", false)
	if _, err := b.db.Exec(ctx, `INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
SELECT 'dlv_mcp', $1, id, 'msg_mcp' FROM submissions LIMIT 1`, e.ID); err != nil {
		t.Fatal(err)
	}
	hooks := dataOf(t, mustTool(t, cs, "list_webhooks", map[string]any{"form_id": b.form.PublicID}))
	if len(hooks) != 1 || hooks[0]["id"] != e.PublicID || hooks[0]["secret"] != nil {
		t.Fatalf("list_webhooks = %v (never a secret)", hooks)
	}
	dels := dataOf(t, mustTool(t, cs, "list_deliveries", map[string]any{"webhook_id": e.PublicID}))
	if len(dels) != 1 || dels[0]["id"] != "dlv_mcp" {
		t.Fatalf("list_deliveries = %v", dels)
	}
	if got := mustTool(t, cs, "redeliver", map[string]any{"delivery_id": "dlv_mcp"}); got["id"] != "dlv_mcp" {
		t.Fatalf("redeliver = %v", got)
	}
	erased := mustTool(t, cs, "erase_person", map[string]any{"email": "ada@example.com"})
	if d, _ := erased["deleted"].(map[string]any); d["submissions"] != float64(1) {
		t.Fatalf("erase_person = %v", erased)
	}

	// Every change is the key's in the audit log.
	rows, err := b.db.Query(ctx, `SELECT DISTINCT action FROM audit_log WHERE actor_kind = 'api_key' AND actor_key_id IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actions[a] = true
	}
	rows.Close()
	for _, want := range []string{"form.create", "form.update", "submission.update", "submission.merge", "submission.delete", "delivery.redeliver", "person.erase"} {
		if !actions[want] {
			t.Errorf("no audit entry %s by the API key; have %v", want, actions)
		}
	}
}

// Another account's objects are not found; a read_only key is shown only
// the tools that read and cannot change anything; validation errors come
// back per field; no key is a 401.
func TestMCPRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	testfactory.Submit(t, b.api.Submissions, b.form.PublicID, "seed", map[string]any{"email": "ada@example.com"})
	testfactory.Submit(t, b.api.Submissions, b.form.PublicID, "seed-2", map[string]any{"email": "ada@example.com", "message": "again"})
	var last uuid.UUID
	if err := b.db.QueryRow(ctx, `SELECT id FROM submissions ORDER BY id DESC LIMIT 1`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	second := submissions.FormatID(last)
	e := testfactory.Endpoint(t, b.db, b.api.Sealer, b.form, "https://hooks.example/intake", false)
	if _, err := b.db.Exec(ctx, `INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
SELECT 'dlv_mcp', $1, id, 'msg_mcp' FROM submissions LIMIT 1`, e.ID); err != nil {
		t.Fatal(err)
	}

	other := testfactory.NewAccount(ctx, t, b.db)
	foreign := b.mcpSession(t, other.APIKey)
	foreignCalls := map[string]map[string]any{
		"get_form":           {"form_id": b.form.PublicID},
		"update_form":        {"form_id": b.form.PublicID, "name": "mine"},
		"list_submissions":   {"form_id": b.form.PublicID},
		"form_stats":         {"form_id": b.form.PublicID},
		"list_webhooks":      {"form_id": b.form.PublicID},
		"list_deliveries":    {"webhook_id": e.PublicID},
		"redeliver":          {"delivery_id": "dlv_mcp"},
		"submit":             {"form_id": b.form.PublicID, "idempotency_key": "x", "data": map[string]any{"email": "a@example.com"}},
		"get_submission":     {"submission_id": b.firstSubmissionID(t)},
		"mark_spam":          {"submission_id": b.firstSubmissionID(t)},
		"delete_submission":  {"submission_id": b.firstSubmissionID(t)},
		"search_submissions": {"form_id": b.form.PublicID, "q": "ada"},
		"merge_submissions":  {"submission_id": b.firstSubmissionID(t), "into": second},
	}
	for name, args := range foreignCalls {
		mustToolProblem(t, foreign, name, args, "not-found")
	}
	// The tools that name no object act on the caller's own account only.
	if d := mustTool(t, foreign, "erase_person", map[string]any{"email": "ada@example.com"}); fmt.Sprint(d["deleted"].(map[string]any)["submissions"]) != "0" {
		t.Errorf("another account's erase_person = %v, want nothing erased", d)
	}
	if b.count(t, `SELECT count(*) FROM submissions`) != 2 {
		t.Error("another account's erasure deleted the submissions")
	}
	ownOnly := []string{"list_forms", "create_form", "erase_person"}
	// Every tool is walked here: a new tool must say how it keeps to its
	// account (a row above, or ownOnly with a check).
	for _, name := range toolNames(t, foreign) {
		if _, ok := foreignCalls[name]; !ok && !slices.Contains(ownOnly, name) {
			t.Errorf("the tool %s has no row in this test's table of another account's calls", name)
		}
	}
	if _, err := foreign.ReadResource(ctx, &mcp.ReadResourceParams{URI: "intake://forms/" + b.form.PublicID + "/schema"}); err == nil {
		t.Error("another account read the form's schema resource")
	}
	if n := dataOf(t, mustTool(t, foreign, "list_forms", nil)); len(n) != 0 {
		t.Errorf("another account lists %v", n)
	}

	_, readOnly, err := accounts.CreateAPIKey(ctx, b.db, audit.System, b.account.User, "reports", accounts.ScopeReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	ro := b.mcpSession(t, readOnly)
	if got := toolNames(t, ro); !slices.Equal(got, mcpReadTools) {
		t.Errorf("a read_only key is shown %v, want %v", got, mcpReadTools)
	}
	before := b.count(t, `SELECT count(*) FROM submissions`) + 1000*b.count(t, `SELECT count(*) FROM forms`) + 100000*b.count(t, `SELECT count(*) FROM audit_log`)
	changes := map[string]map[string]any{
		"create_form":       {"name": "x"},
		"update_form":       {"form_id": b.form.PublicID, "name": "x"},
		"submit":            {"form_id": b.form.PublicID, "idempotency_key": "ro", "data": map[string]any{"email": "ro@example.com"}},
		"mark_spam":         {"submission_id": b.firstSubmissionID(t)},
		"delete_submission": {"submission_id": b.firstSubmissionID(t)},
		"merge_submissions": {"submission_id": b.firstSubmissionID(t), "into": b.firstSubmissionID(t)},
		"redeliver":         {"delivery_id": "dlv_mcp"},
		"erase_person":      {"email": "ada@example.com"},
	}
	for name, args := range changes {
		mustToolProblem(t, ro, name, args, "forbidden")
	}
	for _, name := range mcpToolNames {
		if _, ok := changes[name]; !ok && !slices.Contains(mcpReadTools, name) {
			t.Errorf("the tool %s is neither a read nor in this test's table of changes a read_only key is refused", name)
		}
	}
	mustTool(t, ro, "list_submissions", map[string]any{"form_id": b.form.PublicID})
	after := b.count(t, `SELECT count(*) FROM submissions`) + 1000*b.count(t, `SELECT count(*) FROM forms`) + 100000*b.count(t, `SELECT count(*) FROM audit_log`)
	if before != after {
		t.Errorf("a read_only key changed the database: %d, then %d", before, after)
	}

	// The contract's errors, field by field, as the API's 422.
	own := b.mcpSession(t, b.account.APIKey)
	p := mustToolProblem(t, own, "submit", map[string]any{"form_id": b.form.PublicID, "idempotency_key": "bad",
		"data": map[string]any{"email": "not an address", "message": strings.Repeat("x", 501)}}, "validation-error")
	fields := map[string]bool{}
	for _, fe := range p["errors"].([]any) {
		fields[fmt.Sprint(fe.(map[string]any)["field"])] = true
	}
	if !fields["email"] || !fields["message"] || p["status"] != float64(422) {
		t.Errorf("validation problem = %v, want errors for email and message", p)
	}
	mustToolProblem(t, own, "create_form", map[string]any{"name": "x", "settings": map[string]any{"colour": 1}}, "malformed-request")
	mustToolProblem(t, own, "list_submissions", map[string]any{"form_id": b.form.PublicID, "limit": 1000}, "invalid-parameter")
	mustToolProblem(t, own, "get_submission", map[string]any{"submission_id": "nope"}, "not-found")
	mustToolProblem(t, own, "erase_person", map[string]any{"email": "nope"}, "validation-error")

	// No key, or an unknown one: the API's 401, before any MCP.
	r := b.call(t, "POST", "/mcp", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), hdr("Content-Type", "application/json", "Accept", "application/json, text/event-stream"))
	mustProblem(t, r, http.StatusUnauthorized, "unauthorized")
	r = b.call(t, "POST", "/mcp", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), hdr("Content-Type", "application/json", "Authorization", "Bearer ik_nope"))
	mustProblem(t, r, http.StatusUnauthorized, "unauthorized")
}

// firstSubmissionID is the id of a submission of the bundle's form.
func (b *testBundle) firstSubmissionID(t *testing.T) string {
	t.Helper()
	var id uuid.UUID
	if err := b.db.QueryRow(context.Background(), `SELECT id FROM submissions ORDER BY id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return submissions.FormatID(id)
}

// submit retried with the same key three times at once stores one
// submission; two of the answers say they were replays.
func TestMCPSubmitConcurrentRetries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		replayed int
		answers  []string
	)
	for range 3 {
		cs := b.mcpSession(t, b.account.APIKey)
		wg.Go(func() {
			out, isErr := callTool(t, cs, "submit", map[string]any{"form_id": b.form.PublicID, "idempotency_key": "loop-twice",
				"data": map[string]any{"email": "ada@example.com"}})
			mu.Lock()
			defer mu.Unlock()
			if isErr {
				t.Errorf("submit = tool error %v", out)
				return
			}
			if out["replayed"] == true {
				replayed++
			}
			answers = append(answers, fmt.Sprint(out["answer"]))
		})
	}
	wg.Wait()
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 1 {
		t.Errorf("three retries stored %d submissions, want 1", n)
	}
	if replayed != 2 || len(answers) != 3 || answers[0] != answers[1] || answers[1] != answers[2] {
		t.Errorf("replayed = %d, answers %v; want 2 replays of one answer", replayed, answers)
	}
}

// /mcp counts unknown keys per address as /api/v1 does: past the limit
// an address is answered 429 before its key is looked up.
func TestMCPUnknownKeysLimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	var last reply
	for i := range api.DefaultAuthFailuresPerMinute + 1 {
		last = b.call(t, "POST", "/mcp", body, hdr("Content-Type", "application/json", "Authorization", fmt.Sprintf("Bearer intk_guess%d", i)))
	}
	mustProblem(t, last, http.StatusTooManyRequests, "rate-limited")
}

// submit takes its data as the client wrote it, as /f/ takes a JSON body:
// invalid UTF-8 is refused (the SDK would have read it as U+FFFD), a
// number keeps all its digits (the SDK reads float64), and the same key
// and data sent to /f/ and then to submit is one submission, replayed.
func TestMCPSubmitDataAsSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h := hdr("Content-Type", "application/json", "Accept", "application/json, text/event-stream",
		"Authorization", bearer(b.account.APIKey), "Mcp-Protocol-Version", "2025-06-18")
	submit := func(key, data string) reply {
		return b.call(t, "POST", "/mcp", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"submit","arguments":`+
			`{"form_id":"`+b.form.PublicID+`","idempotency_key":"`+key+`","data":`+data+`}}}`), h)
	}
	r := submit("bad-text", "{\"email\":\"a@example.com\",\"message\":\"a\xffb\"}")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"isError":true`) || !strings.Contains(r.Body, "malformed-request") ||
		!strings.Contains(r.Body, "#/arguments/data/message is not valid UTF-8") {
		t.Errorf("invalid UTF-8 in data: %s, want a malformed-request tool error naming the member", r)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, b.form.ID); n != 0 {
		t.Fatalf("%d submissions stored from invalid text", n)
	}
	const big = "123456789012345678901234567890"
	r = submit("big", `{"email":"a@example.com","n":`+big+`}`)
	if r.Status != http.StatusOK || strings.Contains(r.Body, `"isError":true`) {
		t.Fatalf("submit: %s", r)
	}
	var n string
	if err := b.db.QueryRow(context.Background(), `SELECT data->>'n' FROM submissions WHERE form_id = $1`, b.form.ID).Scan(&n); err != nil || n != big {
		t.Errorf("stored n = %q (%v), want %s as sent", n, err, big)
	}
	b.post(t, b.form.PublicID, `{"email":"b@example.com","n":1.50}`, "both-edges")
	r = submit("both-edges", `{"email":"b@example.com","n":1.50}`)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"replayed":true`) {
		t.Errorf("the same key and data through /f/ then submit: %s, want a replay", r)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, b.form.ID); n != 2 {
		t.Errorf("%d submissions stored, want 2", n)
	}
}

// A resource URI with a control character is refused as invalid params:
// the SDK's own not-found error was not JSON for it, and the answer was an
// empty 200.
func TestMCPResourceURINotText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h := hdr("Content-Type", "application/json", "Accept", "application/json, text/event-stream",
		"Authorization", bearer(b.account.APIKey), "Mcp-Protocol-Version", "2025-06-18")
	for _, uri := range []string{`intake://forms/\u0000/schema`, `intake://forms/a\u0007b/schema`, `x\u007f`} {
		r := b.call(t, "POST", "/mcp", []byte(`{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"`+uri+`"}}`), h)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"code":-32602`) || !strings.Contains(r.Body, `"id":7`) {
			t.Errorf("resources/read %s: %s, want a JSON-RPC invalid-params error", uri, r)

		}
	}
}

// A JSON-RPC batch is refused whatever protocol version the client
// names (or none): each call of one ran for one request of the rate
// limit, and all their answers were held at once. A single message
// still works, leading space and all.
func TestMCPBatchRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	call := `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"list_forms","arguments":{}}}`
	batch := "[" + fmt.Sprintf(call, 1) + "," + fmt.Sprintf(call, 2) + "]"
	for _, version := range []string{"", "2025-03-26", "2025-06-18"} {
		h := hdr("Content-Type", "application/json", "Accept", "application/json, text/event-stream", "Authorization", bearer(b.account.APIKey))
		if version != "" {
			h.Set("Mcp-Protocol-Version", version)
		}
		for _, body := range []string{batch, " \n\t" + batch, strings.Repeat(" ", 5000) + batch} {
			r := b.call(t, "POST", "/mcp", []byte(body), h)
			if version == "2025-06-18" && r.Status == http.StatusBadRequest {
				continue // the SDK's own refusal, or ours
			}
			mustProblem(t, r, http.StatusBadRequest, "malformed-request")
		}
	}
	r := b.call(t, "POST", "/mcp", []byte("  "+fmt.Sprintf(call, 3)), hdr("Content-Type", "application/json",
		"Accept", "application/json, text/event-stream", "Authorization", bearer(b.account.APIKey), "Mcp-Protocol-Version", "2025-06-18"))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"id":3`) {
		t.Errorf("one message after the batches: %s", r)
	}
}

// TestMCPArgumentsRefusedAsProblems: arguments the SDK refuses against a
// tool's input schema, before the tool runs, come back as the validation
// problem every other refusal is, naming the field — not the SDK's text.
func TestMCPArgumentsRefusedAsProblems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cs := b.mcpSession(t, b.account.APIKey)
	for name, c := range map[string]struct {
		tool  string
		args  map[string]any
		field string
	}{
		"a required argument missing": {"submit", map[string]any{"form_id": b.form.PublicID, "data": map[string]any{}}, "idempotency_key"},
		"two missing":                 {"merge_submissions", map[string]any{}, "into"},
		"a wrong type":                {"list_forms", map[string]any{"limit": "ten"}, "limit"},
		"an object for a string":      {"get_form", map[string]any{"form_id": map[string]any{"x": 1}}, "form_id"},
	} {
		p := mustToolProblem(t, cs, c.tool, c.args, "validation-error")
		errs, _ := p["errors"].([]any)
		var fields []string
		for _, e := range errs {
			e, _ := e.(map[string]any)
			fields = append(fields, fmt.Sprint(e["field"]))
			if e["message"] == "" || e["code"] == "" {
				t.Errorf("%s: field error %v has no message or code", name, e)
			}
		}
		if !slices.Contains(fields, c.field) || p["status"] != float64(422) {
			t.Errorf("%s: %s(%v) = %v; want a 422 validation problem naming %s", name, c.tool, c.args, p, c.field)
		}
	}
	var n int
	if err := b.db.QueryRow(context.Background(), `SELECT count(*) FROM submissions`).Scan(&n); err != nil || n != 0 {
		t.Errorf("stored %d submissions (%v), want none", n, err)
	}
}

// TestMCPToolMetrics: each call is counted by tool and outcome; a made-up
// tool name is counted as other, never as a label of its own; the help
// names every tool the server lists.
func TestMCPToolMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cs := b.mcpSession(t, b.account.APIKey)
	mustTool(t, cs, "list_forms", nil)
	mustTool(t, cs, "list_forms", nil)
	mustToolProblem(t, cs, "get_form", map[string]any{"form_id": "frm_nosuchform"}, "not-found")
	mustToolProblem(t, cs, "submit", map[string]any{"form_id": b.form.PublicID, "data": map[string]any{}}, "validation-error")
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "drop_everything_" + uuid.NewString()}); err == nil {
		t.Error("a made-up tool answered")
	}
	got := map[string]float64{}
	families, err := b.api.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	help := ""
	for _, mf := range families {
		if mf.GetName() != "intake_mcp_tool_calls_total" {
			continue
		}
		help = mf.GetHelp()
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			got[l["tool"]+" "+l["outcome"]] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"list_forms ok": 2, "get_form refused": 1, "submit refused": 1, "other error": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("intake_mcp_tool_calls_total = %v, want %v", got, want)
	}
	for _, name := range toolNames(t, cs) {
		if !strings.Contains(help, name) {
			t.Errorf("the metric's help %q does not name the tool %s", help, name)
		}
	}
}
