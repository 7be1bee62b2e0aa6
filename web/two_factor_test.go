package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/internal/testfactory"
)

var (
	secretRe   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryRe = regexp.MustCompile(`<li><code>([a-z2-7-]+)</code></li>`)
)

// totpCode is the TOTP code of secret at now+offset. A code is accepted once
// per 30 s step, so a test that needs two codes takes the next step's for
// the second (the server accepts one step either side).
func totpCode(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a 6-digit code that is none of secret's around now.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		ok := true
		for _, off := range []time.Duration{-60 * time.Second, -30 * time.Second, 0, 30 * time.Second, 60 * time.Second} {
			if totpCode(t, secret, off) == c {
				ok = false
			}
		}
		if ok {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

// enrol turns on two-factor log-in for br's user through the account page
// and returns the secret and the recovery codes. The code it used is of
// the current step: the next log-in must use the next step's.
func (br *browser) enrol(t *testing.T) (string, []string) {
	t.Helper()
	a := br.get(t, "/account/two-factor")
	wantStatus(t, "enrolment page", a, http.StatusOK)
	wantContains(t, "enrolment page", a.Body, `src="data:image/png;base64,`)
	m := secretRe.FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatalf("no secret on the enrolment page:\n%s", a.Body)
	}
	secret := m[1]
	a = br.post(t, "/account/two-factor", url.Values{"code": {totpCode(t, secret, 0)}})
	wantStatus(t, "enrolment", a, http.StatusOK)
	var codes []string
	for _, m := range recoveryRe.FindAllStringSubmatch(a.Body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != accounts.RecoveryCodeCount {
		t.Fatalf("got %d recovery codes, want %d:\n%s", len(codes), accounts.RecoveryCodeCount, a.Body)
	}
	return secret, codes
}

// password logs in with email and the test password and wants to be sent
// to the second step.
func (br *browser) password(t *testing.T, email string) {
	t.Helper()
	a := br.login(t, email, testPassword)
	if !strings.HasPrefix(a.location(), "/login/two-factor") {
		t.Fatalf("after the password: sent to %q, want the second step", a.location())
	}
}

func TestTwoFactorEnrolment(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)

	wantContains(t, "account page", br.get(t, "/account").Body, "Two-factor log-in is <strong>off</strong>")
	// A code before any enrolment was shown: the enrolment, to scan first.
	a := br.post(t, "/account/two-factor", url.Values{"code": {"123456"}})
	wantStatus(t, "a code before enrolling", a, http.StatusUnprocessableEntity)
	wantContains(t, "a code before enrolling", a.Body, "Scan this code first", `id="totp-secret"`)
	a = br.get(t, "/account/two-factor")
	wantStatus(t, "enrolment page", a, http.StatusOK)
	secret := secretRe.FindStringSubmatch(a.Body)[1]
	if again := secretRe.FindStringSubmatch(br.get(t, "/account/two-factor").Body)[1]; again != secret {
		t.Errorf("reloading the enrolment changed the secret: %s then %s", secret, again)
	}
	// The secret is sealed at rest.
	var stored string
	if err := b.db.QueryRow(context.Background(), `SELECT secret FROM two_factor WHERE user_id = $1`, b.acct.User.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, secret) {
		t.Errorf("the TOTP secret is stored in clear: %q", stored)
	}

	// A wrong code turns nothing on.
	a = br.post(t, "/account/two-factor", url.Values{"code": {wrongCode(t, secret)}})
	wantStatus(t, "wrong enrolment code", a, http.StatusUnprocessableEntity)
	wantContains(t, "wrong enrolment code", a.Body, "still off")
	wantContains(t, "account page", br.get(t, "/account").Body, "Two-factor log-in is <strong>off</strong>")
	// Logging in still takes the password alone.
	b.browser(t).login(t, b.acct.User.Email, testPassword)

	a = br.post(t, "/account/two-factor", url.Values{"code": {totpCode(t, secret, 0)}})
	wantStatus(t, "enrolment", a, http.StatusOK)
	if n := len(recoveryRe.FindAllString(a.Body, -1)); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	if n := b.count(t, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, b.acct.User.ID); n != 10 {
		t.Errorf("%d recovery codes stored, want 10", n)
	}
	wantContains(t, "account page", br.get(t, "/account").Body, "Two-factor log-in is <strong>on</strong>", "10 of 10 recovery codes")
	// The enrolment page is done with.
	wantStatus(t, "enrolment page when on", br.get(t, "/account/two-factor"), http.StatusSeeOther)
}

func TestTwoFactorLogIn(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	secret, recovery := b.loggedIn(t).enrol(t)
	email := b.acct.User.Email

	// Half logged in: the password was right, but no page opens.
	half := b.browser(t)
	half.password(t, email)
	for _, path := range []string{"/forms", "/account", "/apikeys", "/forms/" + b.form.PublicID} {
		a := half.get(t, path)
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/login") {
			t.Errorf("GET %s half logged in = %d to %q, want 303 to /login", path, a.Status, a.location())
		}
	}
	wantStatus(t, "a state change half logged in", half.post(t, "/forms/new", url.Values{"name": {"x"}}), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM sessions WHERE user_id = $1`, b.acct.User.ID); n != 1 {
		t.Errorf("%d sessions after the password alone, want 1 (the enrolling browser's)", n)
	}
	a := half.get(t, "/login/two-factor")
	wantStatus(t, "second step", a, http.StatusOK)
	wantContains(t, "second step", a.Body, `name="code"`)
	// Without the challenge cookie, the second step is nobody's.
	wantStatus(t, "second step without the password", b.browser(t).post(t, "/login/two-factor", url.Values{"code": {totpCode(t, secret, 30*time.Second)}}), http.StatusSeeOther)

	a = half.post(t, "/login/two-factor", url.Values{"code": {wrongCode(t, secret)}})
	wantStatus(t, "wrong code", a, http.StatusUnauthorized)
	good := totpCode(t, secret, 30*time.Second)
	a = half.post(t, "/login/two-factor", url.Values{"code": {good}})
	wantStatus(t, "right code", a, http.StatusSeeOther)
	if a.location() != "/forms" {
		t.Errorf("after the code: sent to %q", a.location())
	}
	wantStatus(t, "forms after the code", half.get(t, "/forms"), http.StatusOK)

	// The same code again, within its window: refused.
	replay := b.browser(t)
	replay.password(t, email)
	wantStatus(t, "replayed code", replay.post(t, "/login/two-factor", url.Values{"code": {good}}), http.StatusUnauthorized)

	// A recovery code, typed in capitals with spaces: once.
	typed := strings.ToUpper(strings.ReplaceAll(recovery[3], "-", " "))
	a = replay.post(t, "/login/two-factor", url.Values{"code": {typed}})
	wantStatus(t, "recovery code", a, http.StatusSeeOther)
	wantStatus(t, "forms after a recovery code", replay.get(t, "/forms"), http.StatusOK)
	again := b.browser(t)
	again.password(t, email)
	wantStatus(t, "recovery code again", again.post(t, "/login/two-factor", url.Values{"code": {recovery[3]}}), http.StatusUnauthorized)
	wantContains(t, "account page", half.get(t, "/account").Body, "9 of 10 recovery codes")

	// next survives the second step.
	nb := b.browser(t)
	a = nb.post(t, "/login", url.Values{"email": {email}, "password": {testPassword}, "next": {"/apikeys"}})
	nb.get(t, a.location())
	a = nb.post(t, "/login/two-factor", url.Values{"code": {recovery[4]}, "next": {"/apikeys"}})
	if a.location() != "/apikeys" {
		t.Errorf("after the second step with next: sent to %q", a.location())
	}

	// Turning it off asks the password and a code.
	a = half.post(t, "/account/two-factor/disable", url.Values{"password": {"wrong password"}, "code": {recovery[5]}})
	wantStatus(t, "disable with a wrong password", a, http.StatusUnprocessableEntity)
	a = half.post(t, "/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {wrongCode(t, secret)}})
	wantStatus(t, "disable with a wrong code", a, http.StatusUnprocessableEntity)
	a = half.post(t, "/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {recovery[5]}})
	wantStatus(t, "disable", a, http.StatusSeeOther)
	b.browser(t).login(t, email, testPassword) // the password alone again
	if n := b.count(t, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, b.acct.User.ID); n != 0 {
		t.Errorf("%d recovery codes left after turning off", n)
	}
	// Turning on and off are in the audit log, the refused tries are not.
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE actor_user_id = $1 AND action = 'user.update' AND changed = '{two_factor}'`, b.acct.User.ID); n != 2 {
		t.Errorf("%d audit entries for two-factor changes, want 2 (on, off)", n)
	}
}

