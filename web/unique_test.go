package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/intakehq/intake/forms"
)

// A newcomer makes an RSVP form that takes one answer per email from the
// editor alone: the setting's inputs, their errors next to them, and what
// the form's page says.
func TestDashboardUniqueSetting(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	ctx := context.Background()
	editor := url.Values{
		"name": {"RSVP"}, "field_count": {"2"}, "f0.name": {"email"}, "f0.type": {"email"}, "f1.name": {"event"}, "f1.type": {"text"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"},
		"captcha.on_outage": {"fail_closed"}, "min_fill_seconds": {"0"},
	}
	for bad, want := range map[string]string{
		"phone":        `Fields that must not repeat: "phone" is not one of the form's fields.`,
		"email, email": `Fields that must not repeat: "email" is listed twice.`,
	} {
		v := cloneValues(editor)
		v.Set("unique.fields", bad)
		a := br.post(t, "/forms/new", v)
		wantStatus(t, "unique "+bad, a, http.StatusUnprocessableEntity)
		wantContains(t, "unique "+bad, html.UnescapeString(a.Body), `id="s-unique-error"`, `href="#s-unique"`, want)
	}
	v := cloneValues(editor)
	v.Set("unique.window", "soon")
	v.Set("unique.fields", "email")
	a := br.post(t, "/forms/new", v)
	wantStatus(t, "unique window soon", a, http.StatusUnprocessableEntity)
	wantContains(t, "unique window soon", html.UnescapeString(a.Body), `How long a value counts must be "" (as long as the submission is kept) or a duration from 1h to`)
	if n := b.count(t, `SELECT count(*) FROM forms WHERE name = 'RSVP'`); n != 0 {
		t.Fatalf("%d forms stored with a bad unique setting", n)
	}

	v = cloneValues(editor)
	v.Set("unique.fields", " email,event ")
	v.Set("unique.window", "30d")
	v.Set("unique.on_duplicate", "reject")
	a = br.post(t, "/forms/new", v)
	wantStatus(t, "one answer per email and event", a, http.StatusSeeOther)
	id := strings.TrimPrefix(a.location(), "/forms/")
	f, err := forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id)
	if err != nil {
		t.Fatal(err)
	}
	if u := f.Settings.Unique; !slices.Equal(u.Fields, []string{"email", "event"}) || u.Window != "30d" || u.OnDuplicate != forms.UniqueReject {
		t.Fatalf("saved unique = %+v", u)
	}
	wantContains(t, "the form's page", html.UnescapeString(br.follow(t, a).Body), "<dt>One answer per</dt><dd>email and event, within 30d (a repeat is refused with 409)</dd>")
	edit := html.UnescapeString(br.get(t, "/forms/"+id+"/edit").Body)
	wantContains(t, "the editor", edit, `name="unique.fields" value="email, event"`, `name="unique.window" value="30d"`,
		`value="reject" checked`, "A change applies to new submissions only")

	// Emptied, it is off.
	v.Set("unique.fields", "")
	wantStatus(t, "off", br.post(t, "/forms/"+id+"/edit", v), http.StatusSeeOther)
	if f, _ = forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id); f.Settings.Unique.On() {
		t.Errorf("unique still on: %+v", f.Settings.Unique)
	}
}
