package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
)

// keptMailer keeps what it is given to send.
type keptMailer struct {
	mu   sync.Mutex
	sent []*mail.Message
}

func (m *keptMailer) Send(_ context.Context, msg *mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// confirmationToken works the confirmation job enqueued for to, as the
// email worker would, and returns the token of the link it mailed.
func (b *dashBundle) confirmationToken(t *testing.T, to string) string {
	t.Helper()
	ctx := context.Background()
	var raw []byte
	if err := b.db.QueryRow(ctx, `SELECT args FROM river_job WHERE args->>'template' = $1 AND args->>'to' = $2 ORDER BY id DESC LIMIT 1`,
		notify.TemplateConfirmRecipient, to).Scan(&raw); err != nil {
		t.Fatalf("no confirmation enqueued for %s: %v", to, err)
	}
	var args notify.EmailArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		t.Fatal(err)
	}
	m := &keptMailer{}
	w := &notify.EmailWorker{DB: b.db, Mailer: m, From: "Intake <no-reply@intake.test>", BaseURL: b.url, Links: b.links(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := w.Work(ctx, &river.Job[notify.EmailArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 10}, Args: args}); err != nil {
		t.Fatal(err)
	}
	if len(m.sent) != 1 {
		t.Fatalf("the confirmation job sent %d emails", len(m.sent))
	}
	link := regexp.MustCompile(regexp.QuoteMeta(b.url) + `/confirm\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(m.sent[0].Text)
	if link == nil {
		t.Fatalf("no link in the confirmation:\n%s", m.sent[0].Text)
	}
	return link[1]
}

func (b *dashBundle) recipientState(t *testing.T, email string) string {
	t.Helper()
	var state string
	if err := b.db.QueryRow(context.Background(), `SELECT state FROM notify_recipients WHERE email = $1`, email).Scan(&state); err != nil {
		t.Fatal(err)
	}
	return state
}

// An owner adds a colleague's address in the editor: the form's page
// says "pending confirmation" until the colleague follows the mailed link
// — whose GET only shows a button, and whose POST confirms once. The
// notification's one-click unsubscribe POST comes from the mail provider,
// cross-site and without a CSRF token, and is let through; nothing else
// cross-site is.
func TestDashboardConfirmAndUnsubscribe(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	owner := b.loggedIn(t)
	f := b.form
	editor := url.Values{"name": {f.Name}, "field_count": {"1"}, "f0.name": {"email"}, "f0.type": {"email"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"}}
	save := func(notifyEmails string) {
		t.Helper()
		edit := owner.get(t, "/forms/"+f.PublicID+"/edit")
		if m := regexp.MustCompile(`name="updated_at" value="([^"]+)"`).FindStringSubmatch(edit.Body); m != nil {
			editor.Set("updated_at", m[1])
		}
		editor.Set("notify_emails", notifyEmails)
		wantStatus(t, "save", owner.post(t, "/forms/"+f.PublicID+"/edit", editor), http.StatusSeeOther)
	}
	save("colleague@example.com")
	wantContains(t, "form page", owner.get(t, "/forms/"+f.PublicID).Body, "No address has confirmed yet")
	save("colleague@example.com\n" + b.acct.User.Email)
	page := owner.get(t, "/forms/"+f.PublicID)
	wantContains(t, "form page", page.Body, "colleague@example.com <span class=\"badge badge-warn\">pending confirmation</span>",
		b.acct.User.Email+" <span class=\"badge badge-ok\">confirmed</span>")
	if strings.Contains(page.Body, "No address has confirmed yet") {
		t.Error("the page says no address confirmed, but the owner's own is")
	}
	wantContains(t, "editor", owner.get(t, "/forms/"+f.PublicID+"/edit").Body, "pending confirmation")

	token := b.confirmationToken(t, "colleague@example.com")
	stranger := b.browser(t)
	a := stranger.get(t, "/confirm?token="+token)
	wantStatus(t, "GET /confirm", a, http.StatusOK)
	wantContains(t, "GET /confirm", a.Body, `action="/confirm"`, `name="token" value="`+token+`"`, "colleague@example.com", f.Name)
	if s := b.recipientState(t, "colleague@example.com"); s != notify.RecipientPending {
		t.Fatalf("a GET of the link made the address %s; only the button's POST may confirm", s)
	}
	a = stranger.post(t, "/confirm", url.Values{"token": {token}})
	wantStatus(t, "POST /confirm", a, http.StatusOK)
	wantContains(t, "POST /confirm", a.Body, "Confirmed")
	if s := b.recipientState(t, "colleague@example.com"); s != notify.RecipientConfirmed {
		t.Fatalf("state after confirming = %s", s)
	}
	wantTrail(t, b, b.acct.User.AccountID, "form.update form notifications link ip=127.0.0.1")
	wantStatus(t, "the same link again", stranger.post(t, "/confirm", url.Values{"token": {token}}), http.StatusNotFound)
	wantStatus(t, "an unknown link", stranger.get(t, "/confirm?token=nope"), http.StatusNotFound)
	wantStatus(t, "no token", stranger.post(t, "/confirm", nil), http.StatusBadRequest)
	wantContains(t, "form page", owner.get(t, "/forms/"+f.PublicID).Body,
		"colleague@example.com <span class=\"badge badge-ok\">confirmed</span>")

	// RFC 8058: the provider POSTs "List-Unsubscribe=One-Click" to the
	// link, from another site.
	unsub := b.links().UnsubscribeToken(f.PublicID, "colleague@example.com")
	wantStatus(t, "GET /unsubscribe", stranger.get(t, "/unsubscribe?token="+unsub), http.StatusOK)
	if s := b.recipientState(t, "colleague@example.com"); s != notify.RecipientConfirmed {
		t.Fatalf("a GET of the unsubscribe link made the address %s", s)
	}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://mail.example"}
	a = stranger.postWith(t, "/unsubscribe?token="+url.QueryEscape(unsub), url.Values{"List-Unsubscribe": {"One-Click"}}, crossSite)
	wantStatus(t, "one-click POST /unsubscribe", a, http.StatusOK)
	if s := b.recipientState(t, "colleague@example.com"); s != notify.RecipientUnsubscribed {
		t.Fatalf("state after the one-click POST = %s", s)
	}
	wantContains(t, "form page", owner.get(t, "/forms/"+f.PublicID).Body,
		"colleague@example.com <span class=\"badge badge-muted\">unsubscribed</span>")
	// Recorded once: unsubscribing again changes nothing and records nothing.
	before := len(auditTrail(t, b, b.acct.User.AccountID))
	wantStatus(t, "unsubscribe again", stranger.postWith(t, "/unsubscribe?token="+url.QueryEscape(unsub), nil, crossSite), http.StatusOK)
	if got := auditTrail(t, b, b.acct.User.AccountID); len(got) != before || got[before-1] != "form.update form notifications link ip=127.0.0.1" {
		t.Errorf("audit trail after unsubscribing twice: %q", got)
	}
	// The owner's address with the tag of another's link.
	own, _, _ := strings.Cut(b.links().UnsubscribeToken(f.PublicID, b.acct.User.Email), ".")
	_, tag, _ := strings.Cut(unsub, ".")
	forged := own + "." + tag
	wantStatus(t, "a forged unsubscribe", stranger.postWith(t, "/unsubscribe?token="+url.QueryEscape(forged), nil, crossSite), http.StatusNotFound)
	// The exemption is that one route: a cross-site POST elsewhere is
	// still refused.
	wantStatus(t, "cross-site POST /confirm", stranger.postWith(t, "/confirm", url.Values{"token": {token}}, crossSite), http.StatusForbidden)
	wantStatus(t, "cross-site save", owner.postWith(t, "/forms/"+f.PublicID+"/edit", editor, crossSite), http.StatusForbidden)
}

