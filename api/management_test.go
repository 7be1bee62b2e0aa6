package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testfactory"
)

// The management API under /api/v1, as api/openapi.json describes it.

var publicIDPattern = regexp.MustCompile(`^[a-z2-7]{8}$`)

func bearer(key string) string { return "Bearer " + key }

func TestCreateForm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	auth := bearer(b.account.APIKey)
	valid := `{"name":"Support","fields":[
		{"name":"email","type":"email","required":true,"label":"Email"},
		{"name":"topic","type":"select","options":["sales","support"]},
		{"name":"message","type":"textarea","rules":"max=500"}],
		"settings":{"require_idempotency_key":true,"allowed_origins":["https://site.example"]}}`

	tests := []struct {
		name    string
		auth    string
		body    string
		status  int
		typ     string
		detail  string // a substring of the problem's detail
		pointer string // a pointer among the problem's errors
	}{
		{name: "created", auth: auth, body: valid, status: 201},
		{name: "malformed JSON", auth: auth, body: `{"name": nope}`, status: 400, typ: "malformed-request", detail: "byte"},
		{name: "truncated JSON", auth: auth, body: `{"name":"x",`, status: 400, typ: "malformed-request"},
		{name: "empty body", auth: auth, body: ``, status: 400, typ: "malformed-request"},
		{name: "data after the object", auth: auth, body: `{"name":"x"} {"name":"y"}`, status: 400, typ: "malformed-request"},
		{name: "wrong type of a member", auth: auth, body: `{"name":5}`, status: 400, typ: "malformed-request", detail: "name"},
		{name: "wrong type of a nested member", auth: auth, body: `{"name":"x","fields":[{"name":"a","type":"text","required":"yes"}]}`, status: 400, typ: "malformed-request", detail: "required"},
		{name: "unknown member", auth: auth, body: `{"name":"x","colour":"red"}`, status: 400, typ: "malformed-request", detail: "colour"},
		{name: "unknown settings member", auth: auth, body: `{"name":"x","settings":{"redirect":"https://site.example"}}`, status: 400, typ: "malformed-request", detail: "redirect"},
		{name: "invalid rules string", auth: auth, body: `{"name":"x","fields":[{"name":"email","type":"email","rules":"required,notatag"}]}`, status: 422, typ: "validation-error", pointer: "#/fields/0/rules"},
		{name: "rules of the second field", auth: auth, body: `{"name":"x","fields":[{"name":"a","type":"text"},{"name":"b","type":"text","rules":"max="}]}`, status: 422, typ: "validation-error", pointer: "#/fields/1/rules"},
		{name: "unknown field type", auth: auth, body: `{"name":"x","fields":[{"name":"a","type":"colour"}]}`, status: 422, typ: "validation-error", pointer: "#/fields/0/type"},
		{name: "no name", auth: auth, body: `{"fields":[]}`, status: 422, typ: "validation-error", pointer: "#/name"},
		{name: "a space in a field name", auth: auth, body: `{"name":"x","fields":[{"name":"email","type":"email"},{"name":"full name","type":"text"}]}`, status: 422, typ: "validation-error", pointer: "#/fields/1/name"},
		{name: "autoresponse on without words", auth: auth, body: `{"name":"x","settings":{"autoresponse":{"enabled":true}}}`, status: 422, typ: "validation-error", pointer: "#/settings/autoresponse/subject"},
		{name: "autoresponse on without a text", auth: auth, body: `{"name":"x","settings":{"autoresponse":{"enabled":true,"subject":"Thanks"}}}`, status: 422, typ: "validation-error", pointer: "#/settings/autoresponse/body"},
		{name: "retention out of range", auth: auth, body: `{"name":"x","settings":{"idempotency_retention":"1m"}}`, status: 422, typ: "validation-error", pointer: "#/settings/idempotency_retention"},
		{name: "submission retention in hours", auth: auth, body: `{"name":"x","settings":{"submission_retention":"24h"}}`, status: 422, typ: "validation-error", pointer: "#/settings/submission_retention"},
		{name: "submission retention over ten years", auth: auth, body: `{"name":"x","settings":{"submission_retention":"3651d"}}`, status: 422, typ: "validation-error", pointer: "#/settings/submission_retention"},
		{name: "submission retention as a number", auth: auth, body: `{"name":"x","settings":{"submission_retention":30}}`, status: 400, typ: "malformed-request", detail: "submission_retention"},
		{name: "no Authorization", auth: "", body: valid, status: 401, typ: "unauthorized"},
		{name: "unknown key", auth: bearer("intk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), body: valid, status: 401, typ: "unauthorized"},
		{name: "not an API key", auth: bearer("hunter2"), body: valid, status: 401, typ: "unauthorized"},
		{name: "Basic scheme", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+b.account.APIKey)), body: valid, status: 401, typ: "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := hdr("Content-Type", "application/json")
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			r := b.call(t, http.MethodPost, "/api/v1/forms", []byte(tt.body), h)
			if tt.status == 201 {
				checkCreatedForm(t, b, r)
				return
			}
			p := mustProblem(t, r, tt.status, tt.typ)
			if detail, _ := p["detail"].(string); !strings.Contains(detail, tt.detail) {
				t.Errorf("detail %q does not say %q", detail, tt.detail)
			}
			if tt.pointer != "" {
				var pointers []any
				for _, e := range errorsOf(p) {
					pointers = append(pointers, e["pointer"])
				}
				if !strings.Contains(fmt.Sprint(pointers), tt.pointer) {
					t.Errorf("errors point at %v, want %s: %s", pointers, tt.pointer, r.Body)
				}
			}
			if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 with WWW-Authenticate %q, want a Bearer challenge", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Cleanup(func() {
		// Only the "created" row made a form (the setup's form is the other).
		if n := b.count(t, `SELECT count(*) FROM forms`); n != 2 {
			t.Errorf("%d forms exist, want 2", n)
		}
	})
}