func TestTwoFactorThrottled(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	secret, _ := b.loggedIn(t).enrol(t)
	email := b.acct.User.Email
	wrong := wrongCode(t, secret)

	// Wrong codes spend the challenge (back to the password) and count
	// with the password tries: soon even the password step is paused.
	br := b.browser(t)
	var last answer
	for i := 0; i < 20; i++ {
		last = br.post(t, "/login", url.Values{"email": {email}, "password": {testPassword}})
		if last.Status == http.StatusTooManyRequests {
			break
		}
		for j := 0; j < 10; j++ {
			last = br.post(t, "/login/two-factor", url.Values{"code": {wrong}})
			if last.Status != http.StatusUnauthorized {
				break
			}
		}
		if last.Status == http.StatusTooManyRequests {
			break
		}
		if last.Status != http.StatusSeeOther || last.location() != "/login" {
			t.Fatalf("a wrong code after the challenge's last: %d to %q, want 303 to /login", last.Status, last.location())
		}
	}
	wantStatus(t, "wrong codes", last, http.StatusTooManyRequests)
	if last.Header.Get("Retry-After") == "" {
		t.Error("the throttle's answer has no Retry-After")
	}
	// The right code is paused too.
	a := br.post(t, "/login/two-factor", url.Values{"code": {totpCode(t, secret, 30*time.Second)}})
	if a.Status == http.StatusSeeOther && a.location() == "/forms" {
		t.Error("a right code got through the throttle")
	}
}

