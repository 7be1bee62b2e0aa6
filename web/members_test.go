package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/notify"
)

// keepToken is an accounts.InviteSender that enqueues the email as the
// dashboard does and keeps the last token, which the test then follows as
// the invitee would from their mailbox.
type keepToken struct {
	notify.InviteEmails
	last *accounts.Invite
}

func (k *keepToken) SendInvite(ctx context.Context, tx pgx.Tx, inv *accounts.Invite) error {
	c := *inv
	k.last = &c
	return k.InviteEmails.SendInvite(ctx, tx, inv)
}

// invite has by invite email with role and returns the invitation with
// its token.
func (b *dashBundle) invite(t *testing.T, by *accounts.User, email string, role accounts.Role) *accounts.Invite {
	t.Helper()
	k := &keepToken{InviteEmails: notify.InviteEmails{River: b.dash.River, Sealer: b.sealer}}
	team := &accounts.Team{DB: b.db, Invites: k}
	if _, err := team.Invite(context.Background(), audit.System, by, email, role); err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	return k.last
}

// The members page: the owner invites (the email is a job of the account),
// a refusal a person can fix is shown on the form, and the invitation is
// listed with resend and revoke.
func TestMembersPage(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	owner := b.loggedIn(t)
	member := testfactory.Member(context.Background(), t, b.db, b.acct.User.AccountID, accounts.RoleMember)

	page := owner.get(t, "/account/members")
	wantStatus(t, "members page", page, http.StatusOK)
	wantContains(t, "members page", html.UnescapeString(page.Body), b.acct.User.Email, member.Email, "Send invitation", "/account/transfer")

	for _, c := range []struct {
		name string
		form url.Values
		want string
	}{
		{"owner role", url.Values{"email": {"x@example.com"}, "role": {"owner"}}, "Choose admin, member or viewer"},
		{"unknown role", url.Values{"email": {"x@example.com"}, "role": {"root"}}, "Choose admin, member or viewer"},
		{"bad address", url.Values{"email": {"x@example.com, y@example.com"}, "role": {"viewer"}}, "Enter one email address"},
		{"header injection", url.Values{"email": {"x@example.com\r\nBcc: y@example.com"}, "role": {"viewer"}}, "Enter one email address"},
		{"a member", url.Values{"email": {strings.ToUpper(member.Email)}, "role": {"viewer"}}, "is a member of this account already"},
	} {
		a := owner.post(t, "/account/members/invite", c.form)
		wantStatus(t, c.name, a, http.StatusUnprocessableEntity)
		wantContains(t, c.name, html.UnescapeString(a.Body), c.want)
	}
	a := owner.post(t, "/account/members/invite", url.Values{"email": {"new.person@example.com"}, "role": {"admin"}})
	wantStatus(t, "invite", a, http.StatusSeeOther)
	wantContains(t, "after inviting", html.UnescapeString(owner.follow(t, a).Body), "Invitation sent to new.person@example.com as admin", "Resend", "Revoke")
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE args->>'template' = 'member_invite' AND args->>'to' = 'new.person@example.com'
AND (args->>'account_id')::bigint = $1 AND args->>'token' <> ''`, b.acct.User.AccountID); n != 1 {
		t.Errorf("%d invitation emails enqueued, want 1", n)
	}
	var id int64
	if err := b.db.QueryRow(context.Background(), `SELECT id FROM invites WHERE email = 'new.person@example.com'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "resend", owner.post(t, "/account/members/invites/"+strconv.FormatInt(id, 10)+"/resend", nil), http.StatusSeeOther)
	wantStatus(t, "resend the replaced one", owner.post(t, "/account/members/invites/"+strconv.FormatInt(id, 10)+"/resend", nil), http.StatusNotFound)
	wantStatus(t, "revoke a malformed id", owner.post(t, "/account/members/invites/x/revoke", nil), http.StatusNotFound)
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE account_id = $1 AND action = 'member.invite' AND actor_kind = 'user'
AND actor_user_id = $2 AND client_ip <> ''`, b.acct.User.AccountID, b.acct.User.ID); n != 2 {
		t.Errorf("%d member.invite entries by the owner, want 2", n)
	}
	// A member is refused the page and the change.
	mb := b.browser(t)
	mb.login(t, member.Email, testPassword)
	wantStatus(t, "a member's members page", mb.get(t, "/account/members"), http.StatusForbidden)
	wantStatus(t, "a member invites", mb.post(t, "/account/members/invite", url.Values{"email": {"z@example.com"}, "role": {"viewer"}}), http.StatusForbidden)
}

// An invitation's link, in each case: a new address chooses a password
// and is in, seeing the account as its role; an address with a user logs
// in first and comes back; a user logged in as another address is told
// so and spends nothing; a spent link is 410.
func TestMembersInviteLinks(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()

	// (d) A new address.
	inv := b.invite(t, b.acct.User, "newbie@example.com", accounts.RoleViewer)
	anon := b.browser(t)
	page := anon.get(t, "/invites/"+inv.Token)
	wantStatus(t, "the link", page, http.StatusOK)
	wantContains(t, "the link", html.UnescapeString(page.Body), "newbie@example.com", "as <strong>viewer</strong>", "Choose a password", `method="post"`)
	wantStatus(t, "a short password", anon.post(t, "/invites/"+inv.Token, url.Values{"password": {"short"}, "confirm": {"short"}}), http.StatusUnprocessableEntity)
	wantStatus(t, "two passwords", anon.post(t, "/invites/"+inv.Token, url.Values{"password": {"a long password"}, "confirm": {"another one"}}), http.StatusUnprocessableEntity)
	if n := b.count(t, `SELECT count(*) FROM users WHERE email = 'newbie@example.com'`); n != 0 {
		t.Fatalf("a refused form made the user")
	}
	a := anon.post(t, "/invites/"+inv.Token, url.Values{"password": {"a long password"}, "confirm": {"a long password"}})
	wantStatus(t, "accept as a new user", a, http.StatusSeeOther)
	forms := anon.follow(t, a)
	wantStatus(t, "the new member's forms", forms, http.StatusOK)
	wantContains(t, "the new member's forms", forms.Body, "Contact", b.acct.User.Email)
	if strings.Contains(forms.Body, `href="/forms/new"`) {
		t.Error("a viewer is offered New form")
	}
	wantStatus(t, "a viewer's new form", anon.get(t, "/forms/new"), http.StatusForbidden)
	if n := b.count(t, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'newbie@example.com'
AND u.email_verified_at IS NOT NULL`); n != 1 {
		t.Errorf("the new user is in %d accounts, want 1 (verified)", n)
	}
	wantStatus(t, "the spent link", anon.get(t, "/invites/"+inv.Token), http.StatusGone)
	wantStatus(t, "the spent link again", b.browser(t).post(t, "/invites/"+inv.Token, url.Values{"password": {"a long password"}, "confirm": {"a long password"}}), http.StatusGone)

	// (b) Logged in as another address: told so; nothing spent.
	other := testfactory.NewAccount(ctx, t, b.db).User
	inv2 := b.invite(t, b.acct.User, other.Email, accounts.RoleMember)
	wrong := b.loggedIn(t)
	page = wrong.get(t, "/invites/"+inv2.Token)
	wantStatus(t, "another address's link", page, http.StatusOK)
	wantContains(t, "another address's link", html.UnescapeString(page.Body), "this invitation is for", "Log out")
	wantStatus(t, "accept another address's", wrong.post(t, "/invites/"+inv2.Token, nil), http.StatusForbidden)

	// (c) The address has a user: log in, come back, accept.
	br := b.browser(t)
	a = br.post(t, "/invites/"+inv2.Token, nil)
	wantStatus(t, "accept logged out", a, http.StatusSeeOther)
	if want := "/login?next=" + url.QueryEscape("/invites/"+inv2.Token); a.location() != want {
		t.Fatalf("sent to %q, want %q", a.location(), want)
	}
	a = br.post(t, "/login", url.Values{"email": {other.Email}, "password": {testPassword}, "next": {"/invites/" + inv2.Token}})
	if a.location() != "/invites/"+inv2.Token {
		t.Fatalf("after log-in: %q", a.location())
	}
	wantContains(t, "back on the link", html.UnescapeString(br.get(t, a.location()).Body), "Accept and join")
	a = br.post(t, "/invites/"+inv2.Token, nil)
	wantStatus(t, "accept", a, http.StatusSeeOther)
	forms = br.follow(t, a)
	wantContains(t, "after joining", html.UnescapeString(forms.Body), "You joined "+b.acct.User.Email+" as member", `action="/account/switch"`, "New form")
	// Switch back to their own account, and not to a stranger's.
	wantStatus(t, "switch", br.post(t, "/account/switch", url.Values{"account_id": {strconv.FormatInt(other.AccountID, 10)}}), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM sessions WHERE user_id = $1 AND account_id = $2`, other.ID, other.AccountID); n != 1 {
		t.Errorf("the session does not look at the account switched to")
	}
	stranger := testfactory.NewAccount(ctx, t, b.db).User
	wantStatus(t, "switch to a stranger's", br.post(t, "/account/switch", url.Values{"account_id": {strconv.FormatInt(stranger.AccountID, 10)}}), http.StatusNotFound)
	wantStatus(t, "switch to nonsense", br.post(t, "/account/switch", url.Values{"account_id": {"1e99"}}), http.StatusNotFound)
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE account_id = $1 AND action = 'member.join'`, b.acct.User.AccountID); n != 2 {
		t.Errorf("%d member.join entries, want 2", n)
	}
	wantStatus(t, "an unknown token", b.browser(t).get(t, "/invites/"+strings.Repeat("x", 43)), http.StatusGone)
	wantStatus(t, "a huge token", b.browser(t).get(t, "/invites/"+strings.Repeat("x", 5000)), http.StatusGone)
}

