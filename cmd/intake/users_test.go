package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testbin"
	"github.com/intakehq/intake/internal/testdb"
)

// `intake users two-factor-reset` is the operator's way in for a user who
// lost the device: two-factor log-in off, recovery codes gone, sessions
// ended, recorded as the CLI's. Run again it says so and changes nothing;
// an unknown address is an error.
func TestUsersTwoFactorReset(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	db, dbURL := testdb.New(t)
	ctx := context.Background()
	sealer, err := seal.New("any key: the reset never opens the secret")
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "lost@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	e, err := accounts.StartEnrolment(ctx, db, sealer, u)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(e.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.ConfirmEnrolment(ctx, db, sealer, audit.System, u, code); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.NewSession(ctx, db, u, "", ""); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("users", "two-factor-reset", "--email", "LOST@example.com")
	if err != nil || !strings.Contains(out, "two-factor log-in of lost@example.com is off") {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	var state string
	if err := db.QueryRow(ctx, `SELECT format('%s %s %s', (SELECT count(*) FROM two_factor WHERE user_id = $1),
	(SELECT count(*) FROM recovery_codes WHERE user_id = $1), (SELECT count(*) FROM sessions WHERE user_id = $1))`, u.ID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "0 0 0" {
		t.Errorf("two_factor, recovery codes, sessions after the reset: %s, want none", state)
	}
	if out, err := run("users", "two-factor-reset", "--email", "lost@example.com"); err != nil || !strings.Contains(out, "off already; nothing changed") {
		t.Errorf("a second reset: %v\n%s", err, out)
	}
	var entries string
	if err := db.QueryRow(ctx, `SELECT coalesce(string_agg(action || ' ' || object_id || ' ' || array_to_string(changed, ','), ';'), '')
FROM audit_log WHERE account_id = $1 AND actor_kind = 'cli'`, u.AccountID).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("user.update %d two_factor", u.ID); entries != want {
		t.Errorf("the CLI's audit entries: %q, want %q", entries, want)
	}
	if out, err := run("users", "two-factor-reset", "--email", "nobody@example.com"); err == nil || !strings.Contains(out, "no user nobody@example.com") {
		t.Errorf("an unknown user: %v\n%s", err, out)
	}
}

// An operator's key or plan is for the account the named user owns, never
// the one they last looked at: a member of someone else's account gets no
// key to it from the CLI, and a user who owns no account is told so.
func TestCLIKeysAreTheOwnersAccount(t *testing.T) {
	t.Parallel()
	bin := testbin.Intake(t)
	db, dbURL := testdb.New(t)
	ctx := context.Background()
	other, _, err := accounts.CreateUser(ctx, db, audit.System, "other-owner@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	viewer, _, err := accounts.CreateUser(ctx, db, audit.System, "viewer@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	// The viewer is a viewer of the other account, and looked at it last.
	if _, err := db.Exec(ctx, `INSERT INTO memberships (account_id, user_id, role, last_used_at) VALUES ($1, $2, 'viewer', now() + interval '1 hour')`,
		other.AccountID, viewer.ID); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("apikeys", "create", "--email", "viewer@example.com"); err != nil || !strings.HasPrefix(out, "intk_") {
		t.Fatalf("apikeys create: %v\n%s", err, out)
	}
	var accountsWithKeys string
	if err := db.QueryRow(ctx, `SELECT string_agg(account_id::text, ',') FROM api_keys`).Scan(&accountsWithKeys); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(viewer.AccountID); accountsWithKeys != want {
		t.Errorf("the key is for account %s, want the viewer's own %s (not %d, where they are a viewer)", accountsWithKeys, want, other.AccountID)
	}
	// Once they own nothing, the CLI says so.
	if _, err := db.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, viewer.AccountID); err != nil {
		t.Fatal(err)
	}
	if out, err := run("users", "plan", "--email", "viewer@example.com"); err == nil || !strings.Contains(out, "owns no account") {
		t.Errorf("users plan for a user who owns no account: %v\n%s", err, out)
	}
}
