package web

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/internal/textcheck"
	"github.com/intakehq/intake/mail"
)

// loginView is the data of the log-in page.
type loginView struct {
	base
	Email string // as typed
	Next  string // a local path to go to afterwards
	Error string // why the last try failed
}

// signupView is the data of the sign-up page.
type signupView struct {
	base
	Email  string
	Errors map[string]string // by input: "email", "password"
}

// accountView is the data of the account page.
type accountView struct {
	base
	Errors map[string]string // by input: "current", "new", "confirm"
	Usage  *accounts.Usage   // the plan and this month's submissions; nil if unreadable
	// TwoFactor is the user's two-factor log-in and the account's
	// requirement; TwoFactorError why the last change of them failed.
	TwoFactor      *accounts.TwoFactorStatus
	TwoFactorError string
}

// apiKeysView is the data of the API keys page.
type apiKeysView struct {
	base
	Keys       []apiKeyRow
	Name       string // the name typed for a new key
	Error      string // about Name
	Scope      string // the scope chosen for a new key: read_write or read_only
	ScopeError string // about Scope
}

type apiKeyRow struct {
	ID         string
	Name       string
	Scope      string // read_write or read_only
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never
}

// confirmView is the data of the page that asks before a destructive
// action. dashboard.js shows the same question in a <dialog> and posts
// from there; without JavaScript the link leads here.
type confirmView struct {
	base
	Heading   string
	Message   string
	Action    string // the URL the confirming POST goes to
	Button    string // e.g. "Delete submission"
	CancelURL string
	Hidden    []hiddenInput // posted with the button
}

// hiddenInput is an <input type="hidden">.
type hiddenInput struct{ Name, Value string }

// maxFormBody bounds a dashboard form post; the largest is a form's
// contract with 200 fields.
const maxFormBody = 512 << 10

// parseForm reads a posted form, answering 400 itself when it cannot. Every
// name and value must be text the database stores as written (valid
// UTF-8, no NUL): checked here, once for every page, so no handler passes
// such text on to a store and a 500.
func (d *Dashboard) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	err := r.ParseForm()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's read deadline passed: the client's connection,
		// not the service.
		d.errorPage(w, r, http.StatusRequestTimeout, errorView{
			Heading: "That took too long to arrive",
			Message: "The form was sent too slowly, so nothing was saved.",
			Hint:    "Check your connection, go back and try again.",
		})
		return false
	}
	if err != nil {
		d.errorPage(w, r, http.StatusBadRequest, errorView{
			Heading: "That form could not be read",
			Message: "What was sent is not a form this page can read, or it is too large.",
			Hint:    "Go back, reload the page and try again.",
		})
		return false
	}
	if name, problem := badText(r.Form); problem != "" {
		d.errorPage(w, r, http.StatusBadRequest, errorView{
			Heading: "That form could not be read",
			Message: fmt.Sprintf("The input %s %s, so nothing was saved.", name, problem),
			Hint:    "Go back, remove the character that does not belong (it may have come with pasted text) and try again.",
		})
		return false
	}
	return true
}

// parseFormFor is parseForm for a request about something the URL names:
// err is the error of looking it up, written as the error page instead.
func (d *Dashboard) parseFormFor(w http.ResponseWriter, r *http.Request, err error) bool {
	if err != nil {
		d.error(w, r, err)
		return false
	}
	return d.parseForm(w, r)
}

// badText returns the first input of form (by name, in order) whose name
// or a value is not valid UTF-8 text without NUL, with what is wrong.
func badText(form url.Values) (name, problem string) {
	for _, k := range slices.Sorted(maps.Keys(form)) {
		shown := strconv.QuoteToASCII(k)
		if p := textcheck.Problem(k); p != "" {
			return shown, "has a name that " + p
		}
		for _, v := range form[k] {
			if p := textcheck.Problem(v); p != "" {
				return shown, p
			}
		}
	}
	return "", ""
}

