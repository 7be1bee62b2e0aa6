package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intakehq/intake/accounts"
)

// testMembers: the owner invites a viewer from the members page; the
// invitee opens the link in a browser of their own, chooses a password
// and is in, seeing the account as a viewer (no "New form", 403 for
// /forms/new); the owner removes them from the dialog; the viewer's next
// page no longer shows the account.
func testMembers(t *testing.T, tb *tab) {
	a := newApp(t)
	ctx := context.Background()
	owner := a.account.User
	f := a.newForm(t, "Team form")

	tb.do(chromedp.Navigate(a.url("/login")))
	tb.typeInto("#email", owner.Email)
	tb.typeInto("#password", "correct horse battery")
	tb.submitAndWait(`form[action="/login"] button[type=submit]`)
	tb.do(chromedp.Navigate(a.url("/account/members")))
	tb.typeInto("#invite-email", "viewer-to-be@example.com")
	evalJS[any](tb, `document.getElementById("invite-role").value = "viewer"`)
	tb.screenshots("dash-members")
	tb.submitAndWait(`form[action="/account/members/invite"] button[type=submit]`)
	if flash := tb.text(".flash"); !strings.Contains(flash, "Invitation sent to viewer-to-be@example.com as viewer") {
		t.Fatalf("after inviting the flash says %q", flash)
	}
	// The app's dashboard has no sealer: the job holds the token as the
	// email will carry it.
	var token string
	if err := a.db.QueryRow(ctx, `SELECT args->>'token' FROM river_job WHERE args->>'template' = 'member_invite'`).Scan(&token); err != nil {
		t.Fatal(err)
	}

	// The invitee, in a browser context of their own.
	guest := newTab(t, tb.browserCtx)
	guest.do(chromedp.Navigate(a.url("/invites/" + token)))
	if lead := guest.text(".lead"); !strings.Contains(lead, owner.Email) || !strings.Contains(lead, "viewer") {
		t.Errorf("the invitation says %q", lead)
	}
	guest.screenshots("dash-invite")
	guest.typeInto("#password", "a good long password")
	guest.typeInto("#confirm", "a good long password")
	guest.submitAndWait(`form[action^="/invites/"] button[type=submit]`)
	guest.waitPath("/forms")
	guest.screenshots("dash-member-forms")
	if body := guest.text("main"); !strings.Contains(body, f.Name) || strings.Contains(body, "New form") {
		t.Errorf("the viewer's forms page: %q", body)
	}
	guest.do(chromedp.Navigate(a.url("/forms/new")))
	if body := guest.text("main"); !strings.Contains(body, "Your role in") || !strings.Contains(body, "viewer") {
		t.Errorf("a viewer's /forms/new says %q", body)
	}

	// The owner removes them, from the dialog.
	var id int64
	if err := a.db.QueryRow(ctx, `SELECT id FROM users WHERE email = 'viewer-to-be@example.com'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url("/account/members")))
	tb.click(`a[href$="/remove"]`)
	tb.waitVisible("dialog.confirm-dialog")
	tb.submitAndWait(`dialog.confirm-dialog button[type=submit]`)
	if flash := tb.text(".flash"); !strings.Contains(flash, "was removed") {
		t.Errorf("after removing the flash says %q", flash)
	}
	guest.do(chromedp.Navigate(a.url("/forms")))
	if body := guest.text("main"); !strings.Contains(body, "You are in no account") || strings.Contains(body, f.Name) {
		t.Errorf("the removed member's next page: %q", body)
	}
	if r, err := accounts.MembershipsOf(ctx, a.db, id); err != nil || len(r) != 0 {
		t.Errorf("the removed member is in %v, %v", r, err)
	}
}
