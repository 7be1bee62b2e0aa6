package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
)

// The pages of the emailed links: confirming an address, asking for a
// password reset and setting the new password. A link opens a page whose
// button POSTs; the GET spends nothing, so a mail scanner that fetches
// every link in a message cannot use one up.

// verifyView is the data of the page a verification link opens.
type verifyView struct {
	base
	Token string
}

// forgotView is the data of the "forgot your password" page.
type forgotView struct {
	base
	Email string // as typed
	Error string // about Email
	Sent  bool   // the request was taken: the same answer for any address
}

// resetView is the data of the page a reset link opens.
type resetView struct {
	base
	Token  string
	Errors map[string]string // by input: "new", "confirm"
}

// forgotFloor is the least time a reset request takes to answer, so the
// answer's timing does not tell a known address (a token and a job
// written) from an unknown one.
const forgotFloor = 250 * time.Millisecond

// accountService is accounts.Service sending its links through River, as
// every email goes.
func (d *Dashboard) accountService() *accounts.Service {
	return &accounts.Service{DB: d.DB, Links: notify.LinkEmails{River: d.River, Sealer: d.Sealer}}
}

// badLink is the answer to a link that is unknown, used or expired: 410,
// and the way to a new one.
func (d *Dashboard) badLink(w http.ResponseWriter, r *http.Request, purpose string) {
	v := errorView{
		Heading: "This link does not work",
		Message: "It was used already, it expired, or it was not copied whole. Each link works once: a verification link for 24 hours, a password-reset link for an hour.",
	}
	if purpose == accounts.PurposeReset {
		v.Hint = "Ask for a new password-reset link; it is sent at once."
		v.BackURL, v.BackLabel = "/forgot", "Ask for a new link"
	} else {
		v.Hint = "Log in: every page then offers to send a new verification link. If your address is confirmed already, there is nothing more to do."
		v.BackURL, v.BackLabel = "/login?next=%2Faccount", "Log in"
	}
	d.errorPage(w, r, http.StatusGone, v)
}

func (d *Dashboard) verifyPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if err := accounts.CheckLink(r.Context(), d.DB, token, accounts.PurposeVerify); errors.Is(err, accounts.ErrBadLink) {
		d.badLink(w, r, accounts.PurposeVerify)
		return
	} else if err != nil {
		d.error(w, r, err)
		return
	}
	renderPage(d, w, r, http.StatusOK, tmplVerify, verifyView{base: d.base(w, r, "Confirm your email address", ""), Token: token})
}

// verify spends the link and confirms the address. It starts no session:
// a link that reached someone else (a forwarded mail) gives them nothing.
func (d *Dashboard) verify(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	u, err := d.accountService().VerifyEmail(r.Context(), r.PostFormValue("token"), d.clientIP(r))
	if errors.Is(err, accounts.ErrBadLink) {
		d.badLink(w, r, accounts.PurposeVerify)
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.sendHeldConfirmations(r, u)
	msg := "Your email address " + u.Email + " is confirmed: Intake now sends your forms' notifications."
	if s := state(r).session; s != nil {
		if s.UserID == u.ID {
			s.Verified = true
		}
		d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: msg})
		return
	}
	d.redirect(w, r, "/login", flash{Kind: flashSuccess, Message: msg + " Log in to continue."})
}

// resendVerification sends the logged-in user a new verification link, at
// most accounts.MaxVerifyEmailsPerHour an hour.
func (d *Dashboard) resendVerification(w http.ResponseWriter, r *http.Request) {
	s := user(r)
	err := d.accountService().ResendVerification(r.Context(), s.UserID)
	switch {
	case errors.Is(err, accounts.ErrAlreadyVerified):
		d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: "Your email address is confirmed already."})
	case errors.Is(err, accounts.ErrTooManyEmails):
		d.redirect(w, r, "/forms", flash{Kind: flashError, Message: fmt.Sprintf(
			"We sent %s to %s in the last hour, so no more for now. Look for them (and in your spam folder), or try again later.",
			plural(accounts.MaxVerifyEmailsPerHour, "verification email", "verification emails"), s.Email)})
	case err != nil:
		d.error(w, r, err)
	default:
		d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: "We sent a new link to " + s.Email +
			". It works once, for 24 hours. (Without an SMTP server, find it in the email outbox.)"})
	}
}

func (d *Dashboard) forgotPage(w http.ResponseWriter, r *http.Request) {
	renderPage(d, w, r, http.StatusOK, tmplForgot, forgotView{base: d.base(w, r, "Reset your password", "")})
}