func (d *Dashboard) home(w http.ResponseWriter, r *http.Request) {
	if s := state(r).session; s != nil {
		http.Redirect(w, r, landing(s), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// nextOr returns the request's next parameter when it is a local path,
// else fallback.
func nextOr(r *http.Request, fallback string) string {
	if next := r.FormValue("next"); localPath(next) {
		return next
	}
	return fallback
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if s := state(r).session; s != nil {
		http.Redirect(w, r, nextOr(r, landing(s)), http.StatusSeeOther)
		return
	}
	renderPage(d, w, r, http.StatusOK, tmplLogin, loginView{base: d.base(w, r, "Log in", ""), Next: nextOr(r, "")})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	email, password := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password")
	if len(email) > 254 {
		// No address is longer; the throttle keys stay small. The cut
		// must not split a character: the email is a query's text.
		email = strings.ToValidUTF8(email[:254], "")
	}
	ip := d.clientIP(r)
	// The attempt counts as failed before the password is checked, in one
	// step with the check of the count: parallel guesses cannot all slip
	// in under the limit while the first ones are still hashing.
	if wait := d.throttle.attempt(email, ip, time.Now()); wait > 0 {
		d.tooManyAttempts(w, r, wait)
		return
	}
	var u *accounts.User
	err := d.hashing(r, func() error {
		var err error
		u, err = accounts.CheckLogin(r.Context(), d.DB, email, password)
		return err
	})
	if errors.Is(err, accounts.ErrBadCredentials) {
		renderPage(d, w, r, http.StatusUnauthorized, tmplLogin, loginView{
			base: d.base(w, r, "Log in", ""), Email: email, Next: nextOr(r, ""),
			Error: "Wrong email or password. Check both and try again.",
		})
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.afterPassword(w, r, u, ip)
}

// tooManyAttempts is the throttle's answer: 429 with when to try again.
func (d *Dashboard) tooManyAttempts(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	minutes := int(math.Ceil(wait.Minutes()))
	d.errorPage(w, r, http.StatusTooManyRequests, errorView{
		Heading: "Too many attempts",
		Message: "There were too many failed attempts from your network, so logging in from it is paused for a while.",
		Hint:    fmt.Sprintf("Try again in %s.", plural(minutes, "minute", "minutes")),
		BackURL: "/login", BackLabel: "Back to log in",
	})
}

func (d *Dashboard) signupPage(w http.ResponseWriter, r *http.Request) {
	if s := state(r).session; s != nil {
		http.Redirect(w, r, landing(s), http.StatusSeeOther)
		return
	}
	renderPage(d, w, r, http.StatusOK, tmplSignup, signupView{base: d.base(w, r, "Sign up", "")})
}

func (d *Dashboard) signup(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	email, password := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password")
	ip := d.clientIP(r)
	v := signupView{Email: email, Errors: map[string]string{}}
	if !mail.ValidAddress(email) {
		v.Errors["email"] = "Enter your email address, such as you@example.com."
	}
	if len(password) < accounts.MinPasswordLength {
		v.Errors["password"] = fmt.Sprintf("Choose a password of at least %d characters.", accounts.MinPasswordLength)
	}
	var u *accounts.User
	if len(v.Errors) == 0 {
		// Each sign-up costs a password hash: it counts against the
		// address's attempts like a failed log-in.
		if wait := d.throttle.attempt("", ip, time.Now()); wait > 0 {
			d.tooManyAttempts(w, r, wait)
			return
		}
		// The user and its verification email are one transaction: an
		// account never exists without its link on the way.
		err := d.hashing(r, func() error {
			var err error
			u, err = d.accountService().SignUp(r.Context(), email, password, ip)
			return err
		})
		switch {
		case errors.Is(err, accounts.ErrEmailTaken):
			v.Errors["email"] = "An account with this email exists. Log in instead, or use another email."
		case err != nil:
			d.error(w, r, err)
			return
		}
	}
	if len(v.Errors) > 0 {
		v.base = d.base(w, r, "Sign up", "")
		renderPage(d, w, r, http.StatusUnprocessableEntity, tmplSignup, v)
		return
	}
	if err := d.startSession(w, r, u); err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: "Welcome to Intake. We sent a link to " + u.Email +
		": open it to confirm your address. Meanwhile, create your first form to get its endpoint."})
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if st.token != "" {
		if err := accounts.EndSession(r.Context(), d.DB, st.token); err != nil {
			d.error(w, r, err)
			return
		}
	}
	d.clearCookie(w, sessionCookie)
	st.session, st.token = nil, ""
	d.redirect(w, r, "/login", flash{Kind: flashSuccess, Message: "You are logged out."})
}

func (d *Dashboard) accountPage(w http.ResponseWriter, r *http.Request) {
	d.renderAccount(w, r, http.StatusOK, accountView{})
}

// renderAccount shows the account page with its plan and usage.
func (d *Dashboard) renderAccount(w http.ResponseWriter, r *http.Request, status int, v accountView) {
	v.base = d.base(w, r, "Account", "account", crumb{Label: "Account"})
	var err error
	if user(r).AccountID != 0 { // a user in no account has no plan
		if v.Usage, err = accounts.UsageOf(r.Context(), d.DB, user(r).AccountID, time.Now()); err != nil {
			d.error(w, r, err)
			return
		}
	}
	if v.TwoFactor, err = accounts.TwoFactorOf(r.Context(), d.DB, user(r).UserID, user(r).AccountID); err != nil {
		d.error(w, r, err)
		return
	}
	renderPage(d, w, r, status, tmplAccount, v)
}

// changePassword sets a new password, ends every session of the user —
// this one too — and starts a fresh one here, so a session stolen before
// the change is worth nothing after it.
func (d *Dashboard) changePassword(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	s := user(r)
	current, next, confirm := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	ip := d.clientIP(r)
	v := accountView{Errors: map[string]string{}}
	switch {
	case len(next) < accounts.MinPasswordLength:
		v.Errors["new"] = fmt.Sprintf("Choose a new password of at least %d characters.", accounts.MinPasswordLength)
	case next != confirm:
		v.Errors["confirm"] = "The two new passwords differ. Type the same password twice."
	}
	if current == "" {
		v.Errors["current"] = "Enter your current password."
	}
	if len(v.Errors) == 0 {
		if wait := d.throttle.attempt(s.Email, ip, time.Now()); wait > 0 {
			d.tooManyAttempts(w, r, wait)
			return
		}
		u := s.User()
		err := d.hashing(r, func() error { return accounts.ChangePassword(r.Context(), d.DB, d.actor(r), u, current, next, "") })
		switch {
		case errors.Is(err, accounts.ErrBadCredentials):
			v.Errors["current"] = "The current password is wrong."
		case err != nil:
			d.error(w, r, err)
			return
		default:
			state(r).token = "" // ended with the others
			if err := d.startSession(w, r, u); err != nil {
				d.error(w, r, err)
				return
			}
			d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "Password changed. Every other session of yours has been logged out."})
			return
		}
	}
	d.renderAccount(w, r, http.StatusUnprocessableEntity, v)
}

