package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

// The form's possible duplicates: look-alikes grouped (the same fields; the
// same unique value, for submissions from before the setting too), merged
// into the oldest with one button, hidden from the inbox, and the merge
// undone from the merged submission's page.
func TestDashboardPossibleDuplicates(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	ctx := context.Background()
	f := testfactory.NewForm(ctx, t, b.db, b.acct.User.AccountID, nil)
	older := b.submit(t, f, `{"email":"ada@example.com","message":"hello"}`)
	time.Sleep(2 * time.Millisecond)
	newer := b.submit(t, f, `{"email":"ada@example.com","message":"hello"}`)
	time.Sleep(2 * time.Millisecond)
	other := b.submit(t, f, `{"email":"ADA@example.com","message":"a second thought"}`)
	b.submit(t, f, `{"email":"grace@example.com","message":"hi"}`)
	page := html.UnescapeString(br.get(t, "/forms/"+f.PublicID+"/duplicates").Body)
	wantContains(t, "duplicates page", page, "2 with the same fields", `value="`+older+`"`, `value="`+newer+`"`, "Merge into the oldest")
	if strings.Contains(page, other) {
		t.Errorf("a submission with other fields is grouped before the form takes a unique value")
	}

	// One answer per email from now on: the older look-alike by email shows.
	if _, err := forms.Update(ctx, b.db, forms.NewValidator(), nil, nil, audit.System, b.acct.User.AccountID, f.PublicID,
		forms.Patch{Settings: []byte(`{"unique":{"fields":["email"]}}`)}); err != nil {
		t.Fatal(err)
	}
	page = html.UnescapeString(br.get(t, "/forms/"+f.PublicID+"/duplicates").Body)
	wantContains(t, "duplicates by email", page, "3 with the same Email", `value="`+other+`"`)

	a := br.post(t, "/forms/"+f.PublicID+"/duplicates/merge", url.Values{"id": {older, newer}})
	wantStatus(t, "merge", a, http.StatusSeeOther)
	wantContains(t, "merge flash", html.UnescapeString(br.follow(t, a).Body), "Merged 1 into the submission of")
	inbox := br.get(t, "/forms/"+f.PublicID+"/submissions").Body
	if strings.Contains(inbox, newer) || !strings.Contains(inbox, older) {
		t.Errorf("the inbox shows the merged one or hides the kept one")
	}
	merged := html.UnescapeString(br.get(t, "/forms/"+f.PublicID+"/submissions/"+newer).Body)
	wantContains(t, "the merged one's page", merged, "This submission was merged into", "/submissions/"+older, "Undo the merge")
	a = br.post(t, "/forms/"+f.PublicID+"/submissions/"+newer+"/unmerge", nil)
	wantStatus(t, "undo", a, http.StatusSeeOther)
	if inbox := br.get(t, "/forms/"+f.PublicID+"/submissions").Body; !strings.Contains(inbox, newer) {
		t.Errorf("after the undo the inbox still hides it")
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action IN ('submission.merge', 'submission.unmerge')`); n != 2 {
		t.Errorf("%d audit entries, want 2", n)
	}

	// A big group shows its oldest 20 and says how many there are.
	big := testfactory.NewForm(ctx, t, b.db, b.acct.User.AccountID, nil)
	if _, err := b.db.Exec(ctx, `INSERT INTO submissions (id, form_id, contract_version, data, created_at)
SELECT gen_random_uuid(), $1, 1, '{"email":"bot@example.com","message":"same"}', now() - i * interval '1 second'
FROM generate_series(1, 23) AS i`, big.ID); err != nil {
		t.Fatal(err)
	}
	page = html.UnescapeString(br.get(t, "/forms/"+big.PublicID+"/duplicates").Body)
	wantContains(t, "a big group", page, "23 with the same fields", "The oldest 20 are shown")
	if n := strings.Count(page, `name="id"`); n != 20 {
		t.Errorf("the big group's merge posts %d ids, want 20", n)
	}

	// A post naming another form's submission merges nothing.
	a = br.post(t, "/forms/"+f.PublicID+"/duplicates/merge", url.Values{"id": {b.submit(t, b.form, `{"email":"x@example.com"}`), newer}})
	wantStatus(t, "merge across forms", a, http.StatusNotFound)
}
