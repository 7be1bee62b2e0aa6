package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
)

// An account's owner is its first user; an account without users has none.
func TestOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	// A second user of the same account, as teams will make them.
	if _, err := db.Exec(ctx, `INSERT INTO users (account_id, email, password_hash) VALUES ($1, 'bob@example.com', 'x')`, u.AccountID); err != nil {
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
		t.Errorf("Owner of an account without users: %v, want ErrNotFound", err)
	}
}