// API keys

func (d *Dashboard) apiKeysPage(w http.ResponseWriter, r *http.Request) {
	d.renderAPIKeys(w, r, http.StatusOK, apiKeysView{Scope: string(accounts.ScopeReadWrite)})
}

// renderAPIKeys renders the page with v's form fields and errors.
func (d *Dashboard) renderAPIKeys(w http.ResponseWriter, r *http.Request, status int, v apiKeysView) {
	keys, err := accounts.APIKeys(r.Context(), d.DB, user(r).AccountID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	v.base = d.base(w, r, "API keys", "apikeys", crumb{Label: "API keys"})
	for _, k := range keys {
		row := apiKeyRow{ID: k.PublicID, Name: k.Name, Scope: string(k.Scope), Prefix: k.Prefix, CreatedAt: k.CreatedAt}
		if k.LastUsedAt != nil {
			row.LastUsedAt = *k.LastUsedAt
		}
		v.Keys = append(v.Keys, row)
	}
	renderPage(d, w, r, status, tmplAPIKeys, v)
}

func (d *Dashboard) createAPIKey(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	v := apiKeysView{Name: strings.ToValidUTF8(name, "\uFFFD"), Scope: string(accounts.ScopeReadWrite)}
	if err := accounts.CheckKeyName(name); err != nil {
		v.Error = "Use a name of at most 200 characters of plain text: this one " + err.Error() + "."
	}
	scope, err := accounts.ParseScope(r.PostFormValue("scope"))
	if err != nil {
		v.ScopeError = "Choose read and write, or read only."
	} else {
		v.Scope = string(scope)
	}
	if v.Error != "" || v.ScopeError != "" {
		d.renderAPIKeys(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	k, key, err := accounts.CreateAPIKey(r.Context(), d.DB, d.actor(r), sessionUser(r), name, scope)
	if err != nil {
		d.error(w, r, err)
		return
	}
	label := "API key created."
	if k.Name != "" {
		label = fmt.Sprintf("API key “%s” created.", k.Name)
	}
	d.redirect(w, r, "/apikeys", flash{Kind: flashSuccess, Message: label + " Copy it now: it is shown only this once.",
		Secret: key, SecretLabel: "Your new API key"})
}

// apiKeyFor returns the account's live key with the URL's id.
func (d *Dashboard) apiKeyFor(r *http.Request) (*accounts.APIKey, error) {
	keys, err := accounts.APIKeys(r.Context(), d.DB, user(r).AccountID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.PublicID == chi.URLParam(r, "key_id") {
			return k, nil
		}
	}
	return nil, accounts.ErrNotFound
}

func keyName(k *accounts.APIKey) string {
	if k.Name != "" {
		return "“" + k.Name + "”"
	}
	return k.Prefix + "…"
}

func (d *Dashboard) confirmRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	k, err := d.apiKeyFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	renderPage(d, w, r, http.StatusOK, tmplConfirm, confirmView{
		base:    d.base(w, r, "Revoke API key", "apikeys", crumb{Label: "API keys", URL: "/apikeys"}, crumb{Label: "Revoke"}),
		Heading: "Revoke API key " + keyName(k) + "?",
		Message: "Scripts and agents using the key " + k.Prefix + "… will be refused at once. This cannot be undone.",
		Action:  "/apikeys/" + k.PublicID + "/revoke", Button: "Revoke key", CancelURL: "/apikeys",
	})
}

func (d *Dashboard) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	k, err := d.apiKeyFor(r)
	if err == nil {
		err = accounts.RevokeAPIKey(r.Context(), d.DB, d.actor(r), user(r).AccountID, k.PublicID)
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/apikeys", flash{Kind: flashSuccess, Message: "API key " + keyName(k) + " revoked."})
}

// errBusy is answered when every password-hashing slot stays taken.
var errBusy = &intake.Error{Kind: intake.Unavailable, Type: intake.TypeUnavailable, Msg: "too many password checks at once",
	Title: "Busy for a moment", Detail: "Too many log-ins are being checked right now.", Hint: "Wait a few seconds and try again.",
	RetryAfter: 5 * time.Second}

// hashing runs fn — which hashes a password, 64 MiB of memory each — in one
// of a few slots, so a burst of logins cannot exhaust the process's memory.
// It waits up to 5 s for a slot, then answers errBusy.
func (d *Dashboard) hashing(r *http.Request, fn func() error) error {
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case d.hashSlots <- struct{}{}:
		defer func() { <-d.hashSlots }()
		return fn()
	case <-timer.C:
		return errBusy
	case <-r.Context().Done():
		return r.Context().Err()
	}
}
