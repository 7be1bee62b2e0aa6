package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// Two look-alike submissions: the newer is merged into the older through
// the API, leaves the list and the exports (merged=true brings it back),
// is named merged_into, and comes back when the merge is undone; both are
// in the audit log. Refusals: into itself, into one merged, a chain, an id
// that is not one. Every exchange is checked against the OpenAPI
// description.
func TestMergeSubmissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form.PublicID
	older := decodeObject(t, b.submit(t, f, ctJSON, `{"email":"ada@example.com","message":"hello"}`).Body)["id"].(string)
	newer := decodeObject(t, b.submit(t, f, ctJSON, `{"email":"ada@example.com","message":"hello"}`).Body)["id"].(string)
	third := decodeObject(t, b.submit(t, f, ctJSON, `{"email":"ada@example.com","message":"hello!"}`).Body)["id"].(string)
	merge := func(id, body string) reply {
		return b.apiCall(t, http.MethodPost, "/api/v1/submissions/"+id+"/merge", body)
	}
	r := merge(newer, `{"into":"`+older+`"}`)
	if r.Status != http.StatusOK || decodeObject(t, r.Body)["merged_into"] != older {
		t.Fatalf("merge = %s", r)
	}
	if r := merge(newer, `{"into":"`+older+`"}`); r.Status != http.StatusOK {
		t.Errorf("the same merge again = %s", r)
	}
	list := b.apiGet(t, "/api/v1/forms/"+f+"/submissions", b.account.APIKey).Body
	if strings.Contains(list, newer) || !strings.Contains(list, older) {
		t.Errorf("the list shows the merged one or hides the kept one: %s", list)
	}
	if all := b.apiGet(t, "/api/v1/forms/"+f+"/submissions?merged=true", b.account.APIKey).Body; !strings.Contains(all, newer) {
		t.Errorf("merged=true leaves the merged one out")
	}
	if csv := b.apiGet(t, "/api/v1/forms/"+f+"/submissions.ndjson", b.account.APIKey).Body; strings.Contains(csv, newer) {
		t.Errorf("the export has the merged one")
	}
	for _, tc := range []struct {
		id, body string
		status   int
		want     string
	}{
		{older, `{"into":"` + older + `"}`, http.StatusUnprocessableEntity, "cannot be merged into itself"},
		{third, `{"into":"` + newer + `"}`, http.StatusConflict, "merge-conflict"},
		{older, `{"into":"` + third + `"}`, http.StatusConflict, "merge-conflict"},
		{third, `{"into":"sub_nope"}`, http.StatusUnprocessableEntity, "into must be a submission id"},
		{third, `{}`, http.StatusUnprocessableEntity, "into is required"},
	} {
		if r := merge(tc.id, tc.body); r.Status != tc.status || !strings.Contains(r.Body, tc.want) {
			t.Errorf("merge %s %s = %s, want %d %q", tc.id, tc.body, r, tc.status, tc.want)
		}
	}
	r = b.apiCall(t, http.MethodDelete, "/api/v1/submissions/"+newer+"/merge", "")
	if r.Status != http.StatusOK || decodeObject(t, r.Body)["merged_into"] != nil {
		t.Fatalf("undo = %s", r)
	}
	if list := b.apiGet(t, "/api/v1/forms/"+f+"/submissions", b.account.APIKey).Body; !strings.Contains(list, newer) {
		t.Errorf("after the undo the list still hides it")
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action IN ('submission.merge', 'submission.unmerge') AND object_id = $1`, newer); n != 2 {
		t.Errorf("%d audit entries for the merge and its undo, want 2", n)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 3 {
		t.Errorf("%d submissions, want 3: a merge deletes nothing", n)
	}
}
