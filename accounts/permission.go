package accounts

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/database"
)

// RoleError refuses what a member's role may not do (docs/SECURITY.md,
// "Members and roles"): Have is their role in the account named Account,
// "" for a user in no account; Need is the least role that may.
type RoleError struct {
	Have, Need Role
	Account    string // the account's name; "" when unknown
}

// Permit returns nil when the role have may do what need may, else a
// *RoleError (account is the account's name, for its words).
func Permit(have, need Role, account string) error {
	if have.AtLeast(need) {
		return nil
	}
	return &RoleError{Have: have, Need: need, Account: account}
}

// Error implements error.
func (e *RoleError) Error() string {
	if e.Have == "" {
		return "not a member of any account"
	}
	return "role " + string(e.Have) + " is below " + string(e.Need)
}

// Is lets errors.Is(err, ErrNotOwner) hold for a refusal that needed the
// owner.
func (e *RoleError) Is(target error) bool { return target == ErrNotOwner && e.Need == RoleOwner }

// roleCan says what each role may do, after "it can".
var roleCan = map[Role]string{
	RoleViewer: "read the account's forms, submissions and webhooks but change nothing",
	RoleMember: "change forms, submissions and webhooks, but not API keys, members, the audit log or a person's data",
	RoleAdmin:  "do everything but what only the owner may: the plan, requiring two-factor log-in and handing on ownership",
}

// whoHelps says whom to ask for a role of at least need.
func whoHelps(need Role, account string) string {
	switch need {
	case RoleOwner:
		return "Only the owner of " + account + " may do this: ask them."
	case RoleAdmin:
		return "It needs the admin role: ask the owner of " + account + " or one of its admins."
	default:
		return "It needs the " + string(need) + " role: ask an admin of " + account + "."
	}
}

// Describe says who was refused and who can help, in the words of
// docs/errors.md's forbidden.
func (e *RoleError) Describe() *intake.Error {
	account := e.Account
	if account == "" {
		account = "this account"
	}
	if e.Have == "" {
		return &intake.Error{Kind: intake.Forbidden, Type: intake.TypeForbidden, Msg: e.Error(),
			Title:  "You are in no account",
			Detail: "The user is not a member of any account, so there is nothing of an account's to read or change.",
			Page:   "You are not a member of any account, so there are no forms, submissions or settings of an account to see. Your own password and two-factor log-in are under Account.",
			Hint:   "Ask the owner or an admin of an account to invite you; their invitation brings you back here as its member.",
		}
	}
	return &intake.Error{Kind: intake.Forbidden, Type: intake.TypeForbidden, Msg: e.Error(),
		Title:  "Your role does not allow this",
		Detail: "The member's role is " + string(e.Have) + "; this needs " + string(e.Need) + " or above. Nothing was changed.",
		Page:   "Your role in " + account + " is " + string(e.Have) + ": it can " + roleCan[e.Have] + ". Nothing was changed.",
		Hint:   whoHelps(e.Need, account),
	}
}

// AccountName returns the name of the account id, for the words of a
// refusal. It returns ErrNotFound for no such account.
func AccountName(ctx context.Context, db database.Executor, id int64) (string, error) {
	var name string
	err := db.QueryRow(ctx, `SELECT name FROM accounts WHERE id = $1`, id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}
