package accounts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/mail"
)

// Invitations to an account (docs/SECURITY.md, "Members and roles"): an
// admin or the owner invites an address with a role; the email carries a
// single-use link, kept as its SHA-256 (like email_tokens'); accepting it
// makes the member. members.go has the rest of the members' changes.

// Limits of invitations: how long a link works, how many may wait at once
// in an account, and how many an account may send an hour (a resend is a
// send), so that an account cannot be used to mail strangers in bulk.
const (
	InviteLifetime        = 7 * 24 * time.Hour
	MaxPendingInvites     = 50
	MaxInvitesSentPerHour = 20
)

var (
	// ErrAlreadyMember is returned when inviting an address that is a
	// member of the account already.
	ErrAlreadyMember error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeMemberConflict, Msg: "already a member",
		Title:  "Already a member",
		Detail: "This address is a member of the account already.",
		Hint:   "Change their role in the list of members instead."}
	// ErrTooManyPendingInvites is returned over MaxPendingInvites.
	ErrTooManyPendingInvites error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeMemberConflict, Msg: "too many pending invites",
		Title:  "Too many pending invitations",
		Detail: fmt.Sprintf("An account may have at most %d invitations waiting at once.", MaxPendingInvites),
		Hint:   "Revoke invitations that are no longer wanted, or wait for them to be accepted or to expire."}
	// ErrTooManyInvitesSent is returned over MaxInvitesSentPerHour.
	ErrTooManyInvitesSent error = &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Msg: "too many invites sent",
		Title:      "Too many invitations this hour",
		Detail:     fmt.Sprintf("An account may send at most %d invitations an hour (resending one counts).", MaxInvitesSentPerHour),
		Hint:       "Wait an hour, then send the rest.",
		RetryAfter: time.Hour}
	// ErrInviterUnverified is returned when the user inviting has not
	// confirmed their own address: until then Intake mails no one for
	// them, or a sign-up with a made-up address could mail strangers.
	ErrInviterUnverified error = &intake.Error{Kind: intake.Forbidden, Type: intake.TypeForbidden, Msg: "inviter's address not confirmed",
		Title:  "Confirm your address first",
		Detail: "Invitations are sent only by users who have confirmed their own email address.",
		Hint:   "Open the link in the email we sent you when you signed up, or send it again from the banner at the top of the page."}
	// ErrBadInvite is returned for an invitation link that is unknown,
	// accepted, revoked or expired (not told apart).
	ErrBadInvite = errors.New("this invitation is unknown, used, revoked or expired")
	// ErrInviteForOther is returned when a user accepts an invitation sent
	// to another address.
	ErrInviteForOther = errors.New("this invitation is for another address")
)

// Invite is an invitation as listed and as its link shows it: never its
// token but the one time it is issued (Token).
type Invite struct {
	ID          int64
	AccountID   int64
	AccountName string
	Email       string
	Role        Role
	InvitedBy   string // the inviter's email; "" once they are gone
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Token       string // only when just issued: the link's
}

// InviteSender enqueues, in tx, the email that carries inv's link, so the
// email exists exactly when the invitation does. notify.InviteEmails
// implements it.
type InviteSender interface {
	SendInvite(ctx context.Context, tx pgx.Tx, inv *Invite) error
}

// Team is what members do to an account's membership from the dashboard:
// invite, resend and revoke (which send through Invites), accept.
type Team struct {
	DB      *pgxpool.Pool
	Invites InviteSender
}

const invitesColumnsSQL = `i.id, i.account_id, a.name, i.email, i.role, coalesce(u.email, ''), i.created_at, i.expires_at
FROM invites i JOIN accounts a ON a.id = i.account_id LEFT JOIN users u ON u.id = i.invited_by`

func scanInvite(row pgx.Row) (*Invite, error) {
	inv := &Invite{}
	err := row.Scan(&inv.ID, &inv.AccountID, &inv.AccountName, &inv.Email, &inv.Role, &inv.InvitedBy, &inv.CreatedAt, &inv.ExpiresAt)
	return inv, err
}

// livePredicateSQL holds for an invite whose link still works.
const livePredicateSQL = `i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()`

// PendingInvites lists the account's invitations whose links still work,
// newest first.
func PendingInvites(ctx context.Context, db database.Executor, accountID int64) ([]*Invite, error) {
	rows, err := db.Query(ctx, `SELECT `+invitesColumnsSQL+` WHERE i.account_id = $1 AND `+livePredicateSQL+` ORDER BY i.id DESC`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Invite, error) { return scanInvite(row) })
}

// InviteFor returns the live invitation of a link's token, without
// spending it (the page a link opens asks before it acts). It returns
// ErrBadInvite.
func InviteFor(ctx context.Context, db database.Executor, token string) (*Invite, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrBadInvite
	}
	inv, err := scanInvite(db.QueryRow(ctx, `SELECT `+invitesColumnsSQL+` WHERE i.token_hash = $1 AND `+livePredicateSQL, tokenHash(token)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrBadInvite
	}
	return inv, err
}

