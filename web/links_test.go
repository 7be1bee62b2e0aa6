package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/notify"
)

// workers runs Intake's River workers on the bundle's database as serve
// does without SMTP: every email ends in the outbox, links built on the
// dashboard's base URL and opened with its sealer.
func (b *dashBundle) workers(t *testing.T) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	client, err := river.NewClient(riverpgxv5.New(b.db), &river.Config{
		Workers: notify.Workers(notify.Deps{DB: b.db, Sealer: b.sealer, BaseURL: b.url, From: "Intake <no-reply@intake.test>", Logger: logger}),
		Queues:  notify.Queues(), Logger: logger, FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.StopAndCancel(ctx)
	})
}

// settle waits until every job (but the periodic ones) has run.
func (b *dashBundle) settle(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b.count(t, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')
			AND kind NOT IN ('idempotency.sweep', 'quota.check')`) == 0 {
			return
		}
	}
	t.Fatal("jobs did not settle within 20 s")
}

var linkRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+(/(?:verify|reset)\?token=[A-Za-z0-9_-]+)`)

// newestLink returns the path (with its token) of the link in the newest
// email of kind to to, from the outbox table.
func (b *dashBundle) newestLink(t *testing.T, kind, to string) string {
	t.Helper()
	var body string
	err := b.db.QueryRow(context.Background(), `SELECT body_text FROM outbound_emails WHERE kind = $1 AND recipient = $2 ORDER BY id DESC LIMIT 1`,
		kind, to).Scan(&body)
	if err != nil {
		t.Fatalf("no %s email to %s: %v", kind, to, err)
	}
	m := linkRE.FindStringSubmatch(body)
	if m == nil || !strings.HasPrefix(m[0], b.url+"/") {
		t.Fatalf("no link on the base URL %s in:\n%s", b.url, body)
	}
	return m[1]
}

func tokenOf(t *testing.T, path string) string {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// Sign-up: the banner on every page; the verification email in the
// outbox (no SMTP) with its link; before the link is used, a submission
// is stored and no email planned; the link's page asks and spends
// nothing, its POST verifies, once; then submissions notify.
func TestSignUpVerification(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	b.workers(t)
	ctx := context.Background()
	const email = "fresh@example.com"

	br := b.browser(t)
	a := br.follow(t, br.post(t, "/signup", url.Values{"email": {email}, "password": {"a long password"}}))
	wantContains(t, "after sign-up", a.Body, "We sent a link to "+email, `class="notice notice-warn verify-banner"`,
		"Confirm your email address.", `action="/account/verify-email"`)
	for _, path := range []string{"/forms", "/account", "/apikeys", "/forms/new"} {
		wantContains(t, path, br.get(t, path).Body, "verify-banner", "Intake sends no notification or autoresponse emails")
	}
	b.settle(t)
	a = br.get(t, "/outbox")
	wantContains(t, "outbox", a.Body, "Address verification", "Confirm your email address for Intake", email)
	var emailID string
	if err := b.db.QueryRow(ctx, `SELECT id::text FROM outbound_emails WHERE recipient = $1 AND kind = $2 AND state = 'outbox'`,
		email, notify.TemplateVerifyAddress).Scan(&emailID); err != nil {
		t.Fatalf("the verification email is not in the outbox: %v", err)
	}
	link := b.newestLink(t, notify.TemplateVerifyAddress, email)
	wantContains(t, "the email's page", html.UnescapeString(br.get(t, "/outbox/"+emailID).Body), b.url+link)

	// Unverified: the submission is kept, no email planned.
	u, err := accounts.UserByEmail(ctx, b.db, email)
	if err != nil || u.Verified {
		t.Fatalf("the new user: %+v %v, want unverified", u, err)
	}
	// The sign-up is in the new account's log: the new user made both.
	by := fmt.Sprintf(" user by=%d ip=127.0.0.1", u.ID)
	wantTrail(t, b, u.AccountID, "account.create account name"+by, "user.create user email,password"+by)
	form := testfactory.NewForm(ctx, t, b.db, u.AccountID, nil)
	b.submit(t, form, `{"email":"visitor@example.com"}`)
	b.settle(t)
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, form.ID); n != 1 {
		t.Fatalf("%d submissions stored, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE account_id = $1 AND kind <> $2`, u.AccountID, notify.TemplateVerifyAddress); n != 0 {
		t.Errorf("%d emails sent for an unverified owner, want none", n)
	}

	// The link's page (as a mail scanner would fetch it) spends nothing.
	token := tokenOf(t, link)
	for range 2 {
		a = b.browser(t).get(t, link)
		wantStatus(t, "the link's page", a, http.StatusOK)
		wantContains(t, "the link's page", a.Body, `<form method="post" action="/verify">`, `name="token" value="`+token+`"`, "Confirm my address")
	}
	a = br.post(t, "/verify", url.Values{"token": {token}})
	if a.Status != http.StatusSeeOther || a.location() != "/forms" {
		t.Fatalf("verify: %d to %q", a.Status, a.location())
	}
	a = br.follow(t, a)
	wantContains(t, "after verifying", a.Body, "Your email address "+email+" is confirmed")
	wantTrail(t, b, u.AccountID, "user.update user email_verified"+by)
	if strings.Contains(a.Body, "verify-banner") {
		t.Error("the banner stays after verifying")
	}

	// Verified: the next submission notifies the owner.
	sub := b.submit(t, form, `{"email":"visitor@example.com"}`)
	b.settle(t)
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE submission_id = $1 AND kind = 'notification' AND recipient = $2 AND state = 'outbox'`,
		mustParse(t, sub), email); n != 1 {
		t.Errorf("the notification after verifying: %d in the outbox, want 1", n)
	}

	// Used, unknown, or expired: 410 and the way to a new link.
	for name, path := range map[string]string{"used": link, "unknown": "/verify?token=" + strings.Repeat("A", 43), "no token": "/verify"} {
		a = b.browser(t).get(t, path)
		wantStatus(t, name+" link", a, http.StatusGone)
		wantContains(t, name+" link", a.Body, "This link does not work", `href="/login?next=%2Faccount"`)
	}
	a = br.post(t, "/verify", url.Values{"token": {token}})
	wantStatus(t, "a used link's POST", a, http.StatusGone)
}

// The banner's button sends a new link, at most a few an hour; the links
// expire after 24 hours; a link verifies without logging anyone in.
func TestResendVerification(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	b.workers(t)
	const email = "late@example.com"
	br := b.browser(t)
	br.post(t, "/signup", url.Values{"email": {email}, "password": {"a long password"}})
	for i := 1; i < accounts.MaxVerifyEmailsPerHour; i++ {
		a := br.post(t, "/account/verify-email", nil)
		if a.Status != http.StatusSeeOther {
			t.Fatalf("resend %d: %d", i, a.Status)
		}
		wantContains(t, "resend", br.follow(t, a).Body, "We sent a new link to "+email)
	}
	a := br.follow(t, br.post(t, "/account/verify-email", nil))
	wantContains(t, "resend over the limit", a.Body, "no more for now")
	b.settle(t)
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE recipient = $1`, email); n != accounts.MaxVerifyEmailsPerHour {
		t.Errorf("%d verification emails, want %d", n, accounts.MaxVerifyEmailsPerHour)
	}
	link := b.newestLink(t, notify.TemplateVerifyAddress, email)
	if _, err := b.db.Exec(context.Background(), `UPDATE email_tokens SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "an expired link", b.browser(t).get(t, link), http.StatusGone)
	wantStatus(t, "an expired link's POST", br.post(t, "/verify", url.Values{"token": {tokenOf(t, link)}}), http.StatusGone)
	wantContains(t, "still unverified", br.get(t, "/forms").Body, "verify-banner")

	// A fresh link from a logged-out browser: verified, not logged in.
	if _, err := b.db.Exec(context.Background(), `DELETE FROM email_tokens`); err != nil {
		t.Fatal(err)
	}
	br.post(t, "/account/verify-email", nil)
	b.settle(t)
	anon := b.browser(t)
	a = anon.post(t, "/verify", url.Values{"token": {tokenOf(t, b.newestLink(t, notify.TemplateVerifyAddress, email))}})
	if a.Status != http.StatusSeeOther || a.location() != "/login" {
		t.Fatalf("verify logged out: %d to %q", a.Status, a.location())
	}
	wantContains(t, "after verifying logged out", anon.follow(t, a).Body, "is confirmed", "Log in to continue")
	if anon.sessionCookie(t) != nil {
		t.Error("a verification link logged the browser in")
	}
	if strings.Contains(br.get(t, "/forms").Body, "verify-banner") {
		t.Error("the signed-up browser still shows the banner")
	}
}

// /forgot answers a known and an unknown address alike and mails only the
// known; the reset link sets the password once, ends every session,
// verifies the address, expires after an hour; the address and the client
// are limited.
func TestForgotPassword(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	b.dash.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	b.workers(t)
	ctx := context.Background()
	owner := b.acct.User.Email
	wantContains(t, "log-in page", b.browser(t).get(t, "/login").Body, `<a href="/forgot">Forgot your password?</a>`)
	wantContains(t, "forgot page", b.browser(t).get(t, "/forgot").Body, `<form method="post" action="/forgot"`, `name="email"`)

	ask := func(email, ip string) (answer, time.Duration) {
		start := time.Now()
		a := b.browser(t).postWith(t, "/forgot", url.Values{"email": {email}},
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": b.url, "X-Forwarded-For": ip})
		return a, time.Since(start)
	}
	known, tKnown := ask(owner, "192.0.2.10")
	unknown, tUnknown := ask("nobody@example.com", "192.0.2.10")
	wantStatus(t, "known address", known, http.StatusOK)
	wantStatus(t, "unknown address", unknown, http.StatusOK)
	if strings.ReplaceAll(known.Body, owner, "ADDRESS") != strings.ReplaceAll(unknown.Body, "nobody@example.com", "ADDRESS") {
		t.Errorf("the answers differ beyond the address typed:\n%s\n----\n%s", known.Body, unknown.Body)
	}
	if tKnown < 250*time.Millisecond || tUnknown < 250*time.Millisecond {
		t.Errorf("answered in %v and %v, want neither sooner than the 250 ms floor", tKnown, tUnknown)
	}
	wantContains(t, "the answer", known.Body, "If an Intake account uses")
	b.settle(t)
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE kind = $1`, notify.TemplatePasswordReset); n != 1 {
		t.Fatalf("%d reset emails, want 1 (the known address's)", n)
	}
	link := b.newestLink(t, notify.TemplatePasswordReset, owner)

	// The link: a form, not spent by looking; the new password ends every
	// session, sends this browser to log in, and the link works once.
	elsewhere := b.loggedIn(t)
	token := tokenOf(t, link)
	for range 2 {
		a := b.browser(t).get(t, link)
		wantStatus(t, "the reset page", a, http.StatusOK)
		wantContains(t, "the reset page", a.Body, `<form method="post" action="/reset"`, `name="token" value="`+token+`"`)
	}
	br := b.browser(t)
	a := br.post(t, "/reset", url.Values{"token": {token}, "new": {"brand new password"}, "confirm": {"brand new passwort"}})
	wantStatus(t, "passwords differ", a, http.StatusUnprocessableEntity)
	wantContains(t, "passwords differ", a.Body, `id="confirm-error"`)
	a = br.post(t, "/reset", url.Values{"token": {token}, "new": {"brand new password"}, "confirm": {"brand new password"}})
	if a.Status != http.StatusSeeOther || a.location() != "/login" {
		t.Fatalf("reset: %d to %q\n%s", a.Status, a.location(), a.Body)
	}
	wantContains(t, "after the reset", br.follow(t, a).Body, "Your new password is set")
	if a := elsewhere.get(t, "/forms"); a.Status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/login") {
		t.Errorf("a session survived the reset: %d to %q", a.Status, a.location())
	}
	wantStatus(t, "the old password", b.browser(t).post(t, "/login", url.Values{"email": {owner}, "password": {testPassword}}), http.StatusUnauthorized)
	b.browser(t).login(t, owner, "brand new password")
	for name, do := range map[string]func() answer{
		"GET": func() answer { return b.browser(t).get(t, link) },
		"POST": func() answer {
			return br.post(t, "/reset", url.Values{"token": {token}, "new": {"third password"}, "confirm": {"third password"}})
		},
	} {
		a := do()
		wantStatus(t, "a used link's "+name, a, http.StatusGone)
		wantContains(t, "a used link's "+name, a.Body, "This link does not work", `href="/forgot"`)
	}

	// An hour later the link is dead.
	ask(owner, "192.0.2.10")
	b.settle(t)
	late := b.newestLink(t, notify.TemplatePasswordReset, owner)
	if late == link {
		t.Fatal("the second request sent the first link")
	}
	if _, err := b.db.Exec(ctx, `UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "an expired link", b.browser(t).get(t, late), http.StatusGone)

	// At most 3 reset emails an hour to an address, however often asked.
	for range 3 {
		ask(owner, "192.0.2.11")
	}
	b.settle(t)
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE kind = $1`, notify.TemplatePasswordReset); n != accounts.MaxResetEmailsPerHour {
		t.Errorf("%d reset emails to one address, want %d", n, accounts.MaxResetEmailsPerHour)
	}

	// Ten requests an hour from one client address, whatever they ask.
	for i := range 10 {
		if a, _ := ask("someone"+string(rune('a'+i))+"@example.com", "203.0.113.50"); a.Status != http.StatusOK {
			t.Fatalf("request %d from one address: %d", i+1, a.Status)
		}
	}
	a, _ = ask("another@example.com", "203.0.113.50")
	wantStatus(t, "the eleventh request from one address", a, http.StatusTooManyRequests)
	if a.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if a, _ := ask("another@example.com", "203.0.113.51"); a.Status != http.StatusOK {
		t.Errorf("another address: %d", a.Status)
	}
	if a, _ := ask("not an address", "203.0.113.52"); a.Status != http.StatusUnprocessableEntity {
		t.Errorf("a malformed address: %d, want 422", a.Status)
	}
}