// forgot sends a reset link if the address has an account, and answers the
// same either way — same page, same status, and no sooner than forgotFloor
// — so it cannot be asked which addresses have accounts. Each client
// address may ask 10 times an hour, and each account is sent at most
// accounts.MaxResetEmailsPerHour links an hour, so it cannot flood a
// mailbox either.
func (d *Dashboard) forgot(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !d.parseForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	v := forgotView{Email: email}
	if !mail.ValidAddress(email) {
		v.Error = "Enter the email address you signed up with, such as you@example.com."
		v.base = d.base(w, r, "Reset your password", "")
		renderPage(d, w, r, http.StatusUnprocessableEntity, tmplForgot, v)
		return
	}
	if wait := d.resets.attempt("", d.clientIP(r), time.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		d.errorPage(w, r, http.StatusTooManyRequests, errorView{
			Heading: "Too many requests",
			Message: "Your network asked for too many password-reset emails in the last hour.",
			Hint:    fmt.Sprintf("Try again in %s.", plural(int(math.Ceil(wait.Minutes())), "minute", "minutes")),
			BackURL: "/login", BackLabel: "Back to log in",
		})
		return
	}
	if err := d.accountService().RequestReset(r.Context(), email); err != nil {
		d.error(w, r, err)
		return
	}
	time.Sleep(time.Until(start.Add(forgotFloor)))
	v.Sent = true
	v.base = d.base(w, r, "Reset your password", "")
	renderPage(d, w, r, http.StatusOK, tmplForgot, v)
}

func (d *Dashboard) resetPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if err := accounts.CheckLink(r.Context(), d.DB, token, accounts.PurposeReset); errors.Is(err, accounts.ErrBadLink) {
		d.badLink(w, r, accounts.PurposeReset)
		return
	} else if err != nil {
		d.error(w, r, err)
		return
	}
	renderPage(d, w, r, http.StatusOK, tmplReset, resetView{base: d.base(w, r, "Choose a new password", ""), Token: token})
}

// reset sets the new password, which ends every session of the user (this
// browser's too), and sends them to log in with it: the log-in form stays
// the one door into a session, and the browser's password manager sees the
// new password there.
func (d *Dashboard) reset(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	token, next, confirm := r.PostFormValue("token"), r.PostFormValue("new"), r.PostFormValue("confirm")
	v := resetView{Token: token, Errors: map[string]string{}}
	switch {
	case len(next) < accounts.MinPasswordLength:
		v.Errors["new"] = fmt.Sprintf("Choose a password of at least %d characters.", accounts.MinPasswordLength)
	case next != confirm:
		v.Errors["confirm"] = "The two passwords differ. Type the same password twice."
	}
	if len(v.Errors) > 0 {
		if err := accounts.CheckLink(r.Context(), d.DB, token, accounts.PurposeReset); errors.Is(err, accounts.ErrBadLink) {
			d.badLink(w, r, accounts.PurposeReset)
			return
		}
		v.base = d.base(w, r, "Choose a new password", "")
		renderPage(d, w, r, http.StatusUnprocessableEntity, tmplReset, v)
		return
	}
	u, err := d.accountService().ResetPassword(r.Context(), token, next, d.clientIP(r), func(hash func() error) error { return d.hashing(r, hash) })
	if errors.Is(err, accounts.ErrBadLink) {
		d.badLink(w, r, accounts.PurposeReset)
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.sendHeldConfirmations(r, u)
	// Every session of the user is gone, this browser's too (whoever's
	// it was): the flash is sealed for a logged-out visitor.
	st := state(r)
	st.session, st.token = nil, ""
	d.clearCookie(w, sessionCookie)
	d.redirect(w, r, "/login", flash{Kind: flashSuccess, Message: "Your new password is set and your email address is confirmed. Every session of your account was logged out: log in with the new password."})
}

// sendHeldConfirmations mails the confirmation links that the account's
// forms held back while u's address was unverified (an unverified account
// mails no one). The address is verified whatever happens here; should it
// fail, saving a form sends its links, so it is logged, not shown.
func (d *Dashboard) sendHeldConfirmations(r *http.Request, u *accounts.User) {
	if d.Recipients == nil {
		return
	}
	err := database.WithTx(r.Context(), d.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		return d.Recipients.SendPending(r.Context(), tx, u.AccountID)
	})
	if err != nil {
		d.logger(r).WarnContext(r.Context(), "dashboard: held confirmation links not sent", "account_id", u.AccountID, "err", err)
	}
}