func TestTwoFactorRequiredByAccount(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	owner := b.loggedIn(t)

	// The owner must have it before requiring it.
	a := owner.post(t, "/account/two-factor/require", url.Values{"require": {"on"}})
	wantStatus(t, "require without 2FA", a, http.StatusUnprocessableEntity)
	owner.enrol(t)
	wantStatus(t, "require", owner.post(t, "/account/two-factor/require", url.Values{"require": {"on"}}), http.StatusSeeOther)

	// A second user of the account, without two-factor log-in, logged in
	// while it was not required: that session ends when it is.
	const email = "member@example.com"
	testfactory.MemberWithPassword(ctx, t, b.db, b.acct.User.AccountID, accounts.RoleMember, email, testPassword)
	wantStatus(t, "un-require", owner.post(t, "/account/two-factor/require", url.Values{"require": {"off"}}), http.StatusSeeOther)
	early := b.browser(t)
	early.login(t, email, testPassword)
	wantStatus(t, "the member before it is required", early.get(t, "/forms"), http.StatusOK)
	wantStatus(t, "require again", owner.post(t, "/account/two-factor/require", url.Values{"require": {"on"}}), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'account.update' AND changed = '{require_two_factor}'`); n != 3 {
		t.Errorf("%d audit entries for requiring two-factor log-in, want 3 (on, off, on)", n)
	}
	wantStatus(t, "the owner's session, with 2FA, after requiring it", owner.get(t, "/forms"), http.StatusOK)
	wantStatus(t, "the member's session after it is required", early.get(t, "/forms"), http.StatusSeeOther)
	member := b.browser(t)
	member.password(t, email)
	// Nothing else opens before the enrolment.
	a = member.get(t, "/forms")
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/login") {
		t.Errorf("GET /forms before enrolling = %d to %q", a.Status, a.location())
	}
	a = member.get(t, "/login/two-factor")
	wantStatus(t, "forced enrolment", a, http.StatusOK)
	wantContains(t, "forced enrolment", a.Body, "requires two-factor log-in", `src="data:image/png;base64,`)
	secret := secretRe.FindStringSubmatch(a.Body)[1]
	wantStatus(t, "forced enrolment, wrong code", member.post(t, "/login/two-factor", url.Values{"code": {wrongCode(t, secret)}}), http.StatusUnauthorized)
	a = member.post(t, "/login/two-factor", url.Values{"code": {totpCode(t, secret, 0)}})
	wantStatus(t, "forced enrolment", a, http.StatusOK)
	if n := len(recoveryRe.FindAllString(a.Body, -1)); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	wantStatus(t, "forms after enrolling", member.get(t, "/forms"), http.StatusOK)

	// Only the owner decides; the member cannot turn theirs off while required.
	wantStatus(t, "member un-requires", member.post(t, "/account/two-factor/require", url.Values{"require": {"off"}}), http.StatusForbidden)
	a = member.post(t, "/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {totpCode(t, secret, 30*time.Second)}})
	wantStatus(t, "member turns off", a, http.StatusUnprocessableEntity)
	wantContains(t, "member turns off", html.UnescapeString(a.Body), "requires two-factor log-in of everyone")

	// And the next log-in asks the member for a code.
	b.browser(t).password(t, email)
}

// New recovery codes: the password or a code from the app (never a
// recovery code) gets ten new ones, shown once; the old ones stop
// working; each replacement is audited without the codes.
func TestTwoFactorNewRecoveryCodes(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	secret, old := br.enrol(t)
	email, userID := b.acct.User.Email, b.acct.User.ID
	const path = "/account/two-factor/recovery-codes"
	unused := func() int {
		return b.count(t, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID)
	}
	wantContains(t, "account page", br.get(t, "/account").Body, `action="`+path+`"`, "New recovery codes")

	for name, tc := range map[string]struct {
		form url.Values
		says string
	}{
		"nothing":          {url.Values{}, "Enter your password or a code from your app"},
		"a wrong password": {url.Values{"password": {"not the password"}}, "The password is wrong: your recovery codes are unchanged"},
		"a wrong code":     {url.Values{"code": {wrongCode(t, secret)}}, "recovery codes do not count here"},
		"a recovery code":  {url.Values{"code": {old[0]}}, "recovery codes do not count here"},
	} {
		a := br.post(t, path, tc.form)
		wantStatus(t, name, a, http.StatusUnprocessableEntity)
		wantContains(t, name, a.Body, tc.says)
		if strings.Contains(a.Body, "<li><code>") {
			t.Errorf("%s: codes shown", name)
		}
	}
	if n := unused(); n != 10 {
		t.Fatalf("%d unused codes after refused requests, want the 10 (a recovery code offered is not spent)", n)
	}

	codesOf := func(a answer) []string {
		t.Helper()
		var codes []string
		for _, m := range recoveryRe.FindAllStringSubmatch(a.Body, -1) {
			codes = append(codes, m[1])
		}
		if len(codes) != accounts.RecoveryCodeCount {
			t.Fatalf("%d codes shown, want %d:\n%s", len(codes), accounts.RecoveryCodeCount, a.Body)
		}
		return codes
	}
	a := br.post(t, path, url.Values{"password": {testPassword}})
	wantStatus(t, "with the password", a, http.StatusOK)
	fresh := codesOf(a)
	for _, c := range fresh {
		for _, o := range old {
			if c == o {
				t.Fatalf("a new code is an old one: %s", c)
			}
		}
	}
	// The old codes log no one in; a new one does.
	other := b.browser(t)
	other.password(t, email)
	wantStatus(t, "an old code", other.post(t, "/login/two-factor", url.Values{"code": {old[1]}}), http.StatusUnauthorized)
	wantStatus(t, "a new code", other.post(t, "/login/two-factor", url.Values{"code": {fresh[0]}}), http.StatusSeeOther)
	if n := unused(); n != 9 {
		t.Errorf("%d unused codes, want 9", n)
	}

	// With a code from the app (the next step's: enrolling used this one).
	a = br.post(t, path, url.Values{"code": {totpCode(t, secret, 30*time.Second)}})
	wantStatus(t, "with a TOTP code", a, http.StatusOK)
	again := codesOf(a)
	if n := unused(); n != 10 {
		t.Errorf("%d unused codes after the second replacement, want 10", n)
	}
	// The same TOTP code twice: refused (a code works once).
	wantStatus(t, "the TOTP code again", br.post(t, path, url.Values{"code": {totpCode(t, secret, 30*time.Second)}}), http.StatusUnprocessableEntity)

	wantTrail(t, b, b.acct.User.AccountID,
		fmt.Sprintf("user.update user recovery_codes user by=%d ip=127.0.0.1", userID),
		fmt.Sprintf("user.update user recovery_codes user by=%d ip=127.0.0.1", userID))
	for _, c := range append(append(old, fresh...), again...) {
		if n := b.count(t, `SELECT count(*) FROM audit_log WHERE audit_log::text LIKE '%' || $1 || '%'`, c[:8]); n != 0 {
			t.Errorf("a recovery code in %d audit entries", n)
		}
	}
}
