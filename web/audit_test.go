package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
	// Hostile filters: a page, never an error.
	for _, q := range []string{"%00", "%ff", strings.Repeat("x", 500)} {
		wantStatus(t, "audit?object="+q, br.get(t, "/audit?object="+q), http.StatusOK)
	}
}