// InviteLive returns the invitation id while its link still works — the
// email worker sends no dead link. It returns ErrNotFound otherwise.
func InviteLive(ctx context.Context, db database.Executor, id int64) (*Invite, error) {
	inv, err := scanInvite(db.QueryRow(ctx, `SELECT `+invitesColumnsSQL+` WHERE i.id = $1 AND `+livePredicateSQL, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return inv, err
}

// Invite invites email into by's account with role and sends the link. An
// admin or the owner may; an address already a member is ErrAlreadyMember;
// a pending invitation to the address is revoked and replaced (a new link,
// a new week). It returns a *RoleError, ErrInviterUnverified,
// ErrOwnerUntouchable (role owner), ErrTooManyPendingInvites,
// ErrTooManyInvitesSent, or an error for an invalid address or role. It records "member.invite".
func (s *Team) Invite(ctx context.Context, actor audit.Actor, by *User, email string, role Role) (*Invite, error) {
	email = strings.TrimSpace(email)
	if !mail.ValidAddress(email) {
		return nil, fmt.Errorf("%q is not an email address", email)
	}
	role, err := ParseInviteRole(string(role))
	if err != nil {
		return nil, err
	}
	var inv *Invite
	err = database.WithTx(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		inv, err = s.issue(ctx, tx, actor, by, email, role)
		return err
	})
	return inv, err
}

// Resend sends the pending invitation id of by's account again: a new
// link (the old one stops working) valid for a new week. It counts as a
// sent invitation, and returns what Invite does, or ErrNotFound.
func (s *Team) Resend(ctx context.Context, actor audit.Actor, by *User, id int64) (*Invite, error) {
	var inv *Invite
	err := database.WithTx(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := require(ctx, tx, by, RoleAdmin); err != nil {
			return err
		}
		var email string
		var role Role
		err := tx.QueryRow(ctx, `SELECT email, role FROM invites i WHERE id = $1 AND account_id = $2 AND `+livePredicateSQL,
			id, by.AccountID).Scan(&email, &role)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		inv, err = s.issue(ctx, tx, actor, by, email, role)
		return err
	})
	return inv, err
}

// The statements of issue, in its order.
const (
	// NO KEY: the lock orders invitations of one account, and must not
	// hold up the inserts that reference the account meanwhile (their
	// foreign keys take KEY SHARE: submissions' counts, the audit log).
	lockAccountSQL  = `SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE`
	isMemberSQL     = `SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.account_id = $1 AND lower(u.email) = lower($2))`
	inviteCountsSQL = `SELECT count(*) FILTER (WHERE ` + livePredicateSQL + ` AND lower(i.email) <> lower($2)),
	count(*) FILTER (WHERE i.created_at > now() - interval '1 hour')
FROM invites i WHERE i.account_id = $1`
	replaceInviteSQL = `UPDATE invites SET revoked_at = now() WHERE account_id = $1 AND lower(email) = lower($2) AND accepted_at IS NULL AND revoked_at IS NULL`
	insertInviteSQL  = `INSERT INTO invites (account_id, email, role, token_hash, invited_by, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 second') RETURNING id, created_at, expires_at`
)

// issue makes an invitation in tx and sends it. The account's row is
// locked first, so the limits count and insert one invitation at a time.
func (s *Team) issue(ctx context.Context, tx pgx.Tx, actor audit.Actor, by *User, email string, role Role) (*Invite, error) {
	if _, err := require(ctx, tx, by, RoleAdmin); err != nil {
		return nil, err
	}
	var verified bool
	if err := tx.QueryRow(ctx, `SELECT email_verified_at IS NOT NULL FROM users WHERE id = $1`, by.ID).Scan(&verified); err != nil {
		return nil, err
	}
	if !verified {
		return nil, ErrInviterUnverified
	}
	if _, err := tx.Exec(ctx, lockAccountSQL, by.AccountID); err != nil {
		return nil, err
	}
	var member bool
	if err := tx.QueryRow(ctx, isMemberSQL, by.AccountID, email).Scan(&member); err != nil {
		return nil, err
	}
	if member {
		return nil, ErrAlreadyMember
	}
	var pending, sent int
	if err := tx.QueryRow(ctx, inviteCountsSQL, by.AccountID, email).Scan(&pending, &sent); err != nil {
		return nil, err
	}
	if sent >= MaxInvitesSentPerHour {
		return nil, ErrTooManyInvitesSent
	}
	if pending >= MaxPendingInvites {
		return nil, ErrTooManyPendingInvites
	}
	if _, err := tx.Exec(ctx, replaceInviteSQL, by.AccountID, email); err != nil {
		return nil, err
	}
	inv := &Invite{AccountID: by.AccountID, Email: email, Role: role, InvitedBy: by.Email, Token: randomToken()}
	err := tx.QueryRow(ctx, insertInviteSQL, by.AccountID, email, string(role), tokenHash(inv.Token), by.ID, int(InviteLifetime.Seconds())).
		Scan(&inv.ID, &inv.CreatedAt, &inv.ExpiresAt)
	if err != nil {
		return nil, err
	}
	if err := tx.QueryRow(ctx, `SELECT name FROM accounts WHERE id = $1`, by.AccountID).Scan(&inv.AccountName); err != nil {
		return nil, err
	}
	if err := audit.Record(ctx, tx, audit.Entry{AccountID: by.AccountID, Actor: actor, Action: "member.invite",
		ObjectType: "invite", ObjectID: strconv.FormatInt(inv.ID, 10), Changed: []string{"role"}}); err != nil {
		return nil, err
	}
	if s.Invites == nil {
		return nil, errors.New("accounts: no InviteSender to send the invitation with")
	}
	return inv, s.Invites.SendInvite(ctx, tx, inv)
}

