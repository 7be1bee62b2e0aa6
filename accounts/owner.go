package accounts

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
)

// OwnerSQL is a scalar subquery giving column (an expression over users'
// columns) of the owner of the account whose id is the SQL expression
// accountID. An account's owner is its first user by id: the one who made
// it. This is the one place that says so; other packages compose it into
// their statements to read an owner in the same round trip.
func OwnerSQL(column, accountID string) string {
	return `(SELECT ` + column + ` FROM users WHERE account_id = ` + accountID + ` ORDER BY id LIMIT 1)`
}

// VerifiedAddressSQL is a boolean SQL condition: the address that the SQL
// expression email gives (lower case) is a verified address of one of the
// users of the account whose id is the SQL expression accountID — an
// address the account has shown to be its own. Qualify the expressions'
// columns: inside, unqualified names are users'.
func VerifiedAddressSQL(accountID, email string) string {
	return `EXISTS (SELECT 1 FROM users WHERE account_id = ` + accountID + ` AND lower(email) = ` + email +
		` AND email_verified_at IS NOT NULL)`
}

// ownerSQL reads the owner of the account $1.
var ownerSQL = `SELECT o.id, o.account_id, o.email, o.email_verified_at IS NOT NULL FROM users o
WHERE o.id = ` + OwnerSQL("id", "$1")

// Owner returns the owner of the account accountID (OwnerSQL). It returns
// ErrNotFound for an account without users (or no such account).
func Owner(ctx context.Context, db database.Executor, accountID int64) (*User, error) {
	u := &User{}
	err := db.QueryRow(ctx, ownerSQL, accountID).Scan(&u.ID, &u.AccountID, &u.Email, &u.Verified)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return u, err
}
