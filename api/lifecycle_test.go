package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/internal/testfactory"
)

func (b *testBundle) apiCall(t testing.TB, method, path, body string) reply {
	t.Helper()
	var raw []byte
	if body != "" {
		raw = []byte(body)
	}
	return b.call(t, method, path, raw, hdr("Authorization", bearer(b.account.APIKey), "Content-Type", "application/json"))
}

func (b *testBundle) post(t testing.TB, formID, body, key string) string {
	t.Helper()
	r := b.submit(t, formID, ctJSON, body, "Idempotency-Key", key)
	if r.Status != http.StatusCreated {
		t.Fatalf("submit %s = %s", body, r)
	}
	return decodeObject(t, r.Body)["id"].(string)
}

// PATCH changes a form; a change of fields makes a new contract version
// that later submissions meet while earlier ones keep theirs.
func TestUpdateForm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v1/forms/" + b.form.PublicID
	before := b.post(t, b.form.PublicID, `{"email":"a@example.com"}`, "k1")

	r := b.apiCall(t, "PATCH", path, `{"name":"Contact us","settings":{"redirect_url":"https://site.example/thanks"}}`)
	f := decodeObject(t, r.Body)
	if r.Status != 200 || f["name"] != "Contact us" || f["contract_version"] != 1.0 {
		t.Fatalf("rename = %s", r)
	}
	settings := f["settings"].(map[string]any)
	if settings["redirect_url"] != "https://site.example/thanks" || settings["idempotency_retention"] != "24h" {
		t.Errorf("a settings patch must change only the members it names: %v", settings)
	}
	r = b.apiCall(t, "PATCH", path, `{"fields":[{"name":"email","type":"email","required":true},{"name":"phone","type":"tel","required":true}]}`)
	if f := decodeObject(t, r.Body); r.Status != 200 || f["contract_version"] != 2.0 {
		t.Fatalf("new fields = %s", r)
	}
	if r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"b@example.com"}`); r.Status != 422 {
		t.Errorf("a submission missing the new required field = %s, want 422", r)
	}
	after := b.post(t, b.form.PublicID, `{"email":"b@example.com","phone":"+33 1 23"}`, "k2")
	if v := b.submission(t, before)["contract_version"]; v != 1.0 {
		t.Errorf("the earlier submission's contract_version = %v, want 1", v)
	}
	if v := b.submission(t, after)["contract_version"]; v != 2.0 {
		t.Errorf("the later submission's contract_version = %v, want 2", v)
	}
	// The same fields again make no new version.
	r = b.apiCall(t, "PATCH", path, `{"fields":[{"name":"email","type":"email","required":true},{"name":"phone","type":"tel","required":true}]}`)
	if f := decodeObject(t, r.Body); f["contract_version"] != 2.0 {
		t.Errorf("unchanged fields made version %v", f["contract_version"])
	}
	for _, tc := range []struct{ body, typ string }{
		{`{"fields":[{"name":"a","type":"text","rules":"notatag"}]}`, "validation-error"},
		{`{"settings":{"unknown_fields":"maybe"}}`, "validation-error"},
		{`{"name":""}`, "validation-error"},
		{`{"nme":"x"}`, "malformed-request"},
		{`{"settings":{"colour":"red"}}`, "malformed-request"},
		{`{"settings":{"require_idempotency_key":"yes"}}`, "malformed-request"},
	} {
		status := 422
		if tc.typ == "malformed-request" {
			status = 400
		}
		mustProblem(t, b.apiCall(t, "PATCH", path, tc.body), status, tc.typ)
	}
	other := testfactory.NewAccount(context.Background(), t, b.db)
	r = b.call(t, "PATCH", path, []byte(`{"name":"mine"}`), hdr("Authorization", bearer(other.APIKey)))
	mustProblem(t, r, 404, "not-found")
}

// DELETE archives: the endpoint answers 410 INACTIVE, the list omits the
// form, its submissions stay readable.
func TestArchiveForm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.post(t, b.form.PublicID, `{"email":"a@example.com"}`, "k1")
	path := "/api/v1/forms/" + b.form.PublicID
	if r := b.apiCall(t, "DELETE", path, ""); r.Status != 204 {
		t.Fatalf("delete = %s", r)
	}
	p := mustProblem(t, b.submit(t, b.form.PublicID, ctJSON, `{"email":"b@example.com"}`), 410, "form-inactive")
	mustFormspree(t, p, "INACTIVE")
	// A retry of what was taken before still hears it was taken.
	if r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"a@example.com"}`, "Idempotency-Key", "k1"); r.Status != 201 {
		t.Errorf("a replay after archiving = %s, want the stored 201", r)
	}
	if r := b.apiCall(t, "GET", "/api/v1/forms", ""); strings.Contains(r.Body, b.form.PublicID) {
		t.Errorf("the list still shows the archived form: %s", r.Body)
	}
	if f := decodeObject(t, b.apiCall(t, "GET", path, "").Body); f["archived"] != true {
		t.Errorf("the archived form reads archived=%v", f["archived"])
	}
	if s := b.submission(t, id); s["id"] != id {
		t.Errorf("the submission of an archived form is gone")
	}
	if r := b.apiCall(t, "DELETE", path, ""); r.Status != 204 {
		t.Errorf("archiving twice = %s, want 204", r)
	}
}