// RevokeInvite revokes the pending invitation id of by's account: its link
// stops working. An admin or the owner may. It returns a *RoleError or
// ErrNotFound (no such pending invitation in the account), and records
// "invite.revoke".
func RevokeInvite(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, by *User, id int64) error {
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := require(ctx, tx, by, RoleAdmin); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE invites i SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND `+livePredicateSQL, id, by.AccountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: by.AccountID, Actor: actor, Action: "invite.revoke",
			ObjectType: "invite", ObjectID: strconv.FormatInt(id, 10), Changed: []string{"revoked"}})
	})
}

// spendInviteSQL spends a live invitation: of two accepts of one link,
// one updates the row and the other finds it spent.
const spendInviteSQL = `UPDATE invites i SET accepted_at = now() WHERE token_hash = $1 AND ` + livePredicateSQL + `
RETURNING id, account_id, email, role`

// join spends the invitation of token for the user userID, whose address
// is email, makes them a member with its role (a member already keeps
// their role) and looks at the account from then on. It returns the
// account and role, ErrBadInvite or ErrInviteForOther (and spends nothing
// then).
func join(ctx context.Context, tx pgx.Tx, actor audit.Actor, token string, userID int64, email string) (int64, Role, error) {
	if token == "" || len(token) > 100 {
		return 0, "", ErrBadInvite
	}
	var (
		id, accountID int64
		to            string
		role          Role
	)
	err := tx.QueryRow(ctx, spendInviteSQL, tokenHash(token)).Scan(&id, &accountID, &to, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", ErrBadInvite
	}
	if err != nil {
		return 0, "", err
	}
	if !strings.EqualFold(to, email) {
		return 0, "", ErrInviteForOther // the transaction rolls back: unspent
	}
	// The link was read at the address: it is verified, as a reset link
	// verifies it.
	b := &pgx.Batch{}
	b.Queue(`UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1`, userID)
	b.Queue(`INSERT INTO memberships (account_id, user_id, role, last_used_at) VALUES ($1, $2, $3, now())
ON CONFLICT (account_id, user_id) DO UPDATE SET last_used_at = now() RETURNING role`, accountID, userID, string(role)).
		QueryRow(func(row pgx.Row) error { return row.Scan(&role) })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, "", err
	}
	if actor.Kind == audit.ActorUser && actor.UserID == 0 {
		actor.UserID = userID
	}
	err = audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "member.join",
		ObjectType: "user", ObjectID: strconv.FormatInt(userID, 10), Changed: []string{"role"}})
	return accountID, role, err
}

// Accept spends the invitation of token for the logged-in user u, whose
// address it must be sent to, and returns u as a member of its account,
// acting in it (the session's account is the caller's to switch:
// SwitchAccount). It returns ErrBadInvite or ErrInviteForOther, and
// records "member.join".
func Accept(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, u *User, token string) (*User, error) {
	out := *u
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		out.AccountID, out.Role, err = join(ctx, tx, actor, token, u.ID, u.Email)
		return err
	})
	if err != nil {
		return nil, err
	}
	out.Verified = true
	return &out, nil
}

// AcceptNew spends the invitation of token for an address that has no
// user yet: it makes the user, verified (the link was read at the
// address), with password and no account of its own, and makes them a
// member. actor is audit.User(0, address): the new user's id is filled
// in. hash runs the password hashing (nil: directly). It returns the user
// acting in the account, ErrBadInvite, ErrEmailTaken (the address has a
// user: they log in and accept), or an error for a short password.
func AcceptNew(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, token, password string, hash func(func() error) error) (*User, error) {
	if len(password) < MinPasswordLength {
		return nil, fmt.Errorf("the password must have at least %d characters", MinPasswordLength)
	}
	inv, err := InviteFor(ctx, db, token)
	if err != nil {
		return nil, err
	}
	if hash == nil {
		hash = func(fn func() error) error { return fn() }
	}
	var h string
	if err := hash(func() error { h = HashPassword(password); return nil }); err != nil {
		return nil, err
	}
	u := &User{Email: inv.Email, Verified: true}
	err = database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO users (email, password_hash, email_verified_at) VALUES ($1, $2, now())
ON CONFLICT DO NOTHING RETURNING id`, inv.Email, h).Scan(&u.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrEmailTaken
		}
		if err != nil {
			return err
		}
		u.AccountID, u.Role, err = join(ctx, tx, actor, token, u.ID, u.Email)
		return err
	})
	if database.IsUniqueViolation(err, "users_email_key") {
		return nil, ErrEmailTaken
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}
