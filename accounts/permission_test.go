package accounts_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
)

// Permit lets each role do what the roles below it may, and refuses the
// rest with a 403 forbidden that names the role and whom to ask.
func TestPermit(t *testing.T) {
	t.Parallel()
	for i, need := range accounts.Roles {
		for j, have := range append(accounts.Roles, "") {
			err := accounts.Permit(have, need, "Acme")
			if allowed := have != "" && j <= i; allowed != (err == nil) {
				t.Errorf("Permit(%q, %q) = %v", have, need, err)
			}
			if err == nil {
				continue
			}
			var re *accounts.RoleError
			e := intake.Describe(err)
			if !errors.As(err, &re) || e == nil || e.Kind.Status() != http.StatusForbidden || e.Type != intake.TypeForbidden || e.Page == "" || e.Hint == "" {
				t.Errorf("Permit(%q, %q) = %#v, described %#v", have, need, err, e)
			}
			if errors.Is(err, accounts.ErrNotOwner) != (need == accounts.RoleOwner) {
				t.Errorf("Permit(%q, %q): errors.Is ErrNotOwner = %v", have, need, errors.Is(err, accounts.ErrNotOwner))
			}
		}
	}
}

// Requiring two-factor log-in is the owner's alone, whoever calls it (the
// dashboard refuses before; the CLI or any later caller meets this).
func TestSetRequireTwoFactorOwnerOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := testfactory.NewAccount(ctx, t, db)
	admin := testfactory.Member(ctx, t, db, acct.User.AccountID, accounts.RoleAdmin)
	err := accounts.SetRequireTwoFactor(ctx, db, audit.System, admin, true)
	var re *accounts.RoleError
	if !errors.Is(err, accounts.ErrNotOwner) || !errors.As(err, &re) || re.Have != accounts.RoleAdmin || re.Need != accounts.RoleOwner {
		t.Fatalf("an admin requiring two-factor log-in: %v, want a RoleError for owner", err)
	}
	var on bool
	if err := db.QueryRow(ctx, `SELECT require_two_factor FROM accounts WHERE id = $1`, acct.User.AccountID).Scan(&on); err != nil || on {
		t.Errorf("require_two_factor = %v, %v after a refusal", on, err)
	}
}
