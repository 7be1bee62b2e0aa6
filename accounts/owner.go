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
