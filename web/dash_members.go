package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
)

// The members of an account (docs/SECURITY.md, "Members and roles"): the
// list with its invitations (admins and the owner), switching between
// one's accounts and leaving one. The page an invitation's link opens is
// dash_invite.go's; the owner handing the account over, dash_transfer.go's.

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
		case errors.Is(err, accounts.ErrInviterUnverified):
			v.Errors["email"] = "Confirm your own address first: open the link in the email we sent you when you signed up, or send it again from the banner above."
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
