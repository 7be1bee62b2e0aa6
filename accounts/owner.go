package accounts

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
)

// OwnerSQL is a scalar subquery giving column (an expression over users'
// columns) of the owner of the account whose id is the SQL expression
// accountID: its member with the role owner (one per account). Other
// packages compose it into their statements to read an owner in the same
// round trip.
func OwnerSQL(column, accountID string) string {
	return `(SELECT ` + column + ` FROM users WHERE id = (SELECT user_id FROM memberships WHERE account_id = ` + accountID +
		` AND role = 'owner'))`
}

// VerifiedAddressSQL is a boolean SQL condition: the address that the SQL
// expression email gives (lower case) is a verified address of one of the
// members of the account whose id is the SQL expression accountID — an
// address the account has shown to be its own. Qualify the expressions'
// columns: inside, unqualified names are users' or memberships'.
func VerifiedAddressSQL(accountID, email string) string {
	return `EXISTS (SELECT 1 FROM memberships JOIN users ON users.id = memberships.user_id WHERE memberships.account_id = ` +
		accountID + ` AND lower(users.email) = ` + email + ` AND users.email_verified_at IS NOT NULL)`
}

// ownerSQL reads the owner of the account $1.
const ownerSQL = `SELECT u.id, m.account_id, m.role, u.email, u.email_verified_at IS NOT NULL
FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.account_id = $1 AND m.role = 'owner'`

// Owner returns the owner of the account accountID (OwnerSQL), acting in
// it. It returns ErrNotFound for no such account.
func Owner(ctx context.Context, db database.Executor, accountID int64) (*User, error) {
	u := &User{}
	err := db.QueryRow(ctx, ownerSQL, accountID).Scan(userDest(u)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return u, err
}

// ErrOwnsNoAccount is returned by OwnedAccount for a user who owns no
// account (a member of others', or of none).
var ErrOwnsNoAccount = errors.New("the user owns no account")

// OwnedAccount returns u acting in the account u owns, whatever account u
// last looked at: the account an operator's command for u means (an API
// key, a plan). It returns ErrOwnsNoAccount.
func OwnedAccount(ctx context.Context, db database.Executor, u *User) (*User, error) {
	out := *u
	err := db.QueryRow(ctx, `SELECT account_id FROM memberships WHERE user_id = $1 AND role = 'owner'`, u.ID).Scan(&out.AccountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrOwnsNoAccount
	}
	if err != nil {
		return nil, err
	}
	out.Role = RoleOwner
	return &out, nil
}
