package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// testInbox: the inbox as a person uses it in Chromium. New submissions
// say so and opening one reads it; the select-all box ticks the page;
// two are starred from the bulk bar and found under Starred; days picked
// in the calendar are the viewer's (Tokyo here); a selection is deleted
// through its confirmation page. On a phone the list, the outbox and the
// webhooks are cards: nothing scrolls sideways and every link is on the
// screen (tb.screenshots).
func testInbox(t *testing.T, tb *tab) {
	a := newApp(t)
	ctx := context.Background()
	f := a.newForm(t, "Inbox")
	var ids []string
	for i, who := range []string{"ada", "grace", "alan"} {
		res := testfactory.Submit(t, a.api.Submissions, f.PublicID, fmt.Sprint("inbox-", i), map[string]any{
			"email": who + "@example.com", "name": strings.ToUpper(who[:1]) + who[1:] + " with a rather long family name",
			"message": "A message long enough to wrap on a phone: " + strings.Repeat(who+" ", 12)})
		ids = append(ids, submissions.FormatID(res.SubmissionID))
	}
	// ada came on 4 January at 20:00 UTC: 5 January in Tokyo.
	if _, err := a.db.Exec(ctx, `UPDATE submissions SET created_at = '2026-01-04T20:00:00Z' WHERE id = $1`, mustParse(t, ids[0])); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if _, err := a.db.Exec(ctx, `INSERT INTO outbound_emails (account_id, kind, message_id, recipient, subject, body_text, state)
VALUES ($1, 'notification', $2, 'a-rather-long-owner-address@example.com', 'New submission to Inbox: ada@example.com', 'Hello', 'outbox')`,
			a.account.User.AccountID, fmt.Sprintf("<inbox-%d@test>", i)); err != nil {
			t.Fatal(err)
		}
	}
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	testfactory.Endpoint(t, a.db, sealer, f, "https://hooks.example.com/a/very/long/path/that/goes/on/and/on/intake-webhook-receiver?token=abcdef0123456789", false)
	tb.do(chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))

	list := "/forms/" + f.PublicID + "/submissions"
	tb.do(chromedp.Navigate(a.url(list)))
	tb.waitPath("/login")
	tb.typeInto("#email", a.account.User.Email)
	tb.typeInto("#password", "correct horse battery")
	tb.submitAndWait(`form[action="/login"] button[type=submit]`)
	tb.waitPath(list)
	if n := evalJS[int](tb, `document.querySelectorAll(".badge-new").length`); n != 3 {
		t.Errorf("%d rows say New, want 3", n)
	}
	tb.screenshots("dash-inbox")

	// Select all, then none; then two by hand, and star them.
	tb.click(`input[data-select-all]`)
	if n := evalJS[int](tb, `document.querySelectorAll('input[name="id"]:checked').length`); n != 3 {
		t.Errorf("select all ticked %d boxes, want 3", n)
	}
	tb.click(`input[data-select-all]`)
	tb.click(`#pick-` + ids[0])
	tb.click(`#pick-` + ids[1])
	if evalJS[bool](tb, `document.querySelector("input[data-select-all]").indeterminate`) != true {
		t.Error("with two of three ticked, select all is not shown as partly ticked")
	}
	tb.submitAndWait(`.bulk-bar button[value="star"]`)
	if flash := tb.text(".flash"); !strings.Contains(flash, "2 submissions starred.") {
		t.Errorf("after starring the flash says %q", flash)
	}
	tb.submitAndWait(`.tabs a[href*="show=starred"]`)
	if rows := submissionRows(tb); len(rows) != 2 || !strings.Contains(strings.Join(rows, " "), "ada@example.com") {
		t.Errorf("the starred list: %q", rows)
	}

	// Opening a submission reads it: the inbox no longer says it is new.
	tb.submitAndWait(`.table-submissions a[href$="` + ids[1] + `"]`)
	tb.waitVisible("main h1")
	tb.do(chromedp.Navigate(a.url(list + "?show=unread")))
	tb.waitVisible(".table-submissions")
	if rows := strings.Join(submissionRows(tb), " "); strings.Contains(rows, "grace@example.com") || !strings.Contains(rows, "alan@example.com") {
		t.Errorf("the unread list after opening grace: %q", rows)
	}

	// Days in the calendar are Tokyo's: 5 January finds ada alone.
	tb.do(chromedp.Navigate(a.url(list)))
	tb.waitVisible(".table-submissions")
	if zone := tb.text("[data-time-zone-name]"); !strings.Contains(zone, "Asia/Tokyo") {
		t.Errorf("the days' legend says %q", zone)
	}
	evalJS[any](tb, `document.querySelector('input[name="from"]').value = "2026-01-05"; document.querySelector('input[name="to"]').value = "2026-01-05"`)
	tb.submitAndWait(`.days-row button[type=submit]`)
	if rows := submissionRows(tb); len(rows) != 1 || !strings.Contains(rows[0], "ada@example.com") {
		t.Errorf("5 January in Tokyo: rows %q, want ada's", rows)
	}
	if tz := evalJS[string](tb, `new URL(location.href).searchParams.get("tz")`); tz != "Asia/Tokyo" {
		t.Errorf("the search sent tz=%q", tz)
	}

	// Delete one through its confirmation.
	tb.do(chromedp.Navigate(a.url(list)))
	tb.waitVisible(".table-submissions")
	tb.click(`#pick-` + ids[2])
	tb.submitAndWait(`.bulk-bar button[value="delete"]`)
	if h := tb.text("main h1"); h != "Delete 1 submission for good?" {
		t.Errorf("the confirmation asks %q", h)
	}
	tb.submitAndWait(`main form button.button-danger`)
	if flash := tb.text(".flash"); !strings.Contains(flash, "1 submission deleted.") {
		t.Errorf("after deleting the flash says %q", flash)
	}
	if n := testfactory.Count(t, a.db, `SELECT count(*) FROM submissions`); n != 2 {
		t.Errorf("%d submissions left, want 2", n)
	}

	// Other lists on a phone.
	for _, page := range []struct{ path, name string }{
		{"/outbox", "dash-outbox"},
		{"/forms/" + f.PublicID + "/webhooks", "dash-webhooks"},
		{"/audit", "dash-audit"},
		{"/forms/" + f.PublicID, "dash-form-fields"},
		{"/forms/" + f.PublicID + "/email", "dash-notification-email"},
		{"/forms/" + f.PublicID + "/look", "dash-look"},
		{list + "/" + ids[0], "dash-submission-marks"},
	} {
		tb.do(chromedp.Navigate(a.url(page.path)))
		tb.waitVisible("main h1")
		tb.screenshots(page.name)
	}
}