// The owner's own notifications (a form that lists no one) can be
// unsubscribed from too; the form's page then says so and turns them back
// on.
func TestDashboardOwnerResumesNotifications(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	owner := b.loggedIn(t)
	f := b.form
	token := b.links().UnsubscribeToken(f.PublicID, b.acct.User.Email)
	wantStatus(t, "one-click", b.browser(t).postWith(t, "/unsubscribe?token="+url.QueryEscape(token),
		url.Values{"List-Unsubscribe": {"One-Click"}}, nil), http.StatusOK)
	page := owner.get(t, "/forms/"+f.PublicID)
	wantContains(t, "form page", page.Body, "Notifications go to the account owner.", "You unsubscribed from this form’s notifications",
		`action="/forms/`+f.PublicID+`/notifications/resume"`)
	a := owner.post(t, "/forms/"+f.PublicID+"/notifications/resume", nil)
	wantStatus(t, "resume", a, http.StatusSeeOther)
	wantContains(t, "after resuming", owner.follow(t, a).Body, "are on again")
	if s := b.recipientState(t, strings.ToLower(b.acct.User.Email)); s != notify.RecipientConfirmed {
		t.Errorf("the owner's state after resuming = %s", s)
	}
	wantTrail(t, b, b.acct.User.AccountID, "form.update form notifications link ip=127.0.0.1",
		fmt.Sprintf("form.update form notifications user by=%d ip=127.0.0.1", b.acct.User.ID))
	// Nothing to resume: nothing recorded.
	wantStatus(t, "resume again", owner.post(t, "/forms/"+f.PublicID+"/notifications/resume", nil), http.StatusSeeOther)
	if got := auditTrail(t, b, b.acct.User.AccountID); strings.Count(strings.Join(got, "\n"), "notifications user") != 1 {
		t.Errorf("resuming twice recorded twice: %q", got)
	}
	if strings.Contains(owner.get(t, "/forms/"+f.PublicID).Body, "You unsubscribed") {
		t.Error("the page still says the owner unsubscribed")
	}
}

