package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/intakehq/intake/audit"
)

// The dashboard's changes are in the audit log with the session's user and
// address, the password named and never its value; /audit lists them and
// filters by object.
func TestAuditDashboardChanges(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	br := b.loggedIn(t)
	const newPassword = "a much newer password"

	sub := b.submit(t, b.form, `{"email":"ada@example.com"}`)
	wantStatus(t, "mark spam", br.post(t, "/forms/"+b.form.PublicID+"/submissions/"+sub+"/spam", nil), http.StatusSeeOther)
	wantStatus(t, "create key", br.post(t, "/apikeys", url.Values{"name": {"ci"}}), http.StatusSeeOther)
	wantStatus(t, "change password", br.post(t, "/account/password",
		url.Values{"current": {testPassword}, "new": {newPassword}, "confirm": {newPassword}}), http.StatusSeeOther)
	wantStatus(t, "archive", br.post(t, "/forms/"+b.form.PublicID+"/archive", nil), http.StatusSeeOther)

	rows, err := b.db.Query(ctx, `SELECT action, object_id, actor_kind, coalesce(actor_user_id, 0), client_ip, array_to_string(changed, ',')
FROM audit_log WHERE actor_kind <> 'system' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var action, object, kind, ip, changed string
		var userID int64
		if err := rows.Scan(&action, &object, &kind, &userID, &ip, &changed); err != nil {
			t.Fatal(err)
		}
		if kind != "user" || userID != b.acct.User.ID || ip != "127.0.0.1" {
			t.Errorf("%s: actor %s %d from %q, want the user %d from 127.0.0.1", action, kind, userID, ip, b.acct.User.ID)
		}
		got = append(got, action+" "+changed)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := "submission.update spam|api_key.create |user.update password|form.archive archived"
	if strings.Join(got, "|") != want {
		t.Errorf("audit log = %q, want %q", strings.Join(got, "|"), want)
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE audit_log::text LIKE '%' || $1 || '%' OR audit_log::text LIKE '%' || $2 || '%'`,
		newPassword, testPassword); n != 0 {
		t.Errorf("a password in %d audit entries", n)
	}

	page := br.get(t, "/audit")
	wantStatus(t, "audit page", page, http.StatusOK)
	wantContains(t, "audit page", page.Body, `aria-current="page">Audit log`, "form.archive", "user.update", b.acct.User.Email, "127.0.0.1")
	filtered := br.get(t, "/audit?object="+url.QueryEscape(b.form.PublicID))
	wantContains(t, "filtered", filtered.Body, "form.archive", "form.create")
	if strings.Contains(filtered.Body, "user.update") || strings.Contains(filtered.Body, "api_key.create") {
		t.Errorf("the filter showed another object's entries: %s", filtered.Body)
	}
	// Filters no id is like, and broken page links: 400 and a page that
	// says so, listing nothing (never everything, which the filter did not
	// ask for).
	for _, q := range []string{"%00", "%ff", strings.Repeat("x", 500), "x&before=abc", "x&before=-1"} {
		a := br.get(t, "/audit?object="+q)
		wantStatus(t, "audit?object="+q, a, http.StatusBadRequest)
		wantContains(t, "audit?object="+q, a.Body, `class="field-error" id="object-error"`, `href="/audit">Show all`)
		if strings.Contains(a.Body, "form.archive") || strings.Contains(a.Body, "<table>") {
			t.Errorf("audit?object=%s lists entries: %s", q, a.Body)
		}
	}
	// A well-formed id of nothing: an empty list, said so.
	a := br.get(t, "/audit?object=wh_nothing")
	wantStatus(t, "unknown object", a, http.StatusOK)
	wantContains(t, "unknown object", a.Body, "No changes to wh_nothing.")
}

// A change by a user deleted since names them by number, not as nobody;
// a change to many objects shows its count; a recipient's link is said.
func TestAuditPageActors(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	br := b.loggedIn(t)
	acct := b.acct.User.AccountID
	const gone = 987654321 // no such user: deleted
	for _, e := range []audit.Entry{
		{AccountID: acct, Actor: audit.User(gone, "192.0.2.7"), Action: "form.update", ObjectType: "form", ObjectID: b.form.PublicID, Changed: []string{"name"}},
		{AccountID: acct, Actor: audit.System, Action: "submission.delete", ObjectType: "form", ObjectID: b.form.PublicID, Changed: []string{"submission_retention"}, Count: 1234},
		{AccountID: acct, Actor: audit.Link("192.0.2.8"), Action: "form.update", ObjectType: "form", ObjectID: b.form.PublicID, Changed: []string{"notifications"}},
	} {
		if err := audit.Record(ctx, b.db, e); err != nil {
			t.Fatal(err)
		}
	}
	page := br.get(t, "/audit")
	wantStatus(t, "audit page", page, http.StatusOK)
	wantContains(t, "audit page", page.Body, "deleted user #987654321", "<code>submission.delete</code> ×1234",
		"someone following a link Intake mailed", "192.0.2.8")

	// Paged 50 at a time, through the pager every list shares.
	for i := range 50 {
		if err := audit.Record(ctx, b.db, audit.Entry{AccountID: acct, Actor: audit.System, Action: "form.update",
			ObjectType: "form", ObjectID: fmt.Sprintf("pg%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	page = br.get(t, "/audit")
	m := regexp.MustCompile(`<nav class="pager" aria-label="Pages"><a href="(/audit\?before=\d+)">Older →</a>`).FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no pager on a full page:\n%s", page.Body)
	}
	older := br.get(t, m[1])
	wantStatus(t, "older", older, http.StatusOK)
	wantContains(t, "older", older.Body, `<a href="/audit">← Newest</a>`, "deleted user #987654321")
	if strings.Contains(older.Body, "Older →") {
		t.Error("the last page links to an older one")
	}
}

// auditTrail lists the account's entries oldest first as "action
// object_type changed actor_kind", with " by=N" for a user and " ip=A"
// when there is an address.
func auditTrail(t *testing.T, b *dashBundle, accountID int64) []string {
	t.Helper()
	rows, err := b.db.Query(context.Background(), `SELECT action, object_type, array_to_string(changed, ','), actor_kind, coalesce(actor_user_id, 0), client_ip
FROM audit_log WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var action, objectType, changed, kind, ip string
		var userID int64
		if err := rows.Scan(&action, &objectType, &changed, &kind, &userID, &ip); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s %s %s %s", action, objectType, changed, kind)
		if userID != 0 {
			line += fmt.Sprintf(" by=%d", userID)
		}
		if ip != "" {
			line += " ip=" + ip
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantTrail fails unless the account's audit trail ends with want.
func wantTrail(t *testing.T, b *dashBundle, accountID int64, want ...string) {
	t.Helper()
	got := auditTrail(t, b, accountID)
	if len(got) < len(want) || strings.Join(got[len(got)-len(want):], "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail ends:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