// spam, q and since filter; q finds a word in any field and never another
// account's rows.
func TestSubmissionFiltersAndSearch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	list := func(query string) []string {
		t.Helper()
		r := b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions?"+query, "")
		if r.Status != 200 {
			t.Fatalf("list ?%s = %s", query, r)
		}
		var out struct{ Data []struct{ ID string } }
		json.Unmarshal([]byte(r.Body), &out)
		var ids []string
		for _, d := range out.Data {
			ids = append(ids, d.ID)
		}
		return ids
	}
	zebra := b.post(t, b.form.PublicID, `{"email":"ada@example.com","message":"The Zebra crossing at 42 Elm Street"}`, "1")
	other := b.post(t, b.form.PublicID, `{"email":"grace@example.com","message":"hello there"}`, "2")
	cut := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	spam := b.post(t, b.form.PublicID, `{"email":"bot@example.com","message":"zebra pills","_gotcha":"x"}`, "3")

	// Another account's form with the same words must never show.
	acct := testfactory.NewAccount(context.Background(), t, b.db)
	theirs := testfactory.NewForm(context.Background(), t, b.db, acct.User.AccountID, nil)
	b.post(t, theirs.PublicID, `{"email":"zebra@example.com","message":"zebra"}`, "4")

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{spam, other, zebra}},
		{"spam=true", []string{spam}},
		{"spam=false", []string{other, zebra}},
		{"q=zebra", []string{spam, zebra}},
		{"q=ZEBRA&spam=false", []string{zebra}},
		{"q=42", []string{zebra}},
		{"q=grace", []string{other}}, // part of an address in the email field
		{"q=grace@example.com", []string{other}},
		{"q=elm+street", []string{zebra}},
		{"q=nowhere", nil},
		{"since=" + cut.Format(time.RFC3339Nano), []string{spam}},
	} {
		if got := list(tc.query); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("?%s = %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, q := range []string{"spam=maybe", "since=yesterday", "limit=0", "cursor=notacursor"} {
		r := b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions?"+q, "")
		mustProblem(t, r, 400, "")
	}
}

