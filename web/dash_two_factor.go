package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
)

// challengeCookie holds the token of the half-logged-in state between a
// right password and the second step (accounts.BeginSecondStep). It is
// not a session: no page but /login/two-factor reads it.
const challengeCookie = "intake_2fa"

// twoFactorView is the data of the two-factor pages: the second step of a
// log-in, an enrolment (during log-in or from the account page), and the
// recovery codes shown once.
type twoFactorView struct {
	base
	Mode   string // "code": ask for a code; "enrol": show the QR code and confirm; "codes": the recovery codes
	Action string // where the form posts
	Next   string // a local path to go to after log-in
	Secret string // enrol: the secret, to type in by hand
	// QRCode is the enrolment's QR code, a data: URL made here (never
	// from input), so it may stand in an img's src.
	QRCode      template.URL
	Error       string   // why the last code was refused
	Codes       []string // codes: the recovery codes
	ContinueURL string   // codes: where to go next
}

// afterPassword is what a right password leads to: the session, or, for
// a user with two-factor log-in (or who must enrol in it), the second
// step, bound to this password step by a short-lived challenge. The
// throttle forgets the failures of u from ip only once the log-in is
// complete: a right password followed by wrong codes keeps counting, so
// whoever holds the password alone gets a few guesses at the code, not a
// few per password typed.
func (d *Dashboard) afterPassword(w http.ResponseWriter, r *http.Request, u *accounts.User, ip string) {
	purpose, token, err := accounts.BeginSecondStep(r.Context(), d.DB, u)
	if err != nil {
		d.error(w, r, err)
		return
	}
	if purpose == "" {
		d.throttle.succeeded(u.Email, ip)
		if err := d.startSession(w, r, u); err != nil {
			d.error(w, r, err)
			return
		}
		http.Redirect(w, r, nextOr(r, landing(user(r))), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: challengeCookie, Value: token, Path: "/login/two-factor", MaxAge: int((15 * time.Minute).Seconds()),
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode,
	})
	target := "/login/two-factor"
	if next := nextOr(r, ""); next != "" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// challenge returns the request's live login challenge and its token, or
// sends the visitor back to the password (and returns nil).
func (d *Dashboard) challenge(w http.ResponseWriter, r *http.Request) (*accounts.Challenge, string) {
	var token string
	if c, err := r.Cookie(challengeCookie); err == nil {
		token = c.Value
	}
	c, err := accounts.ChallengeFor(r.Context(), d.DB, token)
	if errors.Is(err, accounts.ErrNoChallenge) {
		d.clearChallenge(w)
		d.redirect(w, r, "/login", flash{Kind: flashError, Message: "Log in with your password first. The step that asks for a code lasts a few minutes."})
		return nil, ""
	}
	if err != nil {
		d.error(w, r, err)
		return nil, ""
	}
	return c, token
}

func (d *Dashboard) clearChallenge(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: "", Path: "/login/two-factor", MaxAge: -1, HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
}

func (d *Dashboard) secondStepPage(w http.ResponseWriter, r *http.Request) {
	c, _ := d.challenge(w, r)
	if c == nil {
		return
	}
	d.renderSecondStep(w, r, http.StatusOK, c, "")
}

// renderSecondStep shows the code form, or, for a user who must enrol,
// the enrolment.
func (d *Dashboard) renderSecondStep(w http.ResponseWriter, r *http.Request, status int, c *accounts.Challenge, problem string) {
	v := twoFactorView{Mode: "code", Action: "/login/two-factor", Next: nextOr(r, ""), Error: problem}
	title := "Two-factor log-in"
	if c.Purpose == accounts.ChallengeEnrol {
		e, err := accounts.StartEnrolment(r.Context(), d.DB, d.Sealer, c.User)
		if err != nil {
			d.error(w, r, err)
			return
		}
		v.Mode, v.Secret, v.QRCode = "enrol", e.Secret, template.URL(e.QRCode)
		title = "Set up two-factor log-in"
	}
	v.base = d.base(w, r, title, "")
	renderPage(d, w, r, status, tmplTwoFactor, v)
}

// secondStep checks the code of the second step (or confirms the
// enrolment a required two-factor log-in asks for) and starts the
// session. Wrong codes count against the same throttle as wrong
// passwords, and against the challenge itself.
func (d *Dashboard) secondStep(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	c, token := d.challenge(w, r)
	if c == nil {
		return
	}
	ip := d.clientIP(r)
	if wait := d.throttle.attempt(c.User.Email, ip, time.Now()); wait > 0 {
		d.tooManyAttempts(w, r, wait)
		return
	}
	code := r.PostFormValue("code")
	var codes []string
	var err error
	u := c.User
	if c.Purpose == accounts.ChallengeEnrol {
		codes, err = accounts.ConfirmEnrolment(r.Context(), d.DB, d.Sealer, audit.User(u.ID, ip), u, code)
		if err == nil {
			err = accounts.EndChallenge(r.Context(), d.DB, token)
		}
	} else {
		u, err = accounts.AnswerChallenge(r.Context(), d.DB, d.Sealer, token, code)
	}
	switch {
	case errors.Is(err, accounts.ErrBadCode):
		d.renderSecondStep(w, r, http.StatusUnauthorized, c, "That code is wrong, expired or already used. Enter the current code from your app, or an unused recovery code.")
		return
	case errors.Is(err, accounts.ErrNoChallenge):
		d.clearChallenge(w)
		d.redirect(w, r, "/login", flash{Kind: flashError, Message: "Too many wrong codes, or too long: log in with your password again."})
		return
	case err != nil:
		d.error(w, r, err)
		return
	}
	d.throttle.succeeded(u.Email, ip)
	d.clearChallenge(w)
	if err := d.startSession(w, r, u); err != nil {
		d.error(w, r, err)
		return
	}
	if codes != nil {
		d.renderRecoveryCodes(w, r, codes, nextOr(r, landing(user(r))))
		return
	}
	http.Redirect(w, r, nextOr(r, landing(user(r))), http.StatusSeeOther)
}

func (d *Dashboard) renderRecoveryCodes(w http.ResponseWriter, r *http.Request, codes []string, next string) {
	renderPage(d, w, r, http.StatusOK, tmplTwoFactor, twoFactorView{
		base: d.base(w, r, "Your recovery codes", "account", crumb{Label: "Account", URL: "/account"}, crumb{Label: "Recovery codes"}),
		Mode: "codes", Codes: codes, ContinueURL: next,
	})
}

// sessionUser is the logged-in user as accounts.User.
func sessionUser(r *http.Request) *accounts.User { return user(r).User() }

// enrolPage shows the QR code and secret of the user's pending enrolment.
func (d *Dashboard) enrolPage(w http.ResponseWriter, r *http.Request) {
	d.renderEnrol(w, r, http.StatusOK, "")
}

func (d *Dashboard) renderEnrol(w http.ResponseWriter, r *http.Request, status int, problem string) {
	e, err := accounts.StartEnrolment(r.Context(), d.DB, d.Sealer, sessionUser(r))
	if errors.Is(err, accounts.ErrTwoFactorOn) {
		d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "Two-factor log-in is already on."})
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	renderPage(d, w, r, status, tmplTwoFactor, twoFactorView{
		base: d.base(w, r, "Set up two-factor log-in", "account", crumb{Label: "Account", URL: "/account"}, crumb{Label: "Two-factor log-in"}),
		Mode: "enrol", Action: "/account/two-factor", Secret: e.Secret, QRCode: template.URL(e.QRCode), Error: problem,
	})
}

