package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
)

// The members of an account (docs/SECURITY.md, "Members and roles"): the
// list with its invitations (admins and the owner), the page an
// invitation's link opens (anyone holding the link), switching between
// one's accounts, leaving one, and the owner handing it over.

// membersView is the data of the members page.
type membersView struct {
	base
	Members []accounts.Member
	Invites []*accounts.Invite
	UserID  int64 // the page's user: no role change or removal on their own row
	Email   string
	Invite  accounts.Role     // the role chosen for a new invitation
	Errors  map[string]string // by input: "email", "role"
	Roles   []accounts.Role   // what an invitation or a change may give
}

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

// transferView is the data of the page that hands the account over.
type transferView struct {
	base
	Members []accounts.Member // who may receive it: every member but the owner
	To      int64
	Errors  map[string]string // by input: "to", "password"
}

// team is accounts.Team sending its invitations through River, as every
// email goes.
func (d *Dashboard) team() *accounts.Team {
	return &accounts.Team{DB: d.DB, Invites: notify.InviteEmails{River: d.River, Sealer: d.Sealer}}
}

var inviteRoles = []accounts.Role{accounts.RoleAdmin, accounts.RoleMember, accounts.RoleViewer}

func (d *Dashboard) membersPage(w http.ResponseWriter, r *http.Request) {
	d.renderMembers(w, r, http.StatusOK, membersView{Invite: accounts.RoleMember})
}

func (d *Dashboard) renderMembers(w http.ResponseWriter, r *http.Request, status int, v membersView) {
	ctx := r.Context()
	s := user(r)
	var err error
	if v.Members, err = accounts.Members(ctx, d.DB, s.AccountID); err != nil {
		d.error(w, r, err)
		return
	}
	if v.Invites, err = accounts.PendingInvites(ctx, d.DB, s.AccountID); err != nil {
		d.error(w, r, err)
		return
	}
	v.UserID, v.Roles = s.UserID, inviteRoles
	v.base = d.base(w, r, "Members", "account", crumb{Label: "Account", URL: "/account"}, crumb{Label: "Members"})
	renderPage(d, w, r, status, tmplMembers, v)
}

// invite sends an invitation; a refusal the person can fix (the address,
// the role, already a member) is shown on the form.
func (d *Dashboard) invite(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	v := membersView{Email: email, Invite: accounts.Role(r.PostFormValue("role")), Errors: map[string]string{}}
	if !mail.ValidAddress(email) {
		v.Errors["email"] = "Enter one email address, such as someone@example.com."
	}
	role, err := accounts.ParseInviteRole(r.PostFormValue("role"))
	if err != nil {
		v.Errors["role"] = "Choose admin, member or viewer. The owner is made only by the owner handing the account over."
	}
	if len(v.Errors) == 0 {
		_, err = d.team().Invite(r.Context(), d.actor(r), sessionUser(r), email, role)
		switch {
		case errors.Is(err, accounts.ErrAlreadyMember):
			v.Errors["email"] = email + " is a member of this account already: change their role in the list instead."
		case err != nil:
			d.error(w, r, err)
			return
		}
	}
	if len(v.Errors) > 0 {
		d.renderMembers(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	d.redirect(w, r, "/account/members", flash{Kind: flashSuccess, Message: fmt.Sprintf(
		"Invitation sent to %s as %s. The link works once, for %d days.",
		email, role, int(accounts.InviteLifetime.Hours()/24))})
}

// inviteID is the URL's invitation id; 0 (found by nothing) when malformed.
func inviteID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(chi.URLParam(r, "invite_id"), 10, 64)
	return id
}

func (d *Dashboard) resendInvite(w http.ResponseWriter, r *http.Request) {
	inv, err := d.team().Resend(r.Context(), d.actor(r), sessionUser(r), inviteID(r))
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/account/members", flash{Kind: flashSuccess, Message: "A new invitation went to " + inv.Email + "; the link sent before no longer works."})
}

func (d *Dashboard) revokeInvite(w http.ResponseWriter, r *http.Request) {
	if err := accounts.RevokeInvite(r.Context(), d.DB, d.actor(r), sessionUser(r), inviteID(r)); err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/account/members", flash{Kind: flashSuccess, Message: "Invitation revoked: its link no longer works."})
}

// memberFor returns the member of the session's account the URL names.
// Another account's user, or no user, is not found.
func (d *Dashboard) memberFor(r *http.Request) (*accounts.Member, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "user_id"), 10, 64)
	if err != nil {
		return nil, errNotFound
	}
	ms, err := accounts.Members(r.Context(), d.DB, user(r).AccountID)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		if ms[i].UserID == id {
			return &ms[i], nil
		}
	}
	return nil, errNotFound
}

