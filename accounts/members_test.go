package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
)

// sentInvites is an accounts.InviteSender that keeps the invitations it
// is asked to send (in the transaction: rolled back ones are kept too).
type sentInvites struct {
	mu   sync.Mutex
	sent []*accounts.Invite
}

func (s *sentInvites) SendInvite(ctx context.Context, tx pgx.Tx, inv *accounts.Invite) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *inv
	s.sent = append(s.sent, &c)
	return nil
}

type membersBundle struct {
	ctx   context.Context
	db    *pgxpool.Pool
	team  *accounts.Team
	sent  *sentInvites
	owner *accounts.User
	admin *accounts.User
	membr *accounts.User
	view  *accounts.User
}

func setupMembers(t *testing.T) *membersBundle {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	owner := testfactory.NewAccount(ctx, t, db).User
	b := &membersBundle{ctx: ctx, db: db, sent: &sentInvites{}, owner: owner}
	b.team = &accounts.Team{DB: db, Invites: b.sent}
	b.admin = testfactory.Member(ctx, t, db, owner.AccountID, accounts.RoleAdmin)
	b.membr = testfactory.Member(ctx, t, db, owner.AccountID, accounts.RoleMember)
	b.view = testfactory.Member(ctx, t, db, owner.AccountID, accounts.RoleViewer)
	return b
}

func act(u *accounts.User) audit.Actor { return audit.User(u.ID, "192.0.2.1") }

// roleOf reads u's role in accountID ("" for none).
func (b *membersBundle) roleOf(t *testing.T, accountID, userID int64) accounts.Role {
	t.Helper()
	var role accounts.Role
	err := b.db.QueryRow(b.ctx, `SELECT coalesce((SELECT role FROM memberships WHERE account_id = $1 AND user_id = $2), '')`, accountID, userID).Scan(&role)
	if err != nil {
		t.Fatal(err)
	}
	return role
}

