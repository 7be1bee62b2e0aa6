package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

// The inbox's marks and bulk actions over HTTP: opening a submission reads
// it; a selection is starred, marked unread, moved to spam and back,
// deleted through a confirmation and exported, each in one step with the
// audit entries the single actions write; hostile selections (another
// account's ids, too many, nonsense, a foreign back address) change
// nothing and say why.
func TestDashboardBulkActions(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form
	list := "/forms/" + f.PublicID + "/submissions"
	ada := b.submit(t, f, `{"email":"ada@example.com","message":"first"}`)
	grace := b.submit(t, f, `{"email":"grace@example.com","message":"second"}`)
	alan := b.submit(t, f, `{"email":"alan@example.com","message":"third"}`)

	// Every new submission is unread; opening one reads it.
	page := br.get(t, list).Body
	if n := strings.Count(page, `class="badge badge-new"`); n != 3 {
		t.Errorf("the inbox shows %d unread, want 3", n)
	}
	wantStatus(t, "open ada", br.get(t, list+"/"+ada), http.StatusOK)
	unread := br.get(t, list+"?show=unread").Body
	if strings.Contains(unread, ada) || !strings.Contains(unread, grace) || !strings.Contains(unread, alan) {
		t.Error("the unread list still shows the opened submission, or lost another")
	}
	wantContains(t, "unread tab", unread, `aria-current="page">Unread`)

	bulk := func(action string, ids ...string) answer {
		t.Helper()
		return br.post(t, list+"/bulk", url.Values{"action": {action}, "id": ids, "back": {list + "?show=starred"}})
	}
	a := bulk("star", ada, grace)
	if a.Status != http.StatusSeeOther || a.location() != list+"?show=starred" {
		t.Fatalf("star: %d to %q", a.Status, a.location())
	}
	starred := br.follow(t, a).Body
	wantContains(t, "after starring", starred, "2 submissions starred.", ada, grace)
	if strings.Contains(starred, alan) {
		t.Error("the starred list shows an unstarred submission")
	}
	wantStatus(t, "mark unread", bulk("unread", ada), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE read_at IS NULL`); n != 3 {
		t.Errorf("%d unread after marking ada unread, want 3", n)
	}
	wantStatus(t, "unstar", bulk("unstar", grace), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE starred`); n != 1 {
		t.Errorf("%d starred, want 1", n)
	}
	// Marks are not audited; spam and deletion are, once per submission.
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE object_type = 'submission'`); n != 0 {
		t.Errorf("marks wrote %d audit entries", n)
	}
	wantStatus(t, "spam", bulk("spam", grace, alan), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE spam`); n != 2 {
		t.Errorf("%d spam, want 2", n)
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'submission.update'`); n != 2 {
		t.Errorf("%d audit entries for two marked spam, want 2", n)
	}
	wantStatus(t, "not spam", bulk("not-spam", alan), http.StatusSeeOther)

	// Delete asks first, on a page that posts the same selection.
	a = bulk("delete", ada, alan)
	wantStatus(t, "delete asks", a, http.StatusOK)
	wantContains(t, "delete asks", a.Body, "Delete 2 submissions for good?", `name="confirm" value="1"`, `name="id" value="`+ada+`"`, `name="id" value="`+alan+`"`)
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 3 {
		t.Fatal("asking deleted something")
	}
	a = br.post(t, list+"/bulk", url.Values{"action": {"delete"}, "confirm": {"1"}, "id": {ada, alan}, "back": {list}})
	if a.Status != http.StatusSeeOther || a.location() != list {
		t.Fatalf("delete: %d to %q", a.Status, a.location())
	}
	wantContains(t, "after delete", br.follow(t, a).Body, "2 submissions deleted.")
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 1 {
		t.Errorf("%d submissions left, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'submission.delete'`); n != 2 {
		t.Errorf("%d delete audit entries, want 2", n)
	}

	// Hostile selections. Another account's submission is not touched,
	// and the flash says so.
	other := testfactory.NewAccount(context.Background(), t, b.db)
	otherForm := testfactory.NewForm(context.Background(), t, b.db, other.User.AccountID, nil)
	theirs := b.submit(t, otherForm, `{"email":"theirs@example.com"}`)
	a = bulk("star", theirs, grace)
	wantContains(t, "another account's id", html.UnescapeString(br.follow(t, a).Body), "1 submission starred.", "1 submission of the selection was not found")
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE starred AND form_id = $1`, otherForm.ID); n != 0 {
		t.Error("a bulk action starred another account's submission")
	}
	a = br.post(t, list+"/bulk", url.Values{"action": {"delete"}, "confirm": {"1"}, "id": {theirs}})
	wantContains(t, "delete another account's", html.UnescapeString(br.follow(t, a).Body), "0 submissions deleted.")
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, otherForm.ID); n != 1 {
		t.Error("a bulk delete reached another account")
	}
	for name, form := range map[string]url.Values{
		"nothing selected": {"action": {"star"}},
		"unknown action":   {"action": {"explode"}, "id": {grace}},
		"not ids":          {"action": {"star"}, "id": {"'; DROP TABLE submissions; --", "sub_zzz"}},
		"too many":         {"action": {"star"}, "id": strings.Fields(strings.Repeat(grace+" ", 501))},
	} {
		a := br.post(t, list+"/bulk", form)
		if a.Status != http.StatusSeeOther || a.location() != list {
			t.Errorf("%s: %d to %q, want a redirect to the list", name, a.Status, a.location())
			continue
		}
		body := html.UnescapeString(br.follow(t, a).Body)
		want := map[string]string{"nothing selected": "Select one or more submissions first", "unknown action": "Choose what to do",
			"not ids": "0 submissions starred", "too many": "one action takes at most 500"}[name]
		wantContains(t, name, body, want)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE starred`); n != 1 {
		t.Errorf("the refused selections changed marks: %d starred", n)
	}
	for _, back := range []string{"https://evil.example/", "//evil.example/x", "/forms/other/submissions", list + "/../../account"} {
		a := br.post(t, list+"/bulk", url.Values{"action": {"read"}, "id": {grace}, "back": {back}})
		if a.location() != list {
			t.Errorf("back=%q leads to %q, want the list", back, a.location())
		}
	}

	// Export of a selection, as a JSON array and as CSV.
	a = br.post(t, list+"/export", url.Values{"format": {"json"}, "id": {grace, theirs}})
	wantStatus(t, "export selected", a, http.StatusOK)
	if a.Header.Get("Content-Type") != "application/json" || !strings.Contains(a.Header.Get("Content-Disposition"), ".json") {
		t.Errorf("JSON export headers %v", a.Header)
	}
	var rows []struct {
		ID   string         `json:"id"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(a.Body), &rows); err != nil || len(rows) != 1 || rows[0].ID != grace || rows[0].Data["email"] != "grace@example.com" {
		t.Errorf("JSON export of grace and another account's: %v %+v\n%s", err, rows, a.Body)
	}
	a = br.post(t, list+"/export", url.Values{"format": {"csv"}, "id": {grace}})
	wantContains(t, "CSV of the selection", a.Body, "id,created_at,spam,", grace, "grace@example.com")
	wantStatus(t, "export in another format", br.post(t, list+"/export", url.Values{"format": {"xml"}, "id": {grace}}), http.StatusSeeOther)

	// The whole list as a JSON array (grace, the one left, is spam): an
	// empty one is still an array.
	a = br.get(t, "/forms/"+f.PublicID+"/submissions.json?spam=false")
	if err := json.Unmarshal([]byte(a.Body), &rows); err != nil || len(rows) != 0 || strings.TrimSpace(a.Body) != "[]" {
		t.Errorf("JSON export of an empty inbox: %v %q", err, a.Body)
	}
	a = br.get(t, "/forms/"+f.PublicID+"/submissions.json?spam=true")
	if err := json.Unmarshal([]byte(a.Body), &rows); err != nil || len(rows) != 1 || rows[0].ID != grace {
		t.Errorf("JSON export of the spam tab: %v %q", err, a.Body)
	}

	// A viewer may export a selection but not change it.
	viewer := testfactory.MemberWithPassword(context.Background(), t, b.db, b.acct.User.AccountID, accounts.RoleViewer, "viewer@example.com", testPassword)
	vb := b.browser(t)
	vb.login(t, viewer.Email, testPassword)
	wantStatus(t, "viewer exports", vb.post(t, list+"/export", url.Values{"format": {"json"}, "id": {grace}}), http.StatusOK)
	wantStatus(t, "viewer stars", vb.post(t, list+"/bulk", url.Values{"action": {"star"}, "id": {grace}}), http.StatusForbidden)
	if body := vb.get(t, list+"?spam=true").Body; strings.Contains(body, `value="delete"`) || !strings.Contains(body, `value="json" formaction=`) {
		t.Error("a viewer's list offers changes, or no export of the selection")
	}
}

// Days: a list shows the submissions received between two days in the
// viewer's time zone, the last day included; a day that is not one, or
// days the wrong way round, are said in words with 422.
func TestDashboardDateFilter(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form
	list := "/forms/" + f.PublicID + "/submissions"
	at := func(id, when string) {
		t.Helper()
		if _, err := b.db.Exec(context.Background(), `UPDATE submissions SET created_at = $2::timestamptz WHERE id = $1`, mustParse(t, id), when); err != nil {
			t.Fatal(err)
		}
	}
	late := b.submit(t, f, `{"email":"late@example.com"}`)
	early := b.submit(t, f, `{"email":"early@example.com"}`)
	at(late, "2026-01-04T20:00:00Z")  // 5 January, 05:00 in Tokyo
	at(early, "2026-01-03T12:00:00Z") // 3 January everywhere near

	for _, tc := range []struct {
		query     string
		want, not []string
	}{
		{"from=2026-01-05&to=2026-01-05&tz=Asia/Tokyo", []string{late}, []string{early}},
		{"from=2026-01-05&to=2026-01-05", nil, []string{late, early}}, // UTC: it came on the 4th
		{"from=2026-01-04&to=2026-01-04", []string{late}, []string{early}},
		{"to=2026-01-03", []string{early}, []string{late}},
		{"from=2026-01-01&q=early", []string{early}, []string{late}},
		{"tz=Not/AZone&from=2026-01-04", []string{late}, []string{early}}, // an unknown zone is UTC
	} {
		a := br.get(t, list+"?"+tc.query)
		wantStatus(t, tc.query, a, http.StatusOK)
		for _, id := range tc.want {
			if !strings.Contains(a.Body, id) {
				t.Errorf("%s: %s missing", tc.query, id)
			}
		}
		for _, id := range tc.not {
			if strings.Contains(a.Body, id) {
				t.Errorf("%s: %s shown", tc.query, id)
			}
		}
	}
	// The export takes the same days.
	a := br.get(t, "/forms/"+f.PublicID+"/submissions.csv?spam=false&from=2026-01-05&to=2026-01-05&tz=Asia/Tokyo")
	if !strings.Contains(a.Body, late) || strings.Contains(a.Body, early) {
		t.Errorf("the export of 5 January in Tokyo:\n%s", a.Body)
	}
	for query, want := range map[string]string{
		"from=2026-02-30":               "The first day “2026-02-30” is not a day Intake can read",
		"to=yesterday":                  "The last day “yesterday” is not a day",
		"from=2026-01-05&to=2026-01-01": "The first day is after the last",
		"from=0001-01-01":               "is not a day Intake can read",
	} {
		a := br.get(t, list+"?"+query)
		wantStatus(t, query, a, http.StatusUnprocessableEntity)
		wantContains(t, query, html.UnescapeString(a.Body), want, `aria-invalid="true"`)
	}
}

// "Send a test submission" on a form's page: one submission with sample
// values, through the public path (its notification email and webhook
// jobs enqueued, its CAPTCHA not asked), marked as a test in the list and
// on its page; a double click (the page's key twice) stores one; sample
// values the form's rules refuse, and an archived form, are said in words
// and store nothing.
func TestDashboardTestSubmission(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	ctx := context.Background()
	f := testfactory.NewForm(ctx, t, b.db, b.acct.User.AccountID, &testfactory.FormOpts{Name: "Guarded",
		Settings: forms.Settings{Captcha: forms.Captcha{Provider: captcha.Turnstile, SiteKey: "0x4AAAAAAAsite", Secret: ptr("0x4AAAAAAA-secret")}}})
	testfactory.Endpoint(t, b.db, b.sealer, f, "https://hooks.example/intake", false)
	page := br.get(t, "/forms/"+f.PublicID).Body
	m := regexp.MustCompile(`name="key" value="([0-9a-f-]{36})"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the form's page has no test button with a key:\n%s", page)
	}
	send := url.Values{"key": {m[1]}}
	a := br.post(t, "/forms/"+f.PublicID+"/test", send)
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/forms/"+f.PublicID+"/submissions/sub_") {
		t.Fatalf("test submission: %d to %q", a.Status, a.location())
	}
	wantContains(t, "the test submission's page", html.UnescapeString(br.follow(t, a).Body), "Test submission sent with sample values",
		"yes: sent from the dashboard with sample values", "ada@example.com")
	again := br.post(t, "/forms/"+f.PublicID+"/test", send)
	if again.location() != a.location() {
		t.Errorf("the same key again leads to %q, want %q", again.location(), a.location())
	}
	wantContains(t, "twice", html.UnescapeString(br.follow(t, again).Body), "was sent already")
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1 AND (meta->>'test')::boolean AND NOT spam`, f.ID); n != 1 {
		t.Errorf("%d test submissions stored, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.deliver'`); n != 1 {
		t.Errorf("%d webhook jobs, want 1", n)
	}
	wantContains(t, "the list", br.get(t, "/forms/"+f.PublicID+"/submissions").Body, `<span class="badge badge-muted">Test</span>`)

	// Rules the sample cannot meet.
	picky := testfactory.NewForm(ctx, t, b.db, b.acct.User.AccountID, &testfactory.FormOpts{Name: "Picky",
		Fields: []forms.Field{{Name: "email", Type: forms.TypeEmail, Required: true}, {Name: "code", Type: forms.TypeText, Required: true, Rules: "len=6", Label: "Code"}}})
	a = br.post(t, "/forms/"+picky.PublicID+"/test", url.Values{"key": {"not-a-uuid"}})
	if a.Status != http.StatusSeeOther || a.location() != "/forms/"+picky.PublicID {
		t.Fatalf("refused sample: %d to %q", a.Status, a.location())
	}
	wantContains(t, "refused sample", html.UnescapeString(br.follow(t, a).Body), "No test submission was sent: the sample values do not meet the form’s rules (", "Code", "hosted page")
	// Archived.
	wantStatus(t, "archive", br.post(t, "/forms/"+picky.PublicID+"/archive", nil), http.StatusSeeOther)
	a = br.post(t, "/forms/"+picky.PublicID+"/test", nil)
	wantContains(t, "archived", html.UnescapeString(br.follow(t, a).Body), "No test submission was sent")
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, picky.ID); n != 0 {
		t.Errorf("%d submissions stored for the refused tests", n)
	}
}

