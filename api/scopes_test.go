package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/webhooks"
)

// scopeRow is one /api/v1 route in TestAPIKeyScopesEveryRoute: the body it
// is sent ("" sends none) and what a read_write key is answered.
type scopeRow struct {
	body string
	rw   int
}

// Every /api/v1 route, called with a read_only key of the account that
// owns the objects: a route that changes something (any method but GET and
// HEAD) answers 403 forbidden and changes nothing in the database; a read
// answers as it does to a read_write key. Then the same routes with a
// read_write key answer as before scopes. A route added without a row here
// fails the test.
func TestAPIKeyScopesEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, readOnly, err := accounts.CreateAPIKey(ctx, b.db, audit.System, b.account.User, "reports", accounts.ScopeReadOnly)
	if err != nil {
		t.Fatal(err)
	}

	// The account's objects: a form, a submission, a webhook, a delivery,
	// a second API key.
	sub := b.post(t, b.form.PublicID, `{"email":"ada@example.com","message":"hello"}`, "k")
	url := "https://hooks.example/x"
	ep, _, err := webhooks.Create(ctx, b.db, b.api.Sealer, webhooks.URLPolicy{}, audit.System, b.form, webhooks.Input{URL: &url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(ctx, `INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
		SELECT 'dlv_scoped', $1, id, 'msg_scoped' FROM submissions`, ep.ID); err != nil {
		t.Fatal(err)
	}
	key := decodeObject(t, b.apiCall(t, "POST", "/api/v1/apikeys", `{"name":"other"}`).Body)["id"].(string)
	ids := strings.NewReplacer("{formID}", b.form.PublicID, "{submissionID}", sub, "{webhookID}", ep.PublicID,
		"{deliveryID}", "dlv_scoped", "{fileID}", b.attachFile(t, sub), "{keyID}", key, "/api/v1/people", "/api/v1/people?email=ada@example.com")

	routes := map[string]scopeRow{
		"GET /api/v1/apikeys":                            {"", 200},
		"GET /api/v1/audit":                              {"", 200},
		"GET /api/v1/people":                             {"", 200},
		"POST /api/v1/erasures":                          {`{"email":"nobody@example.com"}`, 200},
		"POST /api/v1/apikeys":                           {`{"name":"minted","scope":"read_write"}`, 201},
		"DELETE /api/v1/apikeys/{keyID}":                 {"", 204},
		"GET /api/v1/deliveries/{deliveryID}":            {"", 200},
		"POST /api/v1/deliveries/{deliveryID}/redeliver": {"", 202},
		"POST /api/v1/forms":                             {`{"name":"New"}`, 201},
		"GET /api/v1/forms":                              {"", 200},
		"GET /api/v1/forms/{formID}":                     {"", 200},
		"PATCH /api/v1/forms/{formID}":                   {`{"name":"Renamed"}`, 200},
		"DELETE /api/v1/forms/{formID}":                  {"", 204},
		"GET /api/v1/forms/{formID}/stats":               {"", 200},
		"GET /api/v1/forms/{formID}/submissions":         {"", 200},
		"GET /api/v1/forms/{formID}/submissions.csv":     {"", 200},
		"GET /api/v1/forms/{formID}/submissions.ndjson":  {"", 200},
		"POST /api/v1/forms/{formID}/webhooks":           {`{"url":"https://other.example/hook"}`, 201},
		"GET /api/v1/forms/{formID}/webhooks":            {"", 200},
		"PATCH /api/v1/submissions/{submissionID}":       {`{"spam":true}`, 200},
		"DELETE /api/v1/submissions/{submissionID}":      {"", 204},
		// Past the scope, a merge into nothing readable is the body's fault.
		"POST /api/v1/submissions/{submissionID}/merge":         {`{"into":"not an id"}`, 422},
		"DELETE /api/v1/submissions/{submissionID}/merge":       {"", 200},
		"GET /api/v1/submissions/{submissionID}":                {"", 200},
		"GET /api/v1/submissions/{submissionID}/files/{fileID}": {"", 200},
		"DELETE /api/v1/webhooks/{webhookID}":                   {"", 204},
		"GET /api/v1/webhooks/{webhookID}":                      {"", 200},
		"PATCH /api/v1/webhooks/{webhookID}":                    {`{"include_spam":true}`, 200},
		"GET /api/v1/webhooks/{webhookID}/deliveries":           {"", 200},
		"POST /api/v1/webhooks/{webhookID}/rotate":              {"", 200},
		// No sender here (the endpoint is made up): 503, past the scope.
		"POST /api/v1/webhooks/{webhookID}/test": {"", 503},
		"GET /api/v1/forms/{formID}/sample":      {"", 200},
	}

	b.api.Webhooks = nil
	var walked []string
	err = chi.Walk(b.api.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/v1/") {
			walked = append(walked, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range walked {
		if _, ok := routes[name]; !ok {
			t.Errorf("%s has no row in this test's table: add one (its body and its read_write answer)", name)
		}
	}
	for name := range routes {
		if !slices.Contains(walked, name) {
			t.Errorf("the table has %s, which is no route: remove it", name)
		}
	}
	// Deletions last, the form's last of all, so each read_write call finds
	// its object.
	slices.SortStableFunc(walked, func(x, y string) int { return deleteRank(x) - deleteRank(y) })

	send := func(apiKey, name string) reply {
		method, route, _ := strings.Cut(name, " ")
		body := routes[name].body
		if body == "" && (method == "POST" || method == "PATCH") {
			body = `{}`
		}
		var raw []byte
		if body != "" {
			raw = []byte(body)
		}
		return b.call(t, method, ids.Replace(route), raw, hdr("Authorization", bearer(apiKey), "Content-Type", "application/json"))
	}

	// The read_only key: reads as usual, every change refused, nothing
	// changed.
	before := b.snapshot(t)
	for _, name := range walked {
		method, _, _ := strings.Cut(name, " ")
		r := send(readOnly, name)
		if method == http.MethodGet {
			if r.Status != routes[name].rw {
				t.Errorf("%s with a read_only key = %s, want %d", name, r, routes[name].rw)
			}
			if status := b.head(t, ids.Replace(strings.TrimPrefix(name, "GET ")), readOnly); status != routes[name].rw {
				t.Errorf("HEAD of %s with a read_only key = %d, want %d", name, status, routes[name].rw)
			}
			continue
		}
		p := mustProblemNamed(t, name, r, http.StatusForbidden, "forbidden")
		if p != nil && !strings.Contains(fmt.Sprint(p["detail"]), "read_only") {
			t.Errorf("%s: the problem does not say the key is read_only: %s", name, r.Body)
		}
		if r.Header.Get("RateLimit-Limit") == "" {
			t.Errorf("%s: the 403 has no RateLimit headers: the request still counts", name)
		}
	}
	if after := b.snapshot(t); after != before {
		t.Errorf("a read_only key changed the database:\nbefore %s\nafter  %s", before, after)
	}

	// The read_write key: every route as before scopes.
	for _, name := range walked {
		if r := send(b.account.APIKey, name); r.Status != routes[name].rw {
			t.Errorf("%s with a read_write key = %s, want %d", name, r, routes[name].rw)
		}
	}
	// The key the read_write key made is read_write: it is what it asked.
	keys, err := accounts.APIKeys(ctx, b.db, b.account.User.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		want := accounts.ScopeReadWrite
		if k.Name == "reports" {
			want = accounts.ScopeReadOnly
		}
		if k.Scope != want {
			t.Errorf("key %q has scope %s, want %s", k.Name, k.Scope, want)
		}
	}
}

// head sends HEAD to path with apiKey and returns the status. HEAD is
// answered by each GET route (middleware.GetHead) and not described
// operation by operation in openapi.json, so it is sent outside b.call's
// check.
func (b *testBundle) head(t testing.TB, path, apiKey string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, b.server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer(apiKey))
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// deleteRank orders a route's call: changes and reads first, then the
// deletions of a submission, a webhook, a key, and the form last.
func deleteRank(name string) int {
	// Undoing a merge deletes nothing: it goes with the changes.
	if !strings.HasPrefix(name, "DELETE ") || strings.HasSuffix(name, "/merge") {
		return 0
	}
	if strings.HasPrefix(name, "DELETE /api/v1/forms/") {
		return 2
	}
	return 1
}

// mustProblemNamed is mustProblem that goes on to the next route: it
// reports what is wrong with name's answer and returns nil.
func mustProblemNamed(t *testing.T, name string, r reply, status int, typ string) map[string]any {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Body, `"type":"https://intake.dev/problems/`+typ+`"`) {
		t.Errorf("%s with a read_only key = %s, want %d %s", name, r, status, typ)
		return nil
	}
	return decodeObject(t, r.Body)
}

// snapshot digests every table of the database's public schema, so a
// test can tell that a request changed nothing. api_keys' last_used_at is
// left out: using a key to read writes it, once a minute.
func (b *testBundle) snapshot(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	rows, err := b.db.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, name := range tables {
		from := `"` + name + `"`
		if name == "audit_log" {
			// A person's lookup is a read that is audited (docs/errors.md,
			// "forbidden"): its entry is the one row a read adds.
			from = `(SELECT * FROM audit_log WHERE action <> 'person.lookup')`
		}
		if name == "api_keys" {
			from = `(SELECT id, account_id, user_id, name, scope, prefix, hash, public_id, created_at, revoked_at FROM api_keys)`
		}
		var digest string
		if err := b.db.QueryRow(ctx, `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
			FROM `+from+` t`).Scan(&digest); err != nil {
			t.Fatalf("snapshot %s: %v", name, err)
		}
		fmt.Fprintf(&out, "%s=%s ", name, digest)
	}
	return out.String()
}

// A key's scope is chosen when it is made: read_write by default,
// read_only on request, anything else a 422 at #/scope; lists show it. A
// read_only key reads its account and may not make a key.
func TestAPIKeyScopeCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r := b.apiCall(t, "POST", "/api/v1/apikeys", `{"name":"default"}`)
	if r.Status != http.StatusCreated || decodeObject(t, r.Body)["scope"] != "read_write" {
		t.Errorf("create without a scope = %s, want 201 read_write", r)
	}
	r = b.apiCall(t, "POST", "/api/v1/apikeys", `{"name":"reports","scope":"read_only"}`)
	created := decodeObject(t, r.Body)
	if r.Status != http.StatusCreated || created["scope"] != "read_only" {
		t.Fatalf("create read_only = %s, want 201 read_only", r)
	}
	readOnly := created["key"].(string)

	for _, c := range []struct{ body, pointers string }{
		{`{"name":"x","scope":"admin"}`, "#/scope"},
		{`{"name":"x","scope":"READ_ONLY"}`, "#/scope"},
		{`{"name":"x","scope":"read-only"}`, "#/scope"},
		{`{"name":"x","scope":" read_only"}`, "#/scope"},
		{`{"name":"` + strings.Repeat("n", 201) + `","scope":"owner"}`, "#/name #/scope"},
	} {
		r := b.apiCall(t, "POST", "/api/v1/apikeys", c.body)
		p := mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error")
		var got []string
		for _, e := range errorsOf(p) {
			got = append(got, fmt.Sprint(e["pointer"]))
		}
		if strings.Join(got, " ") != c.pointers {
			t.Errorf("%.60s: pointers %v, want %s", c.body, got, c.pointers)
		}
	}
	for _, body := range []string{`{"name":"x","scope":1}`, `{"name":"x","scope":null,"extra":1}`, `{"name":"x","scope":"read_only\u0000"}`} {
		mustProblem(t, b.apiCall(t, "POST", "/api/v1/apikeys", body), http.StatusBadRequest, "malformed-request")
	}

	list := decodeObject(t, b.apiCall(t, "GET", "/api/v1/apikeys", "").Body)["data"].([]any)
	scopes := map[string]string{}
	for _, k := range list {
		k := k.(map[string]any)
		scopes[k["name"].(string)] = k["scope"].(string)
	}
	if want := map[string]string{"test": "read_write", "default": "read_write", "reports": "read_only"}; fmt.Sprint(scopes) != fmt.Sprint(want) {
		t.Errorf("listed scopes = %v, want %v", scopes, want)
	}

	// The read_only key reads its account's keys, and cannot make one.
	if r := b.apiGet(t, "/api/v1/apikeys", readOnly); r.Status != http.StatusOK {
		t.Errorf("GET /apikeys with a read_only key = %s", r)
	}
	for _, body := range []string{`{"name":"escalate"}`, `{"name":"escalate","scope":"read_write"}`, `{"name":"also","scope":"read_only"}`, `not json`} {
		r := b.call(t, "POST", "/api/v1/apikeys", []byte(body), hdr("Authorization", bearer(readOnly), "Content-Type", "application/json"))
		mustProblem(t, r, http.StatusForbidden, "forbidden")
	}
	if n := b.count(t, `SELECT count(*) FROM api_keys WHERE account_id = $1`, b.account.User.AccountID); n != 3 {
		t.Errorf("%d keys, want 3: the read_only key made one", n)
	}
	// Another account's read_only key still finds nothing of this one's:
	// 404 on reads, and its refusal to change says nothing of the object.
	other := testfactory.NewAccount(context.Background(), t, b.db)
	_, otherRO, err := accounts.CreateAPIKey(context.Background(), b.db, audit.System, other.User, "ro", accounts.ScopeReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	mustProblem(t, b.apiGet(t, "/api/v1/forms/"+b.form.PublicID, otherRO), http.StatusNotFound, "not-found")
}