// actions lists the account's audit actions about its members, oldest
// first, as "action object changed".
func (b *membersBundle) actions(t *testing.T, accountID int64) string {
	t.Helper()
	var s string
	err := b.db.QueryRow(b.ctx, `SELECT coalesce(string_agg(action || ' ' || object_type || ' ' || array_to_string(changed, ','), '|' ORDER BY id), '')
FROM audit_log WHERE account_id = $1 AND action LIKE ANY ('{member.%,invite.%,account.transfer}')`, accountID).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An invitation goes out with a link; GET-style reads spend nothing;
// another user cannot accept it; a new user accepts it once, joins with
// its role, verified and in no other account; the link is then dead.
func TestInviteAcceptNewUser(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	inv, err := b.team.Invite(b.ctx, act(b.admin), b.admin, " New.Person@Example.com ", accounts.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.sent.sent) != 1 || b.sent.sent[0].Token == "" || b.sent.sent[0].Email != "New.Person@Example.com" ||
		b.sent.sent[0].AccountName == "" || b.sent.sent[0].InvitedBy != b.admin.Email {
		t.Fatalf("sent %+v", b.sent.sent)
	}
	var stored []byte
	if err := b.db.QueryRow(b.ctx, `SELECT token_hash FROM invites WHERE id = $1`, inv.ID).Scan(&stored); err != nil || strings.Contains(string(stored), inv.Token) {
		t.Fatalf("the token is stored in clear or unreadable: %v", err)
	}
	pending, err := accounts.PendingInvites(b.ctx, b.db, b.owner.AccountID)
	if err != nil || len(pending) != 1 || pending[0].Role != accounts.RoleViewer {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	for range 2 {
		if got, err := accounts.InviteFor(b.ctx, b.db, inv.Token); err != nil || got.ID != inv.ID || got.InvitedBy != b.admin.Email {
			t.Fatalf("InviteFor = %+v, %v", got, err)
		}
	}
	// Someone else, logged in, cannot take it: and it stays unspent.
	if _, err := accounts.Accept(b.ctx, b.db, act(b.membr), b.membr, inv.Token); !errors.Is(err, accounts.ErrInviteForOther) {
		t.Fatalf("another user's accept: %v", err)
	}
	if _, err := accounts.AcceptNew(b.ctx, b.db, audit.User(0, "192.0.2.9"), inv.Token, "short", nil); err == nil {
		t.Fatal("a short password was taken")
	}
	u, err := accounts.AcceptNew(b.ctx, b.db, audit.User(0, "192.0.2.9"), inv.Token, "a good long password", nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.AccountID != b.owner.AccountID || u.Role != accounts.RoleViewer || !u.Verified || u.Email != "New.Person@Example.com" {
		t.Errorf("new member %+v", u)
	}
	ms, err := accounts.MembershipsOf(b.ctx, b.db, u.ID)
	if err != nil || len(ms) != 1 {
		t.Errorf("the new user is in %+v, %v; want only the inviting account", ms, err)
	}
	if _, err := accounts.CheckLogin(b.ctx, b.db, "new.person@example.com", "a good long password"); err != nil {
		t.Errorf("log-in with the chosen password: %v", err)
	}
	if _, err := accounts.AcceptNew(b.ctx, b.db, audit.User(0, ""), inv.Token, "a good long password", nil); !errors.Is(err, accounts.ErrBadInvite) {
		t.Errorf("second accept: %v, want ErrBadInvite", err)
	}
	if _, err := accounts.InviteFor(b.ctx, b.db, inv.Token); !errors.Is(err, accounts.ErrBadInvite) {
		t.Errorf("InviteFor a spent link: %v", err)
	}
	if got, want := b.actions(t, b.owner.AccountID), "member.invite invite role|member.join user role"; got != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
	var joinedBy int64
	if err := b.db.QueryRow(b.ctx, `SELECT actor_user_id FROM audit_log WHERE action = 'member.join'`).Scan(&joinedBy); err != nil || joinedBy != u.ID {
		t.Errorf("member.join actor = %d, %v; want the new user %d", joinedBy, err, u.ID)
	}
}

// A logged-in user accepts an invitation to their own address (in any
// case) and keeps their other accounts.
func TestInviteAcceptExistingUser(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	other := testfactory.NewAccount(b.ctx, t, b.db).User
	inv, err := b.team.Invite(b.ctx, act(b.owner), b.owner, strings.ToUpper(other.Email), accounts.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.AcceptNew(b.ctx, b.db, audit.User(0, ""), inv.Token, "a good long password", nil); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Fatalf("AcceptNew for an address with a user: %v, want ErrEmailTaken", err)
	}
	u, err := accounts.Accept(b.ctx, b.db, act(other), other, inv.Token)
	if err != nil {
		t.Fatal(err)
	}
	if u.AccountID != b.owner.AccountID || u.Role != accounts.RoleMember {
		t.Errorf("accepted as %+v", u)
	}
	if got := b.roleOf(t, other.AccountID, other.ID); got != accounts.RoleOwner {
		t.Errorf("role in their own account = %q", got)
	}
}

// Who may invite, and what: admins and the owner; never the role owner;
// never an address already a member; not another account's invitation.
func TestInvitePermissions(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	for _, u := range []*accounts.User{b.membr, b.view} {
		if _, err := b.team.Invite(b.ctx, act(u), u, "x@example.com", accounts.RoleViewer); !isRoleError(err) {
			t.Errorf("%s invites: %v, want a RoleError", u.Role, err)
		}
	}
	// The session's role is not trusted: a member who claims admin is refused.
	claimed := *b.membr
	claimed.Role = accounts.RoleAdmin
	if _, err := b.team.Invite(b.ctx, act(&claimed), &claimed, "x@example.com", accounts.RoleViewer); !isRoleError(err) {
		t.Errorf("a member claiming admin invites: %v", err)
	}
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "x@example.com", accounts.RoleOwner); !errors.Is(err, accounts.ErrOwnerUntouchable) {
		t.Errorf("invite as owner: %v", err)
	}
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "x@example.com", "root"); err == nil {
		t.Error("invite as root was taken")
	}
	for _, email := range []string{"", "not an address", "a@b.c\r\nBcc: x@y.z", strings.Repeat("a", 300) + "@example.com"} {
		if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, email, accounts.RoleViewer); err == nil {
			t.Errorf("invite %q was taken", email)
		}
	}
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, strings.ToUpper(b.membr.Email), accounts.RoleViewer); !errors.Is(err, accounts.ErrAlreadyMember) {
		t.Errorf("invite a member: %v", err)
	}
	inv, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "x@example.com", accounts.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	stranger := testfactory.NewAccount(b.ctx, t, b.db).User
	if err := accounts.RevokeInvite(b.ctx, b.db, act(stranger), stranger, inv.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("another account's owner revokes: %v, want ErrNotFound", err)
	}
	if _, err := b.team.Resend(b.ctx, act(stranger), stranger, inv.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("another account's owner resends: %v, want ErrNotFound", err)
	}
	if err := accounts.RevokeInvite(b.ctx, b.db, act(b.membr), b.membr, inv.ID); !isRoleError(err) {
		t.Errorf("a member revokes: %v", err)
	}
	if err := accounts.RevokeInvite(b.ctx, b.db, act(b.owner), b.owner, inv.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.InviteFor(b.ctx, b.db, inv.Token); !errors.Is(err, accounts.ErrBadInvite) {
		t.Errorf("a revoked link: %v", err)
	}
	if _, err := accounts.AcceptNew(b.ctx, b.db, audit.User(0, ""), inv.Token, "a good long password", nil); !errors.Is(err, accounts.ErrBadInvite) {
		t.Errorf("accept a revoked link: %v", err)
	}
	if err := accounts.RevokeInvite(b.ctx, b.db, act(b.owner), b.owner, inv.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
}

// Inviting an address again, or resending, replaces the invitation: the
// old link is dead, one is pending, and each send counts.
func TestInviteReplaceAndExpire(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	first, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "x@example.com", accounts.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "X@example.com", accounts.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	third, err := b.team.Resend(b.ctx, act(b.owner), b.owner, second.ID)
	if err != nil || third.Role != accounts.RoleMember {
		t.Fatalf("resend = %+v, %v", third, err)
	}
	for _, old := range []*accounts.Invite{first, second} {
		if _, err := accounts.InviteFor(b.ctx, b.db, old.Token); !errors.Is(err, accounts.ErrBadInvite) {
			t.Errorf("a replaced link: %v", err)
		}
	}
	pending, _ := accounts.PendingInvites(b.ctx, b.db, b.owner.AccountID)
	if len(pending) != 1 || pending[0].ID != third.ID {
		t.Errorf("pending = %+v", pending)
	}
	// Expired: dead, not listed, not sent, but replaced by a new invite.
	if _, err := b.db.Exec(b.ctx, `UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1`, third.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.InviteFor(b.ctx, b.db, third.Token); !errors.Is(err, accounts.ErrBadInvite) {
		t.Errorf("an expired link: %v", err)
	}
	if _, err := accounts.InviteLive(b.ctx, b.db, third.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("InviteLive of an expired invitation: %v", err)
	}
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "x@example.com", accounts.RoleMember); err != nil {
		t.Errorf("invite again after expiry: %v", err)
	}
	if _, err := accounts.InviteFor(b.ctx, b.db, strings.Repeat("a", 101)); !errors.Is(err, accounts.ErrBadInvite) {
		t.Errorf("a long token: %v", err)
	}
}

// At most MaxInvitesSentPerHour an hour and MaxPendingInvites pending.
func TestInviteLimits(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	for i := range accounts.MaxInvitesSentPerHour {
		if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, fmt.Sprintf("p%d@example.com", i), accounts.RoleViewer); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "one-more@example.com", accounts.RoleViewer); !errors.Is(err, accounts.ErrTooManyInvitesSent) {
		t.Fatalf("over the hourly limit: %v", err)
	}
	pending, _ := accounts.PendingInvites(b.ctx, b.db, b.owner.AccountID)
	if _, err := b.team.Resend(b.ctx, act(b.admin), b.admin, pending[0].ID); !errors.Is(err, accounts.ErrTooManyInvitesSent) {
		t.Fatalf("a resend over the hourly limit: %v", err)
	}
	// An hour later, with 50 pending: the pending limit.
	if _, err := b.db.Exec(b.ctx, `UPDATE invites SET created_at = created_at - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(b.ctx, `INSERT INTO invites (account_id, email, role, token_hash, expires_at, created_at)
SELECT $1, 'q' || g || '@example.com', 'viewer', sha256(g::text::bytea), now() + interval '1 day', now() - interval '2 hours'
FROM generate_series(1, $2) g`, b.owner.AccountID, accounts.MaxPendingInvites-accounts.MaxInvitesSentPerHour); err != nil {
		t.Fatal(err)
	}
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "one-more@example.com", accounts.RoleViewer); !errors.Is(err, accounts.ErrTooManyPendingInvites) {
		t.Fatalf("over the pending limit: %v", err)
	}
	// Replacing a pending one is not one more.
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "q1@example.com", accounts.RoleMember); err != nil {
		t.Errorf("re-invite at the pending limit: %v", err)
	}
}

// A user who has not confirmed their address sends no invitation nor a
// resend: a sign-up with a made-up address must not mail strangers. Once
// confirmed, they may.
func TestInviteNeedsConfirmedInviter(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	pending, err := b.team.Invite(b.ctx, act(b.owner), b.owner, "waiting@example.com", accounts.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(b.ctx, `UPDATE users SET email_verified_at = NULL WHERE id = $1`, b.owner.ID); err != nil {
		t.Fatal(err)
	}
	before := len(b.sent.sent)
	if _, err := b.team.Invite(b.ctx, act(b.owner), b.owner, "stranger@victim.example", accounts.RoleViewer); !errors.Is(err, accounts.ErrInviterUnverified) {
		t.Errorf("an unconfirmed owner's invitation: %v, want ErrInviterUnverified", err)
	}
	if _, err := b.team.Resend(b.ctx, act(b.owner), b.owner, pending.ID); !errors.Is(err, accounts.ErrInviterUnverified) {
		t.Errorf("an unconfirmed owner's resend: %v, want ErrInviterUnverified", err)
	}
	if n := testfactory.Count(t, b.db, `SELECT count(*) FROM invites WHERE email = 'stranger@victim.example'`); n != 0 || len(b.sent.sent) != before {
		t.Errorf("%d invitations stored and %d sent, want none", n, len(b.sent.sent)-before)
	}
	if _, err := b.db.Exec(b.ctx, `UPDATE users SET email_verified_at = now() WHERE id = $1`, b.owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.team.Invite(b.ctx, act(b.owner), b.owner, "stranger@victim.example", accounts.RoleViewer); err != nil {
		t.Errorf("once confirmed: %v", err)
	}
}

// Changes of role: admins and the owner, never on the owner, never to
// owner, never their own; another account's user is not found.
func TestChangeRole(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	cases := []struct {
		name string
		by   *accounts.User
		who  int64
		to   accounts.Role
		want error
	}{
		{"member changes", b.membr, b.view.ID, accounts.RoleMember, errRole},
		{"viewer changes", b.view, b.view.ID, accounts.RoleAdmin, errRole},
		{"admin makes an owner", b.admin, b.membr.ID, accounts.RoleOwner, accounts.ErrOwnerUntouchable},
		{"admin demotes the owner", b.admin, b.owner.ID, accounts.RoleViewer, accounts.ErrOwnerUntouchable},
		{"owner makes an owner", b.owner, b.membr.ID, accounts.RoleOwner, accounts.ErrOwnerUntouchable},
		{"admin promotes themselves", b.admin, b.admin.ID, accounts.RoleAdmin, accounts.ErrSelf},
		{"a user of no such membership", b.admin, b.owner.ID + 1000, accounts.RoleViewer, accounts.ErrNotFound},
	}
	for _, c := range cases {
		err := accounts.ChangeRole(b.ctx, b.db, act(c.by), c.by, c.who, c.to)
		if c.want == errRole && !isRoleError(err) || c.want != errRole && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	stranger := testfactory.NewAccount(b.ctx, t, b.db).User
	if err := accounts.ChangeRole(b.ctx, b.db, act(b.admin), b.admin, stranger.ID, accounts.RoleViewer); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("another account's user: %v", err)
	}
	if err := accounts.ChangeRole(b.ctx, b.db, act(b.admin), b.admin, b.membr.ID, accounts.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := accounts.ChangeRole(b.ctx, b.db, act(b.admin), b.admin, b.membr.ID, accounts.RoleViewer); err != nil {
		t.Fatal(err) // the same role: nothing to record
	}
	if got := b.roleOf(t, b.owner.AccountID, b.membr.ID); got != accounts.RoleViewer {
		t.Errorf("role = %q", got)
	}
	if got, want := b.actions(t, b.owner.AccountID), "member.update user role"; got != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
	if got := b.roleOf(t, b.owner.AccountID, b.owner.ID); got != accounts.RoleOwner {
		t.Errorf("the owner is %q", got)
	}
}

// Removal and leaving: nobody removes the owner; members may not remove;
// the owner may not leave; a removed member's session no longer sees the
// account.
func TestRemoveAndLeave(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	if err := accounts.RemoveMember(b.ctx, b.db, act(b.admin), b.admin, b.owner.ID); !errors.Is(err, accounts.ErrOwnerUntouchable) {
		t.Errorf("admin removes the owner: %v", err)
	}
	if err := accounts.RemoveMember(b.ctx, b.db, act(b.membr), b.membr, b.view.ID); !isRoleError(err) {
		t.Errorf("member removes: %v", err)
	}
	if err := accounts.Leave(b.ctx, b.db, act(b.owner), b.owner); !errors.Is(err, accounts.ErrOwnerLeaving) {
		t.Errorf("owner leaves: %v", err)
	}
	if err := accounts.RemoveMember(b.ctx, b.db, act(b.owner), b.owner, b.owner.ID); !errors.Is(err, accounts.ErrOwnerLeaving) {
		t.Errorf("owner removes themselves: %v", err)
	}
	token, err := accounts.NewSession(b.ctx, b.db, b.view, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.RemoveMember(b.ctx, b.db, act(b.admin), b.admin, b.view.ID); err != nil {
		t.Fatal(err)
	}
	s, err := accounts.SessionFor(b.ctx, b.db, token)
	if err != nil || s.AccountID != 0 || s.Role != "" {
		t.Errorf("the removed member's session = %+v, %v; want in no account", s, err)
	}
	if err := accounts.RemoveMember(b.ctx, b.db, act(b.admin), b.admin, b.view.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	if err := accounts.Leave(b.ctx, b.db, act(b.membr), b.membr); err != nil {
		t.Fatal(err)
	}
	if got := b.roleOf(t, b.owner.AccountID, b.membr.ID); got != "" {
		t.Errorf("after leaving: %q", got)
	}
	// The removed admin cannot act any more, whatever their session says.
	if err := accounts.RemoveMember(b.ctx, b.db, act(b.owner), b.owner, b.admin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "x@example.com", accounts.RoleViewer); !isRoleError(err) {
		t.Errorf("a removed admin invites: %v", err)
	}
	if got, want := b.actions(t, b.owner.AccountID), "member.remove user |member.remove user |member.remove user "; got != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

// Only the owner transfers, to a member, becoming an admin.
func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	if err := accounts.TransferOwnership(b.ctx, b.db, act(b.admin), b.admin, b.membr.ID); !isRoleError(err) {
		t.Errorf("admin transfers: %v", err)
	}
	stranger := testfactory.NewAccount(b.ctx, t, b.db).User
	if err := accounts.TransferOwnership(b.ctx, b.db, act(b.owner), b.owner, stranger.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("transfer to a non-member: %v", err)
	}
	if err := accounts.TransferOwnership(b.ctx, b.db, act(b.owner), b.owner, b.owner.ID); !errors.Is(err, accounts.ErrSelf) {
		t.Errorf("transfer to themselves: %v", err)
	}
	if err := accounts.TransferOwnership(b.ctx, b.db, act(b.owner), b.owner, b.view.ID); err != nil {
		t.Fatal(err)
	}
	if o, err := accounts.Owner(b.ctx, b.db, b.owner.AccountID); err != nil || o.ID != b.view.ID {
		t.Errorf("owner = %+v, %v", o, err)
	}
	if got := b.roleOf(t, b.owner.AccountID, b.owner.ID); got != accounts.RoleAdmin {
		t.Errorf("the old owner is %q, want admin", got)
	}
	// The old owner's session role no longer lets them transfer again.
	if err := accounts.TransferOwnership(b.ctx, b.db, act(b.owner), b.owner, b.membr.ID); !isRoleError(err) {
		t.Errorf("the old owner transfers again: %v", err)
	}
	if got, want := b.actions(t, b.owner.AccountID), "account.transfer account owner"; got != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

// Concurrent accepts of one link: exactly one joins.
func TestInviteConcurrentAccepts(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	other := testfactory.NewAccount(b.ctx, t, b.db).User
	inv, err := b.team.Invite(b.ctx, act(b.admin), b.admin, other.Email, accounts.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	newInv, err := b.team.Invite(b.ctx, act(b.admin), b.admin, "fresh@example.com", accounts.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[i] = accounts.Accept(b.ctx, b.db, act(other), other, inv.Token)
		}()
		go func() {
			defer wg.Done()
			_, errs[n+i] = accounts.AcceptNew(b.ctx, b.db, audit.User(0, ""), newInv.Token, "a good long password", nil)
		}()
	}
	wg.Wait()
	for half, part := range [][]error{errs[:n], errs[n:]} {
		ok := 0
		for _, err := range part {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, accounts.ErrBadInvite), errors.Is(err, accounts.ErrEmailTaken):
			default:
				t.Errorf("accept %d: %v", half, err)
			}
		}
		if ok != 1 {
			t.Errorf("accepts %d: %d succeeded, want 1", half, ok)
		}
	}
	if got := b.actions(t, b.owner.AccountID); strings.Count(got, "member.join") != 2 {
		t.Errorf("audit = %q, want two joins", got)
	}
}

// A transfer to a member racing the member's removal: one wins, and the
// account has exactly one owner, who is a member.
func TestTransferRacesRemoval(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	for round := range 6 {
		owner, err := accounts.Owner(b.ctx, b.db, b.owner.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		admin := testfactory.Member(b.ctx, t, b.db, b.owner.AccountID, accounts.RoleAdmin)
		target := testfactory.Member(b.ctx, t, b.db, b.owner.AccountID, accounts.RoleMember)
		var wg sync.WaitGroup
		var transferErr, removeErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			transferErr = accounts.TransferOwnership(b.ctx, b.db, act(owner), owner, target.ID)
		}()
		go func() { defer wg.Done(); removeErr = accounts.RemoveMember(b.ctx, b.db, act(admin), admin, target.ID) }()
		wg.Wait()
		switch {
		case transferErr == nil && errors.Is(removeErr, accounts.ErrOwnerUntouchable):
		case removeErr == nil && errors.Is(transferErr, accounts.ErrNotFound):
		default:
			t.Fatalf("round %d: transfer %v, removal %v", round, transferErr, removeErr)
		}
		var owners int
		if err := b.db.QueryRow(b.ctx, `SELECT count(*) FROM memberships WHERE account_id = $1 AND role = 'owner'`, b.owner.AccountID).Scan(&owners); err != nil || owners != 1 {
			t.Fatalf("round %d: %d owners, %v", round, owners, err)
		}
	}
}

// Switching: only to an account the user is in; the session then looks at
// it, and the next log-in opens it.
func TestSwitchAccount(t *testing.T) {
	t.Parallel()
	b := setupMembers(t)
	second := testfactory.NewAccount(b.ctx, t, b.db).User
	inv, err := b.team.Invite(b.ctx, act(b.owner), b.owner, second.Email, accounts.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Accept(b.ctx, b.db, act(second), second, inv.Token); err != nil {
		t.Fatal(err)
	}
	token, err := accounts.NewSession(b.ctx, b.db, second, "", "")
	if err != nil {
		t.Fatal(err)
	}
	stranger := testfactory.NewAccount(b.ctx, t, b.db).User
	if err := accounts.SwitchAccount(b.ctx, b.db, token, second.ID, stranger.AccountID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("switch to a stranger's account: %v", err)
	}
	if err := accounts.SwitchAccount(b.ctx, b.db, token, second.ID, b.owner.AccountID); err != nil {
		t.Fatal(err)
	}
	s, err := accounts.SessionFor(b.ctx, b.db, token)
	if err != nil || s.AccountID != b.owner.AccountID || s.Role != accounts.RoleViewer {
		t.Errorf("session = %+v, %v", s, err)
	}
	if u, err := accounts.UserByEmail(b.ctx, b.db, second.Email); err != nil || u.AccountID != b.owner.AccountID {
		t.Errorf("the next log-in opens %+v, %v", u, err)
	}
	if err := accounts.SwitchAccount(b.ctx, b.db, token, second.ID, second.AccountID); err != nil {
		t.Fatal(err)
	}
	if s, _ := accounts.SessionFor(b.ctx, b.db, token); s.AccountID != second.AccountID || s.Role != accounts.RoleOwner {
		t.Errorf("after switching back: %+v", s)
	}
}

// errRole stands in the tables for a *accounts.RoleError.
var errRole error = &accounts.RoleError{}

func isRoleError(err error) bool {
	var re *accounts.RoleError
	return errors.As(err, &re)
}
