package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
)

// peopleLines sends GET /api/v1/people?email= with apiKey and returns the
// ids of the NDJSON lines.
func (b *testBundle) peopleLines(t *testing.T, apiKey, email string) []string {
	t.Helper()
	r := b.call(t, "GET", "/api/v1/people?email="+url.QueryEscape(email), nil, hdr("Authorization", bearer(apiKey)))
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("GET people %q = %s (%s)", email, r, r.Header.Get("Content-Type"))
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(r.Body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ids = append(ids, m["id"].(string))
	}
	return ids
}

// The lookup over HTTP: NDJSON lines in the submission's shape, the three
// ways an address is carried, no near miss, case and spaces ignored;
// another account's key finds nothing; bad addresses are 400.
func TestPeopleLookup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	value := b.post(t, b.form.PublicID, `{"email":"Ada@Example.com","message":"hi"}`, "k1")
	word := b.post(t, b.form.PublicID, `{"email":"grace@example.org","message":"my old address was ada@example.com."}`, "k2")
	reply := b.post(t, b.form.PublicID, `{"email":"grace@example.org","_replyto":"ADA@example.com"}`, "k3")
	b.post(t, b.form.PublicID, `{"email":"xada@example.com","message":"ada@example.co"}`, "k4")

	ids := b.peopleLines(t, b.account.APIKey, "  ada@EXAMPLE.com ")
	if strings.Join(ids, ",") != strings.Join([]string{reply, word, value}, ",") {
		t.Errorf("found %v, want newest first %v", ids, []string{reply, word, value})
	}
	// The same line as GET /submissions/{id}.
	r := b.call(t, "GET", "/api/v1/people?email=ada@example.com", nil, hdr("Authorization", bearer(b.account.APIKey)))
	first, _, _ := strings.Cut(r.Body, "\n")
	if got := b.apiGet(t, "/api/v1/submissions/"+reply, b.account.APIKey).Body; strings.TrimSpace(got) != first {
		t.Errorf("a line is not the submission's JSON:\n%s\n%s", first, got)
	}

	intruder := testfactory.NewAccount(context.Background(), t, b.db)
	if ids := b.peopleLines(t, intruder.APIKey, "ada@example.com"); len(ids) != 0 {
		t.Errorf("another account's key found %v", ids)
	}

	for _, q := range []string{"", "?email=", "?email=%20%20", "?email=ada", "?email=ada@example.com&email=bob@example.com",
		"?email=" + strings.Repeat("a", 300) + "@example.com", "?email=ada%00@example.com", "?email=%FF@example.com",
		"?email=ada@example.com%0Abob@example.com"} {
		r := b.call(t, "GET", "/api/v1/people"+q, nil, hdr("Authorization", bearer(b.account.APIKey)))
		mustProblem(t, r, http.StatusBadRequest, "invalid-parameter")
	}
}

// The erasure over HTTP: its counts, the rows gone, the audit log masked,
// a read_only key refused, another account's key erasing nothing, bad
// bodies refused.
func TestPeopleErasure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ada := b.post(t, b.form.PublicID, `{"email":"ada@example.com","message":"hi"}`, "k1")
	keep := b.post(t, b.form.PublicID, `{"email":"grace@example.org"}`, "k2")

	_, readOnly, err := accounts.CreateAPIKey(ctx, b.db, audit.System, b.account.User, "reports", accounts.ScopeReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	r := b.call(t, "POST", "/api/v1/erasures", []byte(`{"email":"ada@example.com"}`), hdr("Authorization", bearer(readOnly), "Content-Type", "application/json"))
	mustProblem(t, r, http.StatusForbidden, "forbidden")
	intruder := testfactory.NewAccount(ctx, t, b.db)
	r = b.call(t, "POST", "/api/v1/erasures", []byte(`{"email":"ada@example.com"}`), hdr("Authorization", bearer(intruder.APIKey), "Content-Type", "application/json"))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"submissions":0`) {
		t.Errorf("another account's erasure = %s", r)
	}
	b.submission(t, ada) // still there

	for body, typ := range map[string]string{
		`{}`:                            "validation-error",
		`{"email":""}`:                  "validation-error",
		`{"email":"not an address"}`:    "validation-error",
		`{"email":["ada@example.com"]}`: "malformed-request",
		`{"mail":"ada@example.com"}`:    "malformed-request",
		`{"email":"ada@example.com"`:    "malformed-request",
	} {
		r := b.apiCall(t, "POST", "/api/v1/erasures", body)
		status := http.StatusBadRequest
		if typ == "validation-error" {
			status = http.StatusUnprocessableEntity
		}
		mustProblem(t, r, status, typ)
	}

	r = b.apiCall(t, "POST", "/api/v1/erasures", `{"email":" ADA@example.com "}`)
	if r.Status != http.StatusOK {
		t.Fatalf("erasure = %s", r)
	}
	var got struct{ Deleted map[string]int }
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Deleted["submissions"] != 1 || got.Deleted["idempotency_keys"] != 1 {
		t.Errorf("erasure counts = %s", r.Body)
	}
	if strings.Contains(strings.ToLower(r.Body), "ada@") {
		t.Errorf("the answer repeats the address: %s", r.Body)
	}
	if r := b.apiGet(t, "/api/v1/submissions/"+ada, b.account.APIKey); r.Status != http.StatusNotFound {
		t.Errorf("the erased submission = %s", r)
	}
	b.submission(t, keep)
	if ids := b.peopleLines(t, b.account.APIKey, "ada@example.com"); len(ids) != 0 {
		t.Errorf("found after the erasure: %v", ids)
	}

	// The audit log: the erasure and the lookups, the address masked.
	log := b.apiGet(t, "/api/v1/audit?object=a***@example.com", b.account.APIKey)
	if !strings.Contains(log.Body, `"person.erase"`) || !strings.Contains(log.Body, `"person.lookup"`) ||
		!strings.Contains(log.Body, `"submissions=1"`) || strings.Contains(log.Body, "ada@") {
		t.Errorf("audit log: %s", log.Body)
	}
}
