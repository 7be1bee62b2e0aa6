package accounts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
)

// The members of an account (docs/SECURITY.md, "Members and roles"): who is
// in it (the invitations that bring people in: invites.go), changes of
// role, removal, leaving, and handing the ownership to another member. Each change is one
// transaction that reads the acting user's role again under a lock (the
// edge's check is not the only one), and records its change in the audit
// log.

var (
	// ErrSelf is returned when a member changes their own role, removes
	// themselves (that is Leave) or hands the ownership to themselves.
	ErrSelf error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeMemberConflict, Msg: "a change of one's own membership",
		Title:  "Not on yourself",
		Detail: "Nobody changes their own role or hands the account to themselves.",
		Hint:   "Ask another admin or the owner to change your role; to go, leave the account from the Account page."}
	// ErrOwnerUntouchable is returned when a change would remove, demote
	// or be made by an admin on the owner, or would make an owner other
	// than by a transfer.
	ErrOwnerUntouchable error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeMemberConflict, Msg: "the owner cannot be changed so",
		Title:  "The owner stays the owner",
		Detail: "Nobody removes the owner or changes their role, and nobody is made owner but by the owner handing the account over.",
		Hint:   "The owner may transfer the ownership to another member, then leave or be removed as an admin."}
	// ErrOwnerLeaving is returned when the owner asks to leave.
	ErrOwnerLeaving error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeMemberConflict, Msg: "the owner cannot leave",
		Title:  "The owner cannot leave",
		Detail: "An account always has its owner.",
		Hint:   "Transfer the ownership to another member first; you stay as an admin and may then leave."}
)

// Member is a user as an account lists them.
type Member struct {
	UserID    int64
	Email     string
	Role      Role
	JoinedAt  time.Time
	TwoFactor bool // their two-factor log-in is on
}

// Membership is one account a user is in, as the account switcher lists it.
type Membership struct {
	AccountID int64
	Name      string
	Role      Role
}

const membersSQL = `SELECT u.id, u.email, m.role, m.created_at, coalesce(t.enabled_at IS NOT NULL, false)
FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN two_factor t ON t.user_id = u.id
WHERE m.account_id = $1
ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END, lower(u.email)`

// Members lists the account's members, the owner first, then by role and
// address.
func Members(ctx context.Context, db database.Executor, accountID int64) ([]Member, error) {
	rows, err := db.Query(ctx, membersSQL, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Member, error) {
		var m Member
		return m, row.Scan(&m.UserID, &m.Email, &m.Role, &m.JoinedAt, &m.TwoFactor)
	})
}

// MembershipsOf lists the accounts the user is in, by name.
func MembershipsOf(ctx context.Context, db database.Executor, userID int64) ([]Membership, error) {
	rows, err := db.Query(ctx, `SELECT a.id, a.name, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id
WHERE m.user_id = $1 ORDER BY lower(a.name), a.id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Membership, error) {
		var m Membership
		return m, row.Scan(&m.AccountID, &m.Name, &m.Role)
	})
}

// actingRole reads, and locks until tx ends, the role of userID in
// accountID: "" when they are not a member. Every change below starts
// here, so a role changed or a member removed a moment before is seen.
func actingRole(ctx context.Context, tx pgx.Tx, accountID, userID int64) (Role, error) {
	var role Role
	err := tx.QueryRow(ctx, `SELECT role FROM memberships WHERE account_id = $1 AND user_id = $2 FOR UPDATE`, accountID, userID).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return role, err
}

// require returns a *RoleError unless by is at least least in their
// account, read again in tx (the session's role may be a moment old).
func require(ctx context.Context, tx pgx.Tx, by *User, least Role) (Role, error) {
	role, err := actingRole(ctx, tx, by.AccountID, by.ID)
	if err != nil {
		return "", err
	}
	return role, Permit(role, least, "")
}

// ParseInviteRole reads the role of an invitation or a change of role:
// admin, member or viewer — never owner, which is handed over
// (TransferOwnership), not given.
func ParseInviteRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleMember, RoleViewer:
		return r, nil
	case RoleOwner:
		return "", ErrOwnerUntouchable
	}
	return "", fmt.Errorf("the role must be %q, %q or %q", RoleAdmin, RoleMember, RoleViewer)
}

// target reads, and locks until tx ends, the role of userID in accountID.
// It returns ErrNotFound for someone not in the account.
func target(ctx context.Context, tx pgx.Tx, accountID, userID int64) (Role, error) {
	role, err := actingRole(ctx, tx, accountID, userID)
	if err == nil && role == "" {
		return "", ErrNotFound
	}
	return role, err
}

// lockPair locks the acting user's membership and the target's in one
// order (by user id), so two changes crossing each other wait instead of
// deadlocking. It then checks that by holds at least the role least (a
// *RoleError), that the target is not by (ErrSelf) and is a member
// (ErrNotFound), and returns the target's role.
func lockPair(ctx context.Context, tx pgx.Tx, by *User, userID int64, least Role) (Role, error) {
	rows, err := tx.Query(ctx, `SELECT user_id, role FROM memberships WHERE account_id = $1 AND user_id IN ($2, $3) ORDER BY user_id FOR UPDATE`,
		by.AccountID, by.ID, userID)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var mine, theirs Role
	for rows.Next() {
		var id int64
		var role Role
		if err := rows.Scan(&id, &role); err != nil {
			return "", err
		}
		if id == by.ID {
			mine = role
		}
		if id == userID {
			theirs = role
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if err := Permit(mine, least, ""); err != nil {
		return "", err
	}
	if userID == by.ID {
		return "", ErrSelf
	}
	if theirs == "" {
		return "", ErrNotFound
	}
	return theirs, nil
}

// ChangeRole sets the role of the member userID of by's account. An admin
// or the owner may, on anyone but the owner, to anything but owner; nobody
// changes their own role here. It returns a *RoleError,
// ErrOwnerUntouchable, ErrNotFound, or an error for an invalid role, and
// records "member.update" with changed ["role"] (nothing when the role is
// the same).
func ChangeRole(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, by *User, userID int64, role Role) error {
	role, err := ParseInviteRole(string(role))
	if err != nil {
		return err
	}
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		theirs, err := lockPair(ctx, tx, by, userID, RoleAdmin)
		if err != nil {
			return err
		}
		switch {
		case theirs == RoleOwner:
			return ErrOwnerUntouchable
		case theirs == role:
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET role = $3 WHERE account_id = $1 AND user_id = $2`, by.AccountID, userID, string(role)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: by.AccountID, Actor: actor, Action: "member.update",
			ObjectType: "user", ObjectID: strconv.FormatInt(userID, 10), Changed: []string{"role"}})
	})
}

