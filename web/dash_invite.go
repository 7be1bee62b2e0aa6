package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/notify"
)

// The page an invitation's link opens, and accepting it (docs/SECURITY.md,
// "Members and roles"): the token is the authority.

// inviteView is the data of the page an invitation's link opens.
type inviteView struct {
	base
	Invite accounts.Invite
	Token  string
	// Mode is what the visitor can do: "accept" (logged in as the
	// address), "other" (logged in as another address), "login" (the
	// address has a user: log in first) or "new" (choose a password).
	Mode   string
	Errors map[string]string // new: by input, "password", "confirm"
}

// badInvite is the answer to an invitation link that is unknown, used,
// revoked or expired: 410, and what to do.
func (d *Dashboard) badInvite(w http.ResponseWriter, r *http.Request) {
	d.errorPage(w, r, http.StatusGone, errorView{
		Heading: "This invitation does not work",
		Message: fmt.Sprintf("It was accepted already, revoked, replaced by a newer one, or it expired (an invitation works for %d days), or the link was not copied whole.", int(accounts.InviteLifetime.Hours()/24)),
		Hint:    "Ask whoever invited you to send the invitation again. If you accepted it already, log in: the account is yours to switch to.",
		BackURL: "/login", BackLabel: "Log in",
	})
}

// inviteMode says what the visitor can do with inv.
func (d *Dashboard) inviteMode(r *http.Request, inv *accounts.Invite) (string, error) {
	if s := state(r).session; s != nil {
		if strings.EqualFold(s.Email, inv.Email) {
			return "accept", nil
		}
		return "other", nil
	}
	_, err := accounts.UserByEmail(r.Context(), d.DB, inv.Email)
	switch {
	case err == nil:
		return "login", nil
	case errors.Is(err, accounts.ErrNotFound):
		return "new", nil
	}
	return "", err
}

// invitation reads the invitation of token and what its page offers the
// visitor; on false it has answered (410 for a link that is no more).
func (d *Dashboard) invitation(w http.ResponseWriter, r *http.Request, token string) (*accounts.Invite, string, bool) {
	inv, err := accounts.InviteFor(r.Context(), d.DB, token)
	if errors.Is(err, accounts.ErrBadInvite) {
		d.badInvite(w, r)
		return nil, "", false
	}
	if err == nil {
		var mode string
		if mode, err = d.inviteMode(r, inv); err == nil {
			return inv, mode, true
		}
	}
	d.error(w, r, err)
	return nil, "", false
}

// invitePage shows the invitation; its button POSTs, so a mail scanner
// that fetches the link spends nothing.
func (d *Dashboard) invitePage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	inv, mode, ok := d.invitation(w, r, token)
	if !ok {
		return
	}
	d.renderInvite(w, r, http.StatusOK, inviteView{Invite: *inv, Token: token, Mode: mode})
}

func (d *Dashboard) renderInvite(w http.ResponseWriter, r *http.Request, status int, v inviteView) {
	v.base = d.base(w, r, "Join "+v.Invite.AccountName, "")
	renderPage(d, w, r, status, tmplInvite, v)
}

// acceptInvite accepts for the logged-in user, or makes the user of a new
// address (with the password chosen) and logs them in; a visitor whose
// address has a user logs in first and comes back.
func (d *Dashboard) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	token := chi.URLParam(r, "token")
	inv, mode, ok := d.invitation(w, r, token)
	if !ok {
		return
	}
	switch mode {
	case "other":
		d.renderInvite(w, r, http.StatusForbidden, inviteView{Invite: *inv, Token: token, Mode: mode})
	case "login":
		d.redirect(w, r, "/login?next="+url.QueryEscape(notify.InvitePath+token), flash{Kind: flashSuccess,
			Message: "Log in as " + inv.Email + " to accept the invitation to " + inv.AccountName + "."})
	case "accept":
		d.acceptAsSession(w, r, token)
	case "new":
		d.acceptAsNewUser(w, r, inv, token)
	}
}

func (d *Dashboard) acceptAsSession(w http.ResponseWriter, r *http.Request, token string) {
	st := state(r)
	u, err := accounts.Accept(r.Context(), d.DB, d.actor(r), st.session.User(), token)
	if errors.Is(err, accounts.ErrBadInvite) || errors.Is(err, accounts.ErrInviteForOther) {
		d.badInvite(w, r)
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	name, err := accounts.AccountName(r.Context(), d.DB, u.AccountID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	// An account that requires two-factor log-in gets it from its new
	// member too: the usual enrolment, at a new log-in.
	tf, err := accounts.TwoFactorOf(r.Context(), d.DB, u.ID, u.AccountID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	if tf.Required && !tf.Enabled {
		if err := accounts.EndSession(r.Context(), d.DB, st.token); err != nil {
			d.error(w, r, err)
			return
		}
		st.session, st.token = nil, ""
		d.clearCookie(w, sessionCookie)
		d.redirect(w, r, "/login", flash{Kind: flashSuccess, Message: "You joined " + name + ". It requires two-factor log-in: log in again to set it up."})
		return
	}
	if err := accounts.SwitchAccount(r.Context(), d.DB, st.token, u.ID, u.AccountID); err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: "You joined " + name + " as " + string(u.Role) + "."})
}

func (d *Dashboard) acceptAsNewUser(w http.ResponseWriter, r *http.Request, inv *accounts.Invite, token string) {
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	v := inviteView{Invite: *inv, Token: token, Mode: "new", Errors: map[string]string{}}
	switch {
	case len(password) < accounts.MinPasswordLength:
		v.Errors["password"] = fmt.Sprintf("Choose a password of at least %d characters.", accounts.MinPasswordLength)
	case password != confirm:
		v.Errors["confirm"] = "The two passwords differ. Type the same password twice."
	}
	if len(v.Errors) > 0 {
		d.renderInvite(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	ip := d.clientIP(r)
	// A new user costs a password hash: it counts like a sign-up.
	if wait := d.throttle.attempt("", ip, time.Now()); wait > 0 {
		d.tooManyAttempts(w, r, wait)
		return
	}
	u, err := accounts.AcceptNew(r.Context(), d.DB, audit.User(0, ip), token, password, func(hash func() error) error { return d.hashing(r, hash) })
	switch {
	case errors.Is(err, accounts.ErrBadInvite):
		d.badInvite(w, r)
		return
	case errors.Is(err, accounts.ErrEmailTaken):
		// Made a moment ago by another tab: log in instead.
		d.redirect(w, r, "/login?next="+url.QueryEscape(notify.InvitePath+token), flash{})
		return
	case err != nil:
		d.error(w, r, err)
		return
	}
	// The usual way into a session: the account's two-factor requirement
	// applies here too.
	d.afterPassword(w, r, u, ip)
}