// Removal, leaving and the transfer of ownership, through the pages.
func TestMembersRemoveLeaveTransfer(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	acct := b.acct.User.AccountID
	owner := b.loggedIn(t)
	gone := testfactory.Member(ctx, t, b.db, acct, accounts.RoleViewer)
	leaver := testfactory.Member(ctx, t, b.db, acct, accounts.RoleMember)
	heir := testfactory.Member(ctx, t, b.db, acct, accounts.RoleAdmin)

	goneBr := b.browser(t)
	goneBr.login(t, gone.Email, testPassword)
	wantStatus(t, "before removal", goneBr.get(t, "/forms"), http.StatusOK)
	id := strconv.FormatInt(gone.ID, 10)
	wantContains(t, "confirm removal", html.UnescapeString(owner.get(t, "/account/members/"+id+"/remove").Body), "Remove "+gone.Email)
	wantStatus(t, "remove", owner.post(t, "/account/members/"+id+"/remove", nil), http.StatusSeeOther)
	a := goneBr.get(t, "/forms")
	wantStatus(t, "the removed member's next page", a, http.StatusForbidden)
	wantContains(t, "the removed member's next page", a.Body, "You are in no account")
	wantStatus(t, "remove the owner", owner.post(t, "/account/members/"+strconv.FormatInt(b.acct.User.ID, 10)+"/remove", nil), http.StatusConflict)
	wantStatus(t, "change the owner's role", owner.post(t, "/account/members/"+strconv.FormatInt(b.acct.User.ID, 10)+"/role", url.Values{"role": {"viewer"}}), http.StatusConflict)
	wantStatus(t, "make an owner", owner.post(t, "/account/members/"+strconv.FormatInt(leaver.ID, 10)+"/role", url.Values{"role": {"owner"}}), http.StatusConflict)
	wantStatus(t, "change a role", owner.post(t, "/account/members/"+strconv.FormatInt(leaver.ID, 10)+"/role", url.Values{"role": {"viewer"}}), http.StatusSeeOther)

	lb := b.browser(t)
	lb.login(t, leaver.Email, testPassword)
	wantContains(t, "a member's account page", lb.get(t, "/account").Body, `action="/account/leave"`)
	a = lb.post(t, "/account/leave", nil)
	wantStatus(t, "leave", a, http.StatusSeeOther)
	wantContains(t, "after leaving", lb.follow(t, a).Body, "You left", "not a member of any account")
	wantStatus(t, "the owner leaves", owner.post(t, "/account/leave", nil), http.StatusConflict)

	// The transfer asks for the password.
	wantContains(t, "transfer page", html.UnescapeString(owner.get(t, "/account/transfer").Body), heir.Email, `type="password"`)
	wantStatus(t, "a wrong password", owner.post(t, "/account/transfer", url.Values{"to": {strconv.FormatInt(heir.ID, 10)}, "password": {"wrong"}}), http.StatusUnprocessableEntity)
	wantStatus(t, "to a removed member", owner.post(t, "/account/transfer", url.Values{"to": {id}, "password": {testPassword}}), http.StatusUnprocessableEntity)
	a = owner.post(t, "/account/transfer", url.Values{"to": {strconv.FormatInt(heir.ID, 10)}, "password": {testPassword}})
	wantStatus(t, "transfer", a, http.StatusSeeOther)
	if o, err := accounts.Owner(ctx, b.db, acct); err != nil || o.ID != heir.ID {
		t.Errorf("owner after the transfer: %+v, %v", o, err)
	}
	wantStatus(t, "the old owner transfers again", owner.get(t, "/account/transfer"), http.StatusForbidden)
	wantStatus(t, "the old owner is an admin", owner.get(t, "/account/members"), http.StatusOK)
	got := ""
	if err := b.db.QueryRow(ctx, `SELECT string_agg(action, ' ' ORDER BY id) FROM audit_log WHERE account_id = $1 AND action LIKE ANY ('{member.%,account.transfer}')`, acct).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "member.remove member.update member.remove account.transfer"; got != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

// Without SMTP the outbox copy of an invitation keeps its link, which
// would let whoever reads it join as the invited role under the invited
// address: like a reset link, it is its recipient's alone, whatever the
// reader's role.
func TestMembersInviteNotInOthersOutbox(t *testing.T) {
	t.Parallel()
	rt := setupRoles(t)
	b := rt.b
	b.workers(t)
	b.settle(t)
	var id int64
	if err := b.db.QueryRow(context.Background(), `SELECT id FROM outbound_emails WHERE kind = $1 AND recipient = 'invited@example.com'
AND account_id = $2 AND body_text LIKE '%/invites/%'`, notify.TemplateMemberInvite, b.acct.User.AccountID).Scan(&id); err != nil {
		t.Fatalf("the invitation in the account's outbox, with its link: %v", err)
	}
	page := "/outbox/" + strconv.FormatInt(id, 10)
	for _, role := range []accounts.Role{accounts.RoleViewer, accounts.RoleMember, accounts.RoleAdmin, accounts.RoleOwner} {
		br := rt.as(t, role)
		if list := br.get(t, "/outbox"); strings.Contains(list.Body, page) {
			t.Errorf("the outbox as %s lists the invitation", role)
		}
		wantStatus(t, "the invitation as "+string(role), br.get(t, page), http.StatusNotFound)
	}
}

// An account that requires two-factor log-in gets it from whoever joins:
// a new user's log-in goes to the enrolment; a logged-in user without it
// is logged out to set it up at their next log-in.
func TestMembersJoinAccountRequiringTwoFactor(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	if _, err := b.db.Exec(ctx, `UPDATE accounts SET require_two_factor = true WHERE id = $1`, b.acct.User.AccountID); err != nil {
		t.Fatal(err)
	}
	inv := b.invite(t, b.acct.User, "fresh@example.com", accounts.RoleMember)
	br := b.browser(t)
	a := br.post(t, "/invites/"+inv.Token, url.Values{"password": {"a long password"}, "confirm": {"a long password"}})
	wantStatus(t, "accept as a new user", a, http.StatusSeeOther)
	if a.location() != "/login/two-factor" {
		t.Errorf("a new member of an account requiring two-factor log-in went to %q", a.location())
	}
	if n := b.count(t, `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'fresh@example.com'`); n != 0 {
		t.Errorf("a session before the second step")
	}

	other := testfactory.NewAccount(ctx, t, b.db).User
	inv2 := b.invite(t, b.acct.User, other.Email, accounts.RoleViewer)
	ob := b.browser(t)
	ob.login(t, other.Email, testPassword)
	a = ob.post(t, "/invites/"+inv2.Token, nil)
	wantStatus(t, "accept logged in", a, http.StatusSeeOther)
	if a.location() != "/login" {
		t.Errorf("a member without two-factor log-in went to %q", a.location())
	}
	if n := b.count(t, `SELECT count(*) FROM sessions WHERE user_id = $1`, other.ID); n != 0 {
		t.Errorf("the joining user is still logged in without two-factor log-in")
	}
	if n := b.count(t, `SELECT count(*) FROM memberships WHERE user_id = $1 AND account_id = $2`, other.ID, b.acct.User.AccountID); n != 1 {
		t.Errorf("did not join")
	}
}

// Past the account's invitations an hour, the page says so and when to
// try again; past the pending ones, what to do.
func TestMembersInviteLimitsPage(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	owner := b.loggedIn(t)
	if _, err := b.db.Exec(context.Background(), `INSERT INTO invites (account_id, email, role, token_hash, expires_at)
SELECT $1, 'p' || g || '@example.com', 'viewer', sha256(g::text::bytea), now() + interval '7 days' FROM generate_series(1, $2) g`,
		b.acct.User.AccountID, accounts.MaxInvitesSentPerHour); err != nil {
		t.Fatal(err)
	}
	a := owner.post(t, "/account/members/invite", url.Values{"email": {"one-more@example.com"}, "role": {"viewer"}})
	wantStatus(t, "over the hourly limit", a, http.StatusTooManyRequests)
	wantContains(t, "over the hourly limit", html.UnescapeString(a.Body), "Too many invitations this hour", "at most 20 invitations an hour")
	if a.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	ctx := context.Background()
	if _, err := b.db.Exec(ctx, `UPDATE invites SET created_at = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(ctx, `INSERT INTO invites (account_id, email, role, token_hash, expires_at, created_at)
SELECT $1, 'q' || g || '@example.com', 'viewer', sha256(('q' || g)::bytea), now() + interval '7 days', now() - interval '2 hours'
FROM generate_series(1, $2) g`, b.acct.User.AccountID, accounts.MaxPendingInvites-accounts.MaxInvitesSentPerHour); err != nil {
		t.Fatal(err)
	}
	a = owner.post(t, "/account/members/invite", url.Values{"email": {"one-more@example.com"}, "role": {"viewer"}})
	wantStatus(t, "over the pending limit", a, http.StatusConflict)
	wantContains(t, "over the pending limit", html.UnescapeString(a.Body), "Too many pending invitations", "Revoke invitations")
}

// A sign-up that never confirmed its address cannot mail strangers
// through invitations: the form says to confirm first, and nothing is
// stored or enqueued.
func TestMembersInviteNeedsConfirmedAddress(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	br := b.browser(t)
	br.follow(t, br.post(t, "/signup", url.Values{"email": {"spammer@example.com"}, "password": {"a long password"}}))
	u, err := accounts.UserByEmail(ctx, b.db, "spammer@example.com")
	if err != nil || u.Verified {
		t.Fatalf("the new user: %+v %v, want unverified", u, err)
	}
	a := br.post(t, "/account/members/invite", url.Values{"email": {"stranger@victim.example"}, "role": {"viewer"}})
	wantStatus(t, "invite while unconfirmed", a, http.StatusUnprocessableEntity)
	wantContains(t, "invite while unconfirmed", html.UnescapeString(a.Body), "Confirm your own address first")
	if n := b.count(t, `SELECT count(*) FROM invites WHERE email = 'stranger@victim.example'`); n != 0 {
		t.Errorf("%d invitations stored", n)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE args->>'to' = 'stranger@victim.example'`); n != 0 {
		t.Errorf("%d emails enqueued to the stranger", n)
	}
}