// PATCH marks spam and back; DELETE removes, and a late retry of the
// deleted submission's key is answered, not stored again.
func TestUpdateAndDeleteSubmission(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.post(t, b.form.PublicID, `{"email":"a@example.com"}`, "k")
	path := "/api/v1/submissions/" + id
	if s := decodeObject(t, b.apiCall(t, "PATCH", path, `{"spam":true}`).Body); s["spam"] != true || s["spam_reason"] == nil {
		t.Errorf("mark spam = %v", s)
	}
	if s := decodeObject(t, b.apiCall(t, "PATCH", path, `{"spam":false}`).Body); s["spam"] != false {
		t.Errorf("mark not spam = %v", s)
	}
	mustProblem(t, b.apiCall(t, "PATCH", path, `{}`), 422, "validation-error")
	mustProblem(t, b.apiCall(t, "PATCH", path, `{"spam":"yes"}`), 400, "malformed-request")
	other := testfactory.NewAccount(context.Background(), t, b.db)
	mustProblem(t, b.call(t, "DELETE", path, nil, hdr("Authorization", bearer(other.APIKey))), 404, "not-found")
	if r := b.apiCall(t, "DELETE", path, ""); r.Status != 204 {
		t.Fatalf("delete = %s", r)
	}
	mustProblem(t, b.apiCall(t, "GET", path, ""), 404, "not-found")
	mustProblem(t, b.apiCall(t, "DELETE", path, ""), 404, "not-found")
	if r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"a@example.com"}`, "Idempotency-Key", "k"); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry after delete = %s replayed=%q", r, r.Header.Get("Idempotent-Replayed"))
	}
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 0 {
		t.Errorf("the retry stored the deleted submission again (%d rows)", n)
	}
}

// Exports: CSV with the contract's columns first, then the extra keys
// sorted; NDJSON one submission per line; both honour the filters.
func TestExports(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.post(t, b.form.PublicID, `{"email":"a@example.com","message":"first","zeta":"z","alpha":["x","y"]}`, "1")
	b.post(t, b.form.PublicID, `{"email":"b@example.com","message":"second, with \"quotes\"\nand a line"}`, "2")
	b.post(t, b.form.PublicID, `{"email":"bot@example.com","_gotcha":"x"}`, "3")

	r := b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions.csv?spam=true", "")
	if !strings.Contains(r.Body, "bot@example.com") {
		t.Errorf("spam export = %s", r.Body)
	}
	r = b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions.csv?spam=false", "")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv = %d %v", r.Status, r.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "id,created_at,spam,email,message,alpha,zeta" {
		t.Errorf("header = %s", got)
	}
	if len(rows) != 3 || rows[1][4] != "second, with \"quotes\"\nand a line" || rows[2][5] != "x; y" || rows[2][6] != "z" {
		t.Errorf("rows = %q", rows)
	}
	r = b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions.ndjson", "")
	lines := strings.Split(strings.TrimSpace(r.Body), "\n")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/x-ndjson" || len(lines) != 3 {
		t.Fatalf("ndjson = %d %q", r.Status, r.Body)
	}
	for _, l := range lines {
		var s map[string]any
		if err := json.Unmarshal([]byte(l), &s); err != nil || s["id"] == nil || s["data"] == nil {
			t.Errorf("ndjson line %q: %v", l, err)
		}
	}
	other := testfactory.NewAccount(context.Background(), t, b.db)
	mustProblem(t, b.call(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions.csv", nil, hdr("Authorization", bearer(other.APIKey))), 404, "not-found")

	// A submitter's formula must not run in the owner's spreadsheet.
	b.post(t, b.form.PublicID, `{"email":"c@example.com","message":"=HYPERLINK(\"http://evil.example\")"}`, "4")
	r = b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions.csv?q=evil.example", "")
	if !strings.Contains(r.Body, `"'=HYPERLINK(`) {
		t.Errorf("a formula cell was not neutralised: %s", r.Body)
	}
}