// A reset link verifies the address: the person read the mail there.
func TestResetVerifies(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	b.workers(t)
	const email = "unverified@example.com"
	br := b.browser(t)
	br.post(t, "/signup", url.Values{"email": {email}, "password": {"a long password"}})
	b.browser(t).post(t, "/forgot", url.Values{"email": {email}})
	b.settle(t)
	token := tokenOf(t, b.newestLink(t, notify.TemplatePasswordReset, email))
	a := b.browser(t).post(t, "/reset", url.Values{"token": {token}, "new": {"another password"}, "confirm": {"another password"}})
	wantStatus(t, "reset", a, http.StatusSeeOther)
	u, err := accounts.UserByEmail(context.Background(), b.db, email)
	if err != nil || !u.Verified {
		t.Errorf("after a reset: %+v %v, want verified", u, err)
	}
	wantTrail(t, b, u.AccountID, fmt.Sprintf("user.update user email_verified,password user by=%d ip=127.0.0.1", u.ID))
}

// A stranger's failed log-ins, from their address, throttle that address
// only: the owner still logs in from another.
func TestStrangerCannotLockOutOwner(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	b.dash.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	owner := b.acct.User.Email
	from := func(br *browser, ip, password string) answer {
		return br.postWith(t, "/login", url.Values{"email": {owner}, "password": {password}},
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": b.url, "X-Forwarded-For": ip})
	}
	stranger := b.browser(t)
	for i := range 10 {
		wantStatus(t, "a stranger's guess", from(stranger, "203.0.113.66", "guess "+string(rune('a'+i))), http.StatusUnauthorized)
	}
	wantStatus(t, "the stranger's eleventh try", from(stranger, "203.0.113.66", testPassword), http.StatusTooManyRequests)
	if stranger.sessionCookie(t) != nil {
		t.Error("the throttled stranger got a session")
	}
	ownBrowser := b.browser(t)
	a := from(ownBrowser, "198.51.100.20", testPassword)
	if a.Status != http.StatusSeeOther || ownBrowser.sessionCookie(t) == nil {
		t.Fatalf("the owner from another address: %d, want logged in\n%s", a.Status, a.Body)
	}
}