// The notification email page: the saved wording and its preview with the
// latest submission's values; a preview of unsaved wording changes
// nothing; a placeholder that names no field is said next to its input
// (422) and nothing is saved; a save changes the form's settings, audited
// as form.update.
func TestDashboardNotificationEmail(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form
	page := "/forms/" + f.PublicID + "/email"
	a := br.get(t, page)
	wantStatus(t, "page", a, http.StatusOK)
	wantContains(t, "page before any submission", html.UnescapeString(a.Body), "made-up values", "New submission to Contact", "{{email}}", "{{_form}}")
	b.submit(t, f, `{"email":"grace@example.com","message":"Please call"}`)

	a = br.post(t, page, url.Values{"op": {"preview"}, "subject": {"Lead: {{email}}"}, "body": {"They wrote: {{message}}"}})
	wantStatus(t, "preview", a, http.StatusOK)
	wantContains(t, "preview", html.UnescapeString(a.Body), "the values of your latest submission", `<dd id="preview-subject">Lead: grace@example.com</dd>`,
		"They wrote: Please call", "not saved yet")
	if n := b.count(t, `SELECT count(*) FROM forms WHERE id = $1 AND settings->'notification_email'->>'subject' <> ''`, f.ID); n != 0 {
		t.Error("a preview saved the wording")
	}

	a = br.post(t, page, url.Values{"op": {"save"}, "subject": {"Lead: {{emial}}"}, "body": {""}})
	wantStatus(t, "a typo", a, http.StatusUnprocessableEntity)
	wantContains(t, "a typo", html.UnescapeString(a.Body), "uses {{emial}}, which is not a field of this form", `id="ne-subject-error"`, `aria-invalid="true"`, `value="Lead: {{emial}}"`)

	a = br.post(t, page, url.Values{"op": {"save"}, "subject": {"Lead: {{email}}"}, "body": {"They wrote:\r\n{{message}}"}})
	if a.Status != http.StatusSeeOther || a.location() != page {
		t.Fatalf("save: %d to %q", a.Status, a.location())
	}
	wantContains(t, "after saving", html.UnescapeString(br.follow(t, a).Body), "Saved", `value="Lead: {{email}}"`, "They wrote:\nPlease call")
	if n := b.count(t, `SELECT count(*) FROM forms WHERE id = $1 AND settings->'notification_email' = '{"subject":"Lead: {{email}}","body":"They wrote:\n{{message}}"}'::jsonb`, f.ID); n != 1 {
		t.Error("the wording was not saved as typed")
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'form.update' AND 'settings.notification_email' = ANY(changed)`); n != 1 {
		t.Errorf("%d form.update entries naming the notification email", n)
	}
}

// The look of the hosted pages: saved from its page (bad values each said
// next to their input, 422, nothing saved), then the hosted form, its
// thank-you page and its 422 page carry the logo, the words and the
// colour's stylesheet, which answers the colour as CSS.
func TestDashboardBranding(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form
	page := "/forms/" + f.PublicID + "/look"
	wantStatus(t, "page", br.get(t, page), http.StatusOK)
	if body := br.get(t, "/f/"+f.PublicID).Body; strings.Contains(body, "style.css") || strings.Contains(body, "brand-logo") {
		t.Error("a form without branding links a stylesheet or a logo")
	}

	a := br.post(t, page, url.Values{"logo_url": {"javascript:alert(1)"}, "color": {"red"}, "intro": {"Hi"}, "thank_you": {strings.Repeat("x", 1001)}})
	wantStatus(t, "bad values", a, http.StatusUnprocessableEntity)
	wantContains(t, "bad values", html.UnescapeString(a.Body), "The logo must be an https address", "The colour must be written as #",
		"The thank-you message is longer than 1000 characters", `id="b-color-error"`, `value="red"`)
	if n := b.count(t, `SELECT count(*) FROM forms WHERE id = $1 AND settings->'branding'->>'intro' = 'Hi'`, f.ID); n != 0 {
		t.Error("refused branding was saved")
	}

	a = br.post(t, page, url.Values{"logo_url": {"https://cdn.example.com/logo.png"}, "color": {"#0F766E"},
		"intro": {"We answer within a day."}, "thank_you": {"Thanks, <b>we</b> will call you."}})
	if a.Status != http.StatusSeeOther || a.location() != page {
		t.Fatalf("save: %d to %q", a.Status, a.location())
	}
	hosted := br.get(t, "/f/"+f.PublicID).Body
	wantContains(t, "the hosted form", hosted, `<img class="brand-logo" src="https://cdn.example.com/logo.png" alt="">`,
		`<p class="lead prewrap" id="form-intro">We answer within a day.</p>`, `<link rel="stylesheet" href="/f/`+f.PublicID+`/style.css?v=0f766e">`)
	thanks := br.get(t, "/f/"+f.PublicID+"/thanks").Body
	wantContains(t, "the thank-you page", thanks, `id="thank-you">Thanks, &lt;b&gt;we&lt;/b&gt; will call you.</p>`, "brand-logo", "style.css?v=0f766e")
	req, _ := http.NewRequest("POST", b.url+"/f/"+f.PublicID, strings.NewReader("email=not-an-address"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	a = br.do(t, req)
	wantStatus(t, "the 422 page", a, http.StatusUnprocessableEntity)
	wantContains(t, "the 422 page", a.Body, "brand-logo", "style.css?v=0f766e")

	a = br.get(t, "/f/"+f.PublicID+"/style.css?v=0f766e")
	wantStatus(t, "stylesheet", a, http.StatusOK)
	if a.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(a.Body, "--accent: #0f766e;") {
		t.Errorf("stylesheet %v:\n%s", a.Header, a.Body)
	}
	wantStatus(t, "stylesheet of no form", br.get(t, "/f/nosuchform/style.css"), http.StatusNotFound)
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'form.update' AND 'settings.branding' = ANY(changed)`); n != 1 {
		t.Errorf("%d form.update entries naming the branding", n)
	}
}