func checkCreatedForm(t *testing.T, b *testBundle, r reply) {
	t.Helper()
	if r.Status != http.StatusCreated || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("got %d %s: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	form := decodeObject(t, r.Body)
	id, _ := form["id"].(string)
	if !publicIDPattern.MatchString(id) {
		t.Fatalf("id = %q, want 8 characters of lower-case base32", id)
	}
	if form["name"] != "Support" || form["endpoint"] != b.server.URL+"/f/"+id || form["contract_version"] != float64(1) {
		t.Errorf("name %v, endpoint %v, contract_version %v", form["name"], form["endpoint"], form["contract_version"])
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(form["created_at"])); err != nil {
		t.Errorf("created_at %v: %v", form["created_at"], err)
	}
	fields, _ := form["fields"].([]any)
	if len(fields) != 3 {
		t.Fatalf("fields = %v, want 3", form["fields"])
	}
	f0, _ := fields[0].(map[string]any)
	f1, _ := fields[1].(map[string]any)
	if f0["name"] != "email" || f0["type"] != "email" || f0["required"] != true || fmt.Sprint(f1["options"]) != "[sales support]" {
		t.Errorf("fields = %v", fields)
	}
	settings, _ := form["settings"].(map[string]any)
	for k, want := range map[string]any{
		"require_idempotency_key": true,
		"allowed_origins":         []any{"https://site.example"},
		"idempotency_retention":   "24h",
		"implicit_dedupe_window":  "10m",
		"unknown_fields":          "accept",
		"honeypot_field":          "_gotcha",
		"submission_retention":    "",
	} {
		if fmt.Sprint(settings[k]) != fmt.Sprint(want) {
			t.Errorf("settings.%s = %v, want %v", k, settings[k], want)
		}
	}
	if loc := r.Header.Get("Location"); loc != b.server.URL+"/api/v1/forms/"+id {
		t.Errorf("Location = %q", loc)
	}

	// It is the account's, and its endpoint takes submissions under its settings.
	got := b.apiGet(t, "/api/v1/forms/"+id, b.account.APIKey)
	if got.Status != http.StatusOK || decodeObject(t, got.Body)["id"] != id {
		t.Errorf("GET the new form = %s", got)
	}
	p := mustProblem(t, b.submit(t, id, ctJSON, `{"email":"a@example.com","topic":"sales"}`), 400, "idempotency-key-missing")
	mustFormspree(t, p, "IDEMPOTENCY_KEY_MISSING")
	sub := b.submit(t, id, ctJSON, `{"email":"a@example.com","topic":"sales"}`, "Idempotency-Key", "first")
	if sub.Status != http.StatusCreated {
		t.Errorf("a submission to the new form = %s", sub)
	}
}

// TestManagementRoutes checks every management route by status: the owner
// sees its objects, another account gets 404 (never 403), and bad input,
// a bad key or no key get the matching problem.
func TestManagementRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.account
	other := testfactory.NewAccount(ctx, t, b.db)
	formA := b.form
	formB := testfactory.NewForm(ctx, t, b.db, other.User.AccountID, &testfactory.FormOpts{Name: "Other's"})
	subA := mustAccepted(t, b, formA, b.submit(t, formA.PublicID, ctJSON, `{"email":"a@example.com"}`))["id"].(string)
	subB := mustAccepted(t, b, formB, b.submit(t, formB.PublicID, ctJSON, `{"email":"b@example.com"}`))["id"].(string)

	listHas := func(want, notWant string) func(t *testing.T, body map[string]any) {
		return func(t *testing.T, body map[string]any) {
			t.Helper()
			var ids []string
			data, ok := body["data"].([]any)
			if !ok {
				t.Fatalf(`list without a "data" array: %v`, body)
			}
			for _, d := range data {
				ids = append(ids, fmt.Sprint(d.(map[string]any)["id"]))
			}
			if !strings.Contains(strings.Join(ids, " "), want) || (notWant != "" && strings.Contains(strings.Join(ids, " "), notWant)) {
				t.Errorf("list ids %v, want %s and not %q", ids, want, notWant)
			}
			if _, ok := body["next_cursor"]; !ok {
				t.Errorf(`list without "next_cursor": %v`, body)
			}
		}
	}
	isObject := func(id string) func(t *testing.T, body map[string]any) {
		return func(t *testing.T, body map[string]any) {
			t.Helper()
			if body["id"] != id {
				t.Errorf("id = %v, want %s", body["id"], id)
			}
		}
	}

	const badKey = "intk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tests := []routeCase{
		{"list forms", "/api/v1/forms", bearer(a.APIKey), 200, "", listHas(formA.PublicID, formB.PublicID)},
		{"list forms, other account", "/api/v1/forms", bearer(other.APIKey), 200, "", listHas(formB.PublicID, formA.PublicID)},
		{"list forms, limit=0", "/api/v1/forms?limit=0", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list forms, limit=101", "/api/v1/forms?limit=101", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list forms, bad cursor", "/api/v1/forms?cursor=%21%21", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"get form", "/api/v1/forms/" + formA.PublicID, bearer(a.APIKey), 200, "", isObject(formA.PublicID)},
		{"get form of another account", "/api/v1/forms/" + formB.PublicID, bearer(a.APIKey), 404, "not-found", nil},
		{"get own form as the other account", "/api/v1/forms/" + formA.PublicID, bearer(other.APIKey), 404, "not-found", nil},
		{"get unknown form", "/api/v1/forms/zzzzzzzz", bearer(a.APIKey), 404, "not-found", nil},
		{"get malformed form id", "/api/v1/forms/NOT-AN-ID", bearer(a.APIKey), 404, "not-found", nil},
		{"list submissions", "/api/v1/forms/" + formA.PublicID + "/submissions", bearer(a.APIKey), 200, "", listHas(subA, subB)},
		{"list submissions of another account's form", "/api/v1/forms/" + formB.PublicID + "/submissions", bearer(a.APIKey), 404, "not-found", nil},
		{"list submissions as the other account", "/api/v1/forms/" + formA.PublicID + "/submissions", bearer(other.APIKey), 404, "not-found", nil},
		{"list submissions, limit=0", "/api/v1/forms/" + formA.PublicID + "/submissions?limit=0", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list submissions, limit=101", "/api/v1/forms/" + formA.PublicID + "/submissions?limit=101", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list submissions, limit=-1", "/api/v1/forms/" + formA.PublicID + "/submissions?limit=-1", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list submissions, limit=ten", "/api/v1/forms/" + formA.PublicID + "/submissions?limit=ten", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list submissions, cursor not base64", "/api/v1/forms/" + formA.PublicID + "/submissions?cursor=%21%21%21", bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list submissions, cursor of junk", "/api/v1/forms/" + formA.PublicID + "/submissions?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("nope")), bearer(a.APIKey), 400, "invalid-parameter", nil},
		// Well formed, with a time Postgres refuses (it was a 500) and one
		// past any submission's.
		{"list submissions, cursor before the epoch", "/api/v1/forms/" + formA.PublicID + "/submissions?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("-9223372036854775808.00000000-0000-0000-0000-000000000000")), bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"list submissions, cursor past the year 9999", "/api/v1/forms/" + formA.PublicID + "/submissions?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("9223372036854775807.00000000-0000-0000-0000-000000000000")), bearer(a.APIKey), 400, "invalid-parameter", nil},
		{"get submission", "/api/v1/submissions/" + subA, bearer(a.APIKey), 200, "", isObject(subA)},
		{"get submission of another account", "/api/v1/submissions/" + subB, bearer(a.APIKey), 404, "not-found", nil},
		{"get own submission as the other account", "/api/v1/submissions/" + subA, bearer(other.APIKey), 404, "not-found", nil},
		{"get malformed submission id", "/api/v1/submissions/sub_nope", bearer(a.APIKey), 404, "not-found", nil},
		{"get submission id without prefix", "/api/v1/submissions/" + strings.TrimPrefix(subA, "sub_"), bearer(a.APIKey), 404, "not-found", nil},
		{"get unknown submission", "/api/v1/submissions/sub_" + strings.Repeat("a", 26), bearer(a.APIKey), 404, "not-found", nil},
		{"unknown route", "/api/v1/nothing-here", bearer(a.APIKey), 404, "not-found", nil},
		{"auth scheme is case-insensitive (RFC 9110 §11.1)", "/api/v1/forms/" + formA.PublicID, "bearer " + a.APIKey, 200, "", isObject(formA.PublicID)},
	}
	for _, path := range []string{"/api/v1/forms", "/api/v1/forms/" + formA.PublicID, "/api/v1/forms/" + formA.PublicID + "/submissions", "/api/v1/submissions/" + subA} {
		tests = append(tests,
			routeCase{"no key " + path, path, "", 401, "unauthorized", nil},
			routeCase{"bad key " + path, path, bearer(badKey), 401, "unauthorized", nil},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			r := b.call(t, http.MethodGet, tt.path, nil, h)
			if tt.status >= 400 {
				p := mustProblem(t, r, tt.status, tt.typ)
				if tt.status == 404 && strings.Contains(r.Body, "Other's") {
					t.Errorf("a 404 tells of another account's object: %s", r.Body)
				}
				if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 with WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
				}
				if detail, _ := p["detail"].(string); detail == "" {
					t.Errorf("problem without a detail: %s", r.Body)
				}
				return
			}
			if r.Status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			tt.check(t, decodeObject(t, r.Body))
		})
	}
}

