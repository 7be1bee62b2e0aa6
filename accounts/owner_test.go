package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
)

// An account's owner is its member with the role owner; an account
// without members has none.
func TestOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	// A second member of the same account, an admin, made before the owner
	// would be if "owner" meant "first".
	if _, err := db.Exec(ctx, `WITH b AS (INSERT INTO users (email, password_hash) VALUES ('bob@example.com', 'x') RETURNING id)
INSERT INTO memberships (account_id, user_id, role, created_at) SELECT $1, id, 'admin', now() - interval '1 day' FROM b`, u.AccountID); err != nil {
		t.Fatal(err)
	}
	owner, err := accounts.Owner(ctx, db, u.AccountID)
	if err != nil || owner.ID != u.ID || owner.Email != "ada@example.com" || !owner.Verified {
		t.Errorf("Owner = %+v, %v; want ada, verified", owner, err)
	}
	var email string
	if err := db.QueryRow(ctx, `SELECT `+accounts.OwnerSQL("email", "$1::bigint"), u.AccountID).Scan(&email); err != nil || email != "ada@example.com" {
		t.Errorf("OwnerSQL's email = %q, %v", email, err)
	}
	var empty int64
	if err := db.QueryRow(ctx, `INSERT INTO accounts (name) VALUES ('empty') RETURNING id`).Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Owner(ctx, db, empty); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("Owner of an account without members: %v, want ErrNotFound", err)
	}
}
