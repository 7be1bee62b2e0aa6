package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

// The editor's retention input (days, empty keeps), its errors next to
// it, and what the form's page says the setting means for the form.
func TestDashboardRetention(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	ctx := context.Background()
	editor := url.Values{
		"name": {"Kept"}, "field_count": {"1"}, "f0.name": {"email"}, "f0.type": {"email"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"},
		"captcha.on_outage": {"fail_closed"}, "min_fill_seconds": {"0"},
	}
	for _, bad := range []string{"0", "3651", "thirty", "1.5", "-3", "24h"} {
		v := cloneValues(editor)
		v.Set("submission_retention", bad)
		a := br.post(t, "/forms/new", v)
		wantStatus(t, "retention "+bad, a, http.StatusUnprocessableEntity)
		wantContains(t, "retention "+bad, html.UnescapeString(a.Body), `id="s-submission_retention-error"`, `href="#s-submission_retention"`,
			"Days to keep submissions: write a whole number from 1 to 3650, or leave it empty to keep them until you delete them.", `value="`+bad+`"`, `aria-invalid="true"`)
	}
	if n := b.count(t, `SELECT count(*) FROM forms WHERE name = 'Kept'`); n != 0 {
		t.Fatalf("%d forms stored with a bad retention", n)
	}

	// Empty keeps them; the page says so.
	a := br.post(t, "/forms/new", editor)
	wantStatus(t, "no retention", a, http.StatusSeeOther)
	id := strings.TrimPrefix(a.location(), "/forms/")
	page := html.UnescapeString(br.follow(t, a).Body)
	wantContains(t, "the page without retention", page, "Submissions are kept until you delete them.", "<dt>Submissions kept</dt><dd>until you delete them</dd>")

	// 30 days: saved as "30d", shown as 30 in the editor.
	v := cloneValues(editor)
	v.Set("submission_retention", "30")
	wantStatus(t, "30 days", br.post(t, "/forms/"+id+"/edit", v), http.StatusSeeOther)
	f, err := forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id)
	if err != nil {
		t.Fatal(err)
	}
	if f.Settings.SubmissionRetention != "30d" {
		t.Fatalf("saved submission_retention = %q, want 30d", f.Settings.SubmissionRetention)
	}
	wantContains(t, "the editor", html.UnescapeString(br.get(t, "/forms/"+id+"/edit").Body),
		"Days to keep submissions", `name="submission_retention" value="30"`)

	// The page counts what the next run deletes: those older than 30 days
	// at the next run (03:00 UTC), not those of other forms.
	next := time.Now().UTC().Truncate(time.Hour)
	for next.Hour() != 3 || !next.After(time.Now()) {
		next = next.Add(time.Hour)
	}
	testfactory.BulkSubmissions(ctx, t, b.db, f, 4, next.Add(-31*24*time.Hour))
	testfactory.BulkSubmissions(ctx, t, b.db, f, 3, next.Add(-29*24*time.Hour))
	testfactory.BulkSubmissions(ctx, t, b.db, b.form, 5, next.Add(-400*24*time.Hour))
	page = html.UnescapeString(br.get(t, "/forms/"+id).Body)
	wantContains(t, "the page with retention", page,
		"Submissions older than 30 days are deleted each night (at 03:00 UTC), with their files; 4 will be deleted at the next run.",
		"<dt>Submissions kept</dt><dd>30 days</dd>", `href="/forms/`+id+`/edit#s-submission_retention"`)

	// "30d" as the API writes it is read too; empty clears it.
	v.Set("submission_retention", "7d")
	wantStatus(t, "7d", br.post(t, "/forms/"+id+"/edit", v), http.StatusSeeOther)
	f, _ = forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id)
	if f.Settings.SubmissionRetention != "7d" {
		t.Errorf("saved %q, want 7d", f.Settings.SubmissionRetention)
	}
	v.Set("submission_retention", "")
	wantStatus(t, "cleared", br.post(t, "/forms/"+id+"/edit", v), http.StatusSeeOther)
	f, _ = forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id)
	if f.Settings.SubmissionRetention != "" {
		t.Errorf("cleared to %q, want \"\"", f.Settings.SubmissionRetention)
	}
}