// Stats count submissions, spam and duplicates absorbed per day.
func TestStats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.post(t, b.form.PublicID, `{"email":"a@example.com"}`, "1")
	for range 3 {
		b.post(t, b.form.PublicID, `{"email":"a@example.com"}`, "1") // replays
	}
	b.post(t, b.form.PublicID, `{"email":"bot@example.com","_gotcha":"x"}`, "2")
	if err := b.api.Submissions.Replays.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	r := b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/stats?days=7", "")
	var out struct {
		Form string
		Days []struct {
			Date                          string
			Submissions, Spam, Duplicates int
		}
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || r.Status != 200 || len(out.Days) != 7 {
		t.Fatalf("stats = %s", r)
	}
	today := out.Days[6]
	if today.Date != time.Now().UTC().Format(time.DateOnly) || today.Submissions != 1 || today.Spam != 1 || today.Duplicates != 3 {
		t.Errorf("today = %+v, want 1 submission, 1 spam, 3 duplicates", today)
	}
	if out.Days[0].Submissions != 0 {
		t.Errorf("a day without submissions = %+v", out.Days[0])
	}
	id := decodeObject(t, b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions?spam=false", "").Body)["data"].([]any)[0].(map[string]any)
	if id["replays"] != 3.0 {
		t.Errorf("the submission's replays = %v, want 3", id["replays"])
	}
	for _, q := range []string{"days=0", "days=366", "days=x"} {
		mustProblem(t, b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/stats?"+q, ""), 400, "invalid-parameter")
	}
}

// API keys: create shows the key once, list never does, revoke makes it 401.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.apiCall(t, "POST", "/api/v1/apikeys", `{"name":"ci"}`)
	created := decodeObject(t, r.Body)
	key, _ := created["key"].(string)
	if r.Status != 201 || !strings.HasPrefix(key, "intk_") || !strings.HasPrefix(key, created["prefix"].(string)) {
		t.Fatalf("create = %s", r)
	}
	r = b.apiCall(t, "GET", "/api/v1/apikeys", "")
	if r.Status != 200 || strings.Contains(r.Body, key) || !strings.Contains(r.Body, created["id"].(string)) {
		t.Fatalf("list = %s", r)
	}
	if r := b.call(t, "GET", "/api/v1/forms", nil, hdr("Authorization", bearer(key))); r.Status != 200 {
		t.Fatalf("the new key = %s", r)
	}
	other := testfactory.NewAccount(context.Background(), t, b.db)
	mustProblem(t, b.call(t, "DELETE", "/api/v1/apikeys/"+created["id"].(string), nil, hdr("Authorization", bearer(other.APIKey))), 404, "not-found")
	if r := b.apiCall(t, "DELETE", "/api/v1/apikeys/"+created["id"].(string), ""); r.Status != 204 {
		t.Fatalf("revoke = %s", r)
	}
	mustProblem(t, b.call(t, "GET", "/api/v1/forms", nil, hdr("Authorization", bearer(key))), 401, "unauthorized")
	mustProblem(t, b.apiCall(t, "DELETE", "/api/v1/apikeys/"+created["id"].(string), ""), 404, "not-found")
}

// Over the limit: 429 with Retry-After; the RateLimit headers on every answer.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.RateLimit = &api.RateLimiter{PerMinute: 3}
	b.server.Config.Handler = b.api.Handler()
	for i := range 3 {
		r := b.apiCall(t, "GET", "/api/v1/forms", "")
		if r.Status != 200 || r.Header.Get("RateLimit-Limit") != "3" || r.Header.Get("RateLimit-Remaining") != fmt.Sprint(2-i) {
			t.Fatalf("request %d: %d, RateLimit-Remaining %q", i+1, r.Status, r.Header.Get("RateLimit-Remaining"))
		}
	}
	r := b.apiCall(t, "GET", "/api/v1/forms", "")
	mustProblem(t, r, 429, "rate-limited")
	if r.Header.Get("Retry-After") == "" || r.Header.Get("RateLimit-Policy") != "3;w=60" {
		t.Errorf("429 headers = %v", r.Header)
	}
	// Another key has its own bucket.
	other := testfactory.NewAccount(context.Background(), t, b.db)
	if r := b.call(t, "GET", "/api/v1/forms", nil, hdr("Authorization", bearer(other.APIKey))); r.Status != 200 {
		t.Errorf("another key = %s", r)
	}
	// The public endpoint is not limited by API keys.
	if r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"a@example.com"}`); r.Status != 201 {
		t.Errorf("a submission = %s", r)
	}
}

// Drain (serve's SIGTERM) turns /readyz 503, as described, while the rest
// still answers.
func TestReadyzDraining(t *testing.T) {
	t.Parallel()
	b := setup(t)
	wantStatus := func(path string, want int) {
		t.Helper()
		resp := b.do(t, "GET", path, "", nil)
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	wantStatus("/readyz", http.StatusOK)
	b.api.Drain()
	wantStatus("/readyz", http.StatusServiceUnavailable)
	wantStatus("/healthz", http.StatusOK)
}