// testBranding: a form's colour reaches the hosted form's button in
// Chromium (its stylesheet loads and wins over Intake's), with its logo
// and line under the title; screenshots at both sizes.
func testBranding(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Branded")
	raw := `{"branding":{"color":"#0f766e","intro":"We answer within a day.","logo_url":"` + a.url("/favicon.ico") + `"}}`
	// The logo is Intake's own favicon, over plain http in the test: the
	// check that asks for https is the editor's, not the page's.
	if _, err := a.db.Exec(context.Background(), `UPDATE forms SET settings = settings || $2::jsonb WHERE id = $1`, f.ID, raw); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url("/f/" + f.PublicID)))
	tb.waitVisible(sendButton)
	got := evalJS[map[string]any](tb, `(() => {
		const b = getComputedStyle(document.querySelector(`+jsString(sendButton)+`));
		const logo = document.querySelector(".brand-logo");
		return {bg: b.backgroundColor, color: b.color, intro: document.getElementById("form-intro").textContent,
			logo: logo && logo.complete && logo.naturalWidth > 0};
	})()`)
	if got["bg"] != "rgb(15, 118, 110)" || got["color"] != "rgb(255, 255, 255)" || got["intro"] != "We answer within a day." || got["logo"] != true {
		t.Errorf("the branded hosted form: %v", got)
	}
	tb.screenshots("hosted-form-branded")
}