// RemoveMember takes the member userID out of by's account; their next
// request no longer sees it. An admin or the owner may remove anyone but
// the owner (themselves: Leave). It returns a *RoleError,
// ErrOwnerUntouchable or ErrNotFound, and records "member.remove".
func RemoveMember(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, by *User, userID int64) error {
	if userID == by.ID {
		return Leave(ctx, db, actor, by)
	}
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		theirs, err := lockPair(ctx, tx, by, userID, RoleAdmin)
		if err != nil {
			return err
		}
		if theirs == RoleOwner {
			return ErrOwnerUntouchable
		}
		return remove(ctx, tx, actor, by.AccountID, userID)
	})
}

func remove(ctx context.Context, tx pgx.Tx, actor audit.Actor, accountID, userID int64) error {
	// Their sessions looking at the account fall back to another of their
	// accounts (membershipSQL), or to none.
	if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE account_id = $1 AND user_id = $2`, accountID, userID); err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "member.remove",
		ObjectType: "user", ObjectID: strconv.FormatInt(userID, 10)})
}

// Leave takes by out of their account. Any member may but the owner, who
// transfers the ownership first. It returns ErrOwnerLeaving or ErrNotFound
// (not a member any more), and records "member.remove".
func Leave(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, by *User) error {
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		role, err := target(ctx, tx, by.AccountID, by.ID)
		if err != nil {
			return err
		}
		if role == RoleOwner {
			return ErrOwnerLeaving
		}
		return remove(ctx, tx, actor, by.AccountID, by.ID)
	})
}

// TransferOwnership makes the member userID the owner of by's account and
// by, its owner, an admin, in one transaction (the owner is demoted before
// the new one is made, so the one-owner index holds at every statement).
// The caller has checked by's password. It returns a *RoleError (by is
// not the owner, or userID is by), ErrNotFound (userID is not a member),
// and records "account.transfer".
func TransferOwnership(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, by *User, userID int64) error {
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := lockPair(ctx, tx, by, userID, RoleOwner); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE memberships SET role = 'admin' WHERE account_id = $1 AND user_id = $2`, by.AccountID, by.ID)
		b.Queue(`UPDATE memberships SET role = 'owner' WHERE account_id = $1 AND user_id = $2`, by.AccountID, userID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: by.AccountID, Actor: actor, Action: "account.transfer",
			ObjectType: "account", ObjectID: strconv.FormatInt(by.AccountID, 10), Changed: []string{"owner"}})
	})
}

// SwitchAccount makes the session of token look at accountID, which its
// user userID must be a member of, and marks the membership used now (the
// account the next log-in opens). It returns ErrNotFound for an account
// the user is not in.
func SwitchAccount(ctx context.Context, db database.Executor, token string, userID, accountID int64) error {
	const q = `WITH m AS (
	UPDATE memberships SET last_used_at = now() WHERE account_id = $2 AND user_id = $3 RETURNING account_id
)
UPDATE sessions s SET account_id = m.account_id FROM m WHERE s.token_hash = $1 AND s.user_id = $3`
	tag, err := db.Exec(ctx, q, tokenHash(token), accountID, userID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