func (d *Dashboard) changeRole(w http.ResponseWriter, r *http.Request) {
	m, err := d.memberFor(r)
	if !d.parseFormFor(w, r, err) {
		return
	}
	role, err := accounts.ParseInviteRole(r.PostFormValue("role"))
	if err != nil && !errors.Is(err, accounts.ErrOwnerUntouchable) {
		d.redirect(w, r, "/account/members", flash{Kind: flashError, Message: "Choose admin, member or viewer."})
		return
	}
	if err == nil {
		err = accounts.ChangeRole(r.Context(), d.DB, d.actor(r), sessionUser(r), m.UserID, role)
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/account/members", flash{Kind: flashSuccess, Message: m.Email + " is now " + string(role) + "."})
}

func (d *Dashboard) confirmRemoveMember(w http.ResponseWriter, r *http.Request) {
	m, err := d.memberFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	renderPage(d, w, r, http.StatusOK, tmplConfirm, confirmView{
		base:    d.base(w, r, "Remove member", "account", crumb{Label: "Account", URL: "/account"}, crumb{Label: "Members", URL: "/account/members"}, crumb{Label: "Remove"}),
		Heading: "Remove " + m.Email + " from this account?",
		Message: "They lose access at their next click. Their forms and submissions stay the account's. They can come back only with a new invitation.",
		Action:  "/account/members/" + strconv.FormatInt(m.UserID, 10) + "/remove", Button: "Remove member", CancelURL: "/account/members",
	})
}

func (d *Dashboard) removeMember(w http.ResponseWriter, r *http.Request) {
	m, err := d.memberFor(r)
	if err == nil {
		err = accounts.RemoveMember(r.Context(), d.DB, d.actor(r), sessionUser(r), m.UserID)
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/account/members", flash{Kind: flashSuccess, Message: m.Email + " was removed from this account."})
}

// leave takes the user out of the account they look at; their session
// then looks at another of theirs, or at none.
func (d *Dashboard) leave(w http.ResponseWriter, r *http.Request) {
	s := user(r)
	name, err := accounts.AccountName(r.Context(), d.DB, s.AccountID)
	if err == nil {
		err = accounts.Leave(r.Context(), d.DB, d.actor(r), s.User())
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/account", flash{Kind: flashSuccess, Message: "You left " + name + "."})
}

// switchAccount makes the session look at another of the user's accounts.
func (d *Dashboard) switchAccount(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	id, err := strconv.ParseInt(r.PostFormValue("account_id"), 10, 64)
	if err != nil {
		d.error(w, r, errNotFound)
		return
	}
	if err := accounts.SwitchAccount(r.Context(), d.DB, state(r).token, user(r).UserID, id); err != nil {
		d.error(w, r, err)
		return
	}
	name, err := accounts.AccountName(r.Context(), d.DB, id)
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: "You are now looking at " + name + "."})
}

// Transfer of ownership

func (d *Dashboard) transferPage(w http.ResponseWriter, r *http.Request) {
	d.renderTransfer(w, r, http.StatusOK, transferView{})
}

func (d *Dashboard) renderTransfer(w http.ResponseWriter, r *http.Request, status int, v transferView) {
	ms, err := accounts.Members(r.Context(), d.DB, user(r).AccountID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	for _, m := range ms {
		if m.Role != accounts.RoleOwner {
			v.Members = append(v.Members, m)
		}
	}
	v.base = d.base(w, r, "Transfer ownership", "account", crumb{Label: "Account", URL: "/account"}, crumb{Label: "Transfer ownership"})
	renderPage(d, w, r, status, tmplTransfer, v)
}

// transfer hands the account to another member after checking the
// owner's password (a session left open is not enough to give the
// account away); the owner stays as an admin.
func (d *Dashboard) transfer(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	s := user(r)
	v := transferView{Errors: map[string]string{}}
	to, err := strconv.ParseInt(r.PostFormValue("to"), 10, 64)
	v.To = to
	if err != nil {
		v.Errors["to"] = "Choose the member to hand the account to."
	}
	password := r.PostFormValue("password")
	if password == "" {
		v.Errors["password"] = "Enter your password."
	}
	if len(v.Errors) == 0 {
		if wait := d.throttle.attempt(s.Email, d.clientIP(r), time.Now()); wait > 0 {
			d.tooManyAttempts(w, r, wait)
			return
		}
		err := d.hashing(r, func() error {
			_, err := accounts.CheckLogin(r.Context(), d.DB, s.Email, password)
			return err
		})
		switch {
		case errors.Is(err, accounts.ErrBadCredentials):
			v.Errors["password"] = "The password is wrong."
		case err != nil:
			d.error(w, r, err)
			return
		}
	}
	if len(v.Errors) == 0 {
		err := accounts.TransferOwnership(r.Context(), d.DB, d.actor(r), s.User(), to)
		if errors.Is(err, accounts.ErrNotFound) {
			v.Errors["to"] = "That person is not a member of this account (any more). Choose another."
		} else if err != nil {
			d.error(w, r, err)
			return
		}
	}
	if len(v.Errors) > 0 {
		d.renderTransfer(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	d.redirect(w, r, "/account/members", flash{Kind: flashSuccess, Message: "The account has a new owner. You stay as an admin."})
}

// Invitations' links

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

// invitePage shows the invitation; its button POSTs, so a mail scanner
// that fetches the link spends nothing.
func (d *Dashboard) invitePage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	inv, err := accounts.InviteFor(r.Context(), d.DB, token)
	if errors.Is(err, accounts.ErrBadInvite) {
		d.badInvite(w, r)
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	mode, err := d.inviteMode(r, inv)
	if err != nil {
		d.error(w, r, err)
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
	inv, err := accounts.InviteFor(r.Context(), d.DB, token)
	if errors.Is(err, accounts.ErrBadInvite) {
		d.badInvite(w, r)
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	mode, err := d.inviteMode(r, inv)
	if err != nil {
		d.error(w, r, err)
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