// enrol turns two-factor log-in on once the code from the app proves it
// holds the secret, and shows the recovery codes, this once.
func (d *Dashboard) enrol(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	u := sessionUser(r)
	ip := d.clientIP(r)
	if wait := d.throttle.attempt(u.Email, ip, time.Now()); wait > 0 {
		d.tooManyAttempts(w, r, wait)
		return
	}
	codes, err := accounts.ConfirmEnrolment(r.Context(), d.DB, d.Sealer, d.actor(r), u, r.PostFormValue("code"))
	switch {
	case errors.Is(err, accounts.ErrBadCode):
		d.renderEnrol(w, r, http.StatusUnprocessableEntity, "That code is wrong or expired: two-factor log-in is still off. Enter the code your app shows now.")
		return
	case errors.Is(err, accounts.ErrTwoFactorOn):
		d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "Two-factor log-in is already on."})
		return
	case errors.Is(err, accounts.ErrTwoFactorOff):
		// No enrolment was started (the page was never shown): show one.
		d.renderEnrol(w, r, http.StatusUnprocessableEntity, "Scan this code first, then enter the code your app shows.")
		return
	case err != nil:
		d.error(w, r, err)
		return
	}
	d.throttle.succeeded(u.Email, ip)
	d.renderRecoveryCodes(w, r, codes, "/account")
}