// An account whose owner has not verified their address mails no one,
// confirmation links included: a stranger who signs up cannot make Intake
// mail the addresses they list. Verifying sends the links held back, and
// the owner's own address, verified now, is confirmed without one.
func TestUnverifiedAccountHoldsConfirmations(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	b.workers(t)
	ctx := context.Background()
	const owner = "stranger@example.com"
	br := b.browser(t)
	br.follow(t, br.post(t, "/signup", url.Values{"email": {owner}, "password": {"a long password"}}))
	u, err := accounts.UserByEmail(ctx, b.db, owner)
	if err != nil || u.Verified {
		t.Fatalf("the new user: %+v %v, want unverified", u, err)
	}
	f := testfactory.NewForm(ctx, t, b.db, u.AccountID, nil)
	victims := []string{"victim1@example.com", "victim2@example.com", "victim3@example.com"}
	editor := url.Values{"name": {f.Name}, "field_count": {"1"}, "f0.name": {"email"}, "f0.type": {"email"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"},
		"notify_emails": {strings.Join(append(victims, owner), "\n")}}
	if m := regexp.MustCompile(`name="updated_at" value="([^"]+)"`).FindStringSubmatch(br.get(t, "/forms/"+f.PublicID+"/edit").Body); m != nil {
		editor.Set("updated_at", m[1])
	}
	wantStatus(t, "save", br.post(t, "/forms/"+f.PublicID+"/edit", editor), http.StatusSeeOther)
	confirmations := func() int {
		return b.count(t, `SELECT count(*) FROM river_job WHERE args->>'template' = $1`, notify.TemplateConfirmRecipient)
	}
	if n := confirmations(); n != 0 {
		t.Fatalf("%d confirmation emails enqueued for an unverified account, want none", n)
	}
	for _, e := range append(victims, owner) {
		if s := b.recipientState(t, e); s != notify.RecipientPending {
			t.Errorf("%s is %s before the owner verified, want pending", e, s)
		}
	}
	b.submit(t, f, `{"email":"visitor@example.com"}`)
	b.settle(t)
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE account_id = $1 AND kind <> $2`, u.AccountID, notify.TemplateVerifyAddress); n != 0 {
		t.Fatalf("%d emails for an unverified account, want none", n)
	}

	link := b.newestLink(t, notify.TemplateVerifyAddress, owner)
	wantStatus(t, "verify", br.post(t, "/verify", url.Values{"token": {tokenOf(t, link)}}), http.StatusSeeOther)
	if n := confirmations(); n != len(victims) {
		t.Errorf("%d confirmation emails after verifying, want %d (one per other address)", n, len(victims))
	}
	for _, e := range victims {
		b.confirmationToken(t, e) // enqueued, and its email carries a link
	}
	if s := b.recipientState(t, owner); s != notify.RecipientConfirmed {
		t.Errorf("the owner's own address is %s after verifying, want confirmed", s)
	}
}