type routeCase struct {
	name   string
	path   string
	auth   string
	status int
	typ    string
	check  func(t *testing.T, body map[string]any)
}

// TestMethodNotAllowed: a 405 is a problem and, as RFC 9110 §15.5.6
// requires, lists the methods the resource has in Allow.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		method, path string
		allow        string // a method Allow must list
	}{
		{http.MethodPost, "/api/v1/forms/" + b.form.PublicID, "GET"},
		{http.MethodPut, "/api/v1/forms", "POST"},
		{http.MethodPut, "/f/" + b.form.PublicID, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			r := b.call(t, tt.method, tt.path, []byte(`{}`), hdr("Authorization", bearer(b.account.APIKey), "Content-Type", "application/json"))
			mustProblem(t, r, http.StatusMethodNotAllowed, "method-not-allowed")
			if !headerListHas(strings.Join(r.Header.Values("Allow"), ","), tt.allow) {
				t.Errorf("405 with Allow %q, want it to list %s", r.Header.Values("Allow"), tt.allow)
			}
		})
	}
}

// postMany posts submissions n from, from+1, … concurrently, each with its
// own key, and returns their ids by n.
func postMany(t *testing.T, b *testBundle, formID string, from, to int) map[int]string {
	t.Helper()
	var (
		mu  sync.Mutex
		ids = map[int]string{}
		wg  sync.WaitGroup
	)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				body := fmt.Sprintf(`{"email":"p%d@example.com","message":"number %d"}`, n, n)
				r, err := b.send(http.MethodPost, "/f/"+formID, []byte(body), hdr("Content-Type", ctJSON, "Idempotency-Key", fmt.Sprintf("page-%d", n)))
				if err != nil || r.Status != http.StatusCreated {
					t.Errorf("submission %d: %v %s", n, err, r)
					continue
				}
				var ok struct{ ID string }
				if err := json.Unmarshal([]byte(r.Body), &ok); err != nil || ok.ID == "" {
					t.Errorf("submission %d: answer %s", n, r.Body)
					continue
				}
				mu.Lock()
				ids[n] = ok.ID
				mu.Unlock()
			}
		}()
	}
	for n := from; n < to; n++ {
		work <- n
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

type page struct {
	ids   []string
	times []time.Time
	next  *string
}

func listPage(t *testing.T, b *testBundle, formID, query string) page {
	t.Helper()
	r := b.apiGet(t, "/api/v1/forms/"+formID+"/submissions"+query, b.account.APIKey)
	if r.Status != http.StatusOK {
		t.Fatalf("GET submissions%s = %s", query, r)
	}
	var body struct {
		Data []struct {
			ID        string    `json:"id"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	raw := decodeObject(t, r.Body)
	if _, ok := raw["next_cursor"]; !ok {
		t.Fatalf(`page without "next_cursor": %.300s`, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	p := page{next: body.NextCursor}
	for _, d := range body.Data {
		p.ids = append(p.ids, d.ID)
		p.times = append(p.times, d.CreatedAt)
	}
	return p
}

func TestListSubmissionsPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	const total = 250
	original := map[string]bool{}
	for _, id := range postMany(t, b, f.PublicID, 0, total) {
		original[id] = true
	}
	if len(original) != total {
		t.Fatalf("%d distinct ids for %d submissions", len(original), total)
	}

	// walk pages from the start, calling between after each page.
	walk := func(t *testing.T, limit int, between func(page int)) (all []string, sizes []int) {
		t.Helper()
		var last time.Time
		query := fmt.Sprintf("?limit=%d", limit)
		for i := 0; ; i++ {
			if i > total {
				t.Fatal("pagination does not end")
			}
			p := listPage(t, b, f.PublicID, query)
			for j, at := range p.times {
				if !last.IsZero() && at.After(last) {
					t.Errorf("page %d item %d: created_at %v after %v: not newest first", i, j, at, last)
				}
				last = at
			}
			all = append(all, p.ids...)
			sizes = append(sizes, len(p.ids))
			if p.next == nil {
				return all, sizes
			}
			if between != nil {
				between(i)
			}
			query = fmt.Sprintf("?limit=%d&cursor=%s", limit, *p.next)
		}
	}
	seenOnce := func(t *testing.T, ids []string) {
		t.Helper()
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
			if seen[id] == 2 {
				t.Errorf("%s listed twice", id)
			}
		}
		for id := range original {
			if seen[id] == 0 {
				t.Errorf("%s never listed", id)
			}
		}
	}

	// The pages are read in order: the arrivals below must come after.
	t.Run("limit 50: an exact multiple ends without an empty page", func(t *testing.T) {
		ids, sizes := walk(t, 50, nil)
		if fmt.Sprint(sizes) != "[50 50 50 50 50]" {
			t.Errorf("page sizes %v, want [50 50 50 50 50]", sizes)
		}
		seenOnce(t, ids)
	})
	t.Run("default limit", func(t *testing.T) {
		p := listPage(t, b, f.PublicID, "")
		if len(p.ids) != 50 || p.next == nil {
			t.Errorf("default page: %d items, next_cursor %v; want 50 and a cursor", len(p.ids), p.next)
		}
	})
	var arrived map[int]string
	t.Run("limit 100 while new submissions arrive", func(t *testing.T) {
		arrived = map[int]string{}
		n := total
		ids, sizes := walk(t, 100, func(int) {
			for k, v := range postMany(t, b, f.PublicID, n, n+5) {
				arrived[k] = v
			}
			n += 5
		})
		if fmt.Sprint(sizes) != "[100 100 50]" {
			t.Errorf("page sizes %v, want [100 100 50]", sizes)
		}
		if len(arrived) != 10 {
			t.Fatalf("%d arrivals, want 10", len(arrived))
		}
		seenOnce(t, ids)
		for _, id := range ids {
			if !original[id] {
				t.Errorf("%s (arrived while paging, newer than the first page) was listed on a later page", id)
			}
		}
	})
	t.Run("newest first from the start", func(t *testing.T) {
		p := listPage(t, b, f.PublicID, "?limit=10")
		for _, id := range p.ids {
			if original[id] {
				t.Errorf("first page of 10 holds %s, older than the 10 arrivals", id)
			}
		}
	})
}