// disableTwoFactor turns two-factor log-in off after the password and a
// code.
func (d *Dashboard) disableTwoFactor(w http.ResponseWriter, r *http.Request) {
	answered, err := d.reauthenticated(w, r, reproof{
		unchanged: "two-factor log-in is still on.",
		badCode:   "That code is wrong, expired or already used",
	}, func(u *accounts.User, password, code string) error {
		return accounts.DisableTwoFactor(r.Context(), d.DB, d.Sealer, d.actor(r), u, password, code)
	})
	switch {
	case answered:
	case errors.Is(err, accounts.ErrTwoFactorRequired):
		d.renderAccount(w, r, http.StatusUnprocessableEntity, accountView{TwoFactorError: "Your account requires two-factor log-in of everyone, so it stays on."})
	case errors.Is(err, accounts.ErrTwoFactorOff):
		d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "Two-factor log-in is off."})
	case err != nil:
		d.error(w, r, err)
	default:
		d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "Two-factor log-in is off. Your recovery codes no longer work."})
	}
}

// newRecoveryCodes replaces the user's recovery codes after their password
// or a code from the app, and shows the new ones, this once.
func (d *Dashboard) newRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	var codes []string
	answered, err := d.reauthenticated(w, r, reproof{
		unchanged: "your recovery codes are unchanged.",
		badCode:   "That code is wrong, expired or already used (recovery codes do not count here)",
		either:    "Enter your password or a code from your app to get new recovery codes.",
	}, func(u *accounts.User, password, code string) error {
		var err error
		codes, err = accounts.NewRecoveryCodes(r.Context(), d.DB, d.Sealer, d.actor(r), u, password, code)
		return err
	})
	switch {
	case answered:
	case errors.Is(err, accounts.ErrTwoFactorOff):
		d.redirect(w, r, "/account", flash{Kind: flashError, Message: "Two-factor log-in is off: there are no recovery codes to replace."})
	case err != nil:
		d.error(w, r, err)
	default:
		d.renderRecoveryCodes(w, r, codes, "/account")
	}
}

// reproof says how reauthenticated words its refusals on the account page.
type reproof struct {
	unchanged string // what stays as it was, after "The password is wrong: "
	badCode   string // a wrong code, before ": " and unchanged
	either    string // when set, neither a password nor a code is refused with this before any attempt
}

// reauthenticated runs change, a change to the user's two-factor log-in
// that needs their password or a code from their app, throttled as
// log-ins are (a success clears the count). It answers a refused proof
// itself on the account page, in p's words, and then reports answered;
// any other error of change is the caller's to answer.
func (d *Dashboard) reauthenticated(w http.ResponseWriter, r *http.Request, p reproof, change func(u *accounts.User, password, code string) error) (answered bool, err error) {
	if !d.parseForm(w, r) {
		return true, nil
	}
	u := sessionUser(r)
	password, code := r.PostFormValue("password"), r.PostFormValue("code")
	refuse := func(problem string) (bool, error) {
		d.renderAccount(w, r, http.StatusUnprocessableEntity, accountView{TwoFactorError: problem})
		return true, nil
	}
	if p.either != "" && password == "" && strings.TrimSpace(code) == "" {
		return refuse(p.either)
	}
	ip := d.clientIP(r)
	if wait := d.throttle.attempt(u.Email, ip, time.Now()); wait > 0 {
		d.tooManyAttempts(w, r, wait)
		return true, nil
	}
	err = d.hashing(r, func() error { return change(u, password, code) })
	switch {
	case errors.Is(err, accounts.ErrBadCredentials):
		return refuse("The password is wrong: " + p.unchanged)
	case errors.Is(err, accounts.ErrBadCode):
		return refuse(p.badCode + ": " + p.unchanged)
	case err == nil:
		d.throttle.succeeded(u.Email, ip)
	}
	return false, err
}

// requireTwoFactor sets whether the account requires two-factor log-in of
// every user: the owner's choice (its route is the owner's; below it,
// accounts.SetRequireTwoFactor's *accounts.RoleError is d.error's 403).
func (d *Dashboard) requireTwoFactor(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	on := r.PostFormValue("require") == "on"
	err := accounts.SetRequireTwoFactor(r.Context(), d.DB, d.actor(r), sessionUser(r), on)
	switch {
	case errors.Is(err, accounts.ErrTwoFactorOff):
		d.renderAccount(w, r, http.StatusUnprocessableEntity, accountView{TwoFactorError: "Turn on two-factor log-in for yourself first, then require it of everyone."})
	case err != nil:
		d.error(w, r, err)
	case on:
		d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "Two-factor log-in is now required: whoever logs in without it must set it up first."})
	default:
		d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "Two-factor log-in is no longer required."})
	}
}
