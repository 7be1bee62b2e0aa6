package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A person's data in the dashboard: find by address (the three ways, no
// near miss), see the count and the links, download the NDJSON, confirm
// the erasure with what it will delete, erase, read the counts; a bad
// address is the form again with what is wrong.
func TestDashboardPersonsData(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	value := b.submit(t, b.form, `{"email":"ada@example.com","message":"hi"}`)
	word := b.submit(t, b.form, `{"email":"grace@example.org","message":"write to Ada@Example.com please"}`)
	reply := b.submit(t, b.form, `{"email":"grace@example.org","_replyto":"ada@example.com"}`)
	near := b.submit(t, b.form, `{"email":"xada@example.com","message":"ada@example.co"}`)

	page := br.get(t, "/account")
	wantContains(t, "account page", page.Body, `href="/account/people"`)
	page = br.get(t, "/account/people")
	wantStatus(t, "people page", page, http.StatusOK)
	wantContains(t, "people page", page.Body, `action="/account/people"`, `name="email"`)

	for _, bad := range []string{"", "ada", "ada@example.com bob@example.com", strings.Repeat("a", 300) + "@example.com"} {
		a := br.post(t, "/account/people", url.Values{"email": {bad}})
		wantStatus(t, "bad address "+bad, a, http.StatusUnprocessableEntity)
		wantContains(t, "bad address", a.Body, `aria-invalid="true"`, "email ")
	}

	found := br.post(t, "/account/people", url.Values{"email": {" ADA@example.com "}})
	wantStatus(t, "find", found, http.StatusOK)
	wantContains(t, "find", found.Body, "3 submissions carry ADA@example.com",
		`href="/forms/`+b.form.PublicID+`/submissions/`+value+`"`, word, reply, `action="/account/people/export"`, `action="/account/people/erase/confirm"`)
	if strings.Contains(found.Body, near) {
		t.Errorf("the near miss %s is listed", near)
	}

	dl := br.post(t, "/account/people/export", url.Values{"email": {"ada@example.com"}})
	wantStatus(t, "download", dl, http.StatusOK)
	if ct := dl.Header.Get("Content-Type"); ct != "application/x-ndjson" || !strings.Contains(dl.Header.Get("Content-Disposition"), ".ndjson") {
		t.Errorf("download: %s, %s", ct, dl.Header.Get("Content-Disposition"))
	}
	if lines := strings.Split(strings.TrimSpace(dl.Body), "\n"); len(lines) != 3 || !strings.Contains(lines[0], `"id":"`+reply+`"`) {
		t.Errorf("download: %q", dl.Body)
	}

	confirm := br.post(t, "/account/people/erase/confirm", url.Values{"email": {"ada@example.com"}})
	wantStatus(t, "confirm", confirm, http.StatusOK)
	wantContains(t, "confirm", confirm.Body, "Erase everything of ada@example.com?", "<li>3 submissions", "idempotency keys", "webhook deliveries",
		`action="/account/people/erase"`, `value="ada@example.com"`)
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 4 {
		t.Errorf("the confirmation deleted something: %d submissions left", n)
	}

	erased := br.post(t, "/account/people/erase", url.Values{"email": {"ada@example.com"}})
	wantStatus(t, "erase", erased, http.StatusSeeOther)
	if erased.location() != "/account/people" {
		t.Errorf("erase redirects to %q", erased.location())
	}
	after := br.follow(t, erased)
	wantContains(t, "after", after.Body, "Erased a***@example.com: 3 submissions")
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 1 {
		t.Errorf("%d submissions left, want the near miss alone", n)
	}
	if a := br.get(t, "/forms/"+b.form.PublicID+"/submissions/"+value); a.Status != http.StatusNotFound {
		t.Errorf("the erased submission's page = %d", a.Status)
	}
	// Recorded as the user, masked: three lookups (the page, the
	// download, the erasure's confirmation, which tells as much) and the
	// erasure.
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE actor_kind = 'user' AND object_id = 'a***@example.com'
	AND action IN ('person.lookup', 'person.erase')`); n != 4 {
		t.Errorf("%d audit entries of the person, want 4", n)
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE audit_log::text ILIKE '%ada@example.com%'`); n != 0 {
		t.Errorf("the address in clear in %d audit entries", n)
	}
}
