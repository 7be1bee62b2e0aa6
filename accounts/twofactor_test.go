package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
)

func testSealer(t *testing.T) *seal.Sealer {
	t.Helper()
	s, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func totpAt(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTwoFactorCodesOnce: a code of a step already used, or of an earlier
// one, is refused; a challenge is spent after five wrong codes; parallel
// answers with one code or one recovery code start one log-in.
func TestTwoFactorCodesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	sealer := testSealer(t)
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if purpose, _, err := accounts.BeginSecondStep(ctx, db, u); purpose != "" || err != nil {
		t.Fatalf("before enrolling: second step %q %v", purpose, err)
	}
	e, err := accounts.StartEnrolment(ctx, db, sealer, u)
	if err != nil {
		t.Fatal(err)
	}
	actor := audit.User(u.ID, "192.0.2.1")
	if _, err := accounts.ConfirmEnrolment(ctx, db, sealer, actor, u, "12345"); !errors.Is(err, accounts.ErrBadCode) {
		t.Fatalf("enrol with a 5-digit code: %v", err)
	}
	codes, err := accounts.ConfirmEnrolment(ctx, db, sealer, actor, u, totpAt(t, e.Secret, 0))
	if err != nil || len(codes) != accounts.RecoveryCodeCount {
		t.Fatalf("enrol: %d codes, %v", len(codes), err)
	}
	// The enrolment is in the audit log, by name: the refused try is not,
	// and neither the secret nor a code is anywhere in it.
	var entries int
	var changed string
	if err := db.QueryRow(ctx, `SELECT count(*), coalesce(string_agg(array_to_string(changed, ','), ';'), '') FROM audit_log
		WHERE account_id = $1 AND action = 'user.update'`, u.AccountID).Scan(&entries, &changed); err != nil {
		t.Fatal(err)
	}
	if entries != 1 || changed != "two_factor" {
		t.Errorf("audit after enrolling: %d entries, changed %q; want one naming two_factor", entries, changed)
	}
	if _, err := accounts.StartEnrolment(ctx, db, sealer, u); !errors.Is(err, accounts.ErrTwoFactorOn) {
		t.Errorf("enrolling again: %v, want ErrTwoFactorOn", err)
	}

	challenge := func() string {
		t.Helper()
		purpose, token, err := accounts.BeginSecondStep(ctx, db, u)
		if err != nil || purpose != accounts.ChallengeCode {
			t.Fatalf("second step: %q %v", purpose, err)
		}
		return token
	}

	// The enrolment used this step: it and the one before are spent.
	token := challenge()
	for _, off := range []time.Duration{0, -30 * time.Second} {
		if _, err := accounts.AnswerChallenge(ctx, db, sealer, token, totpAt(t, e.Secret, off)); !errors.Is(err, accounts.ErrBadCode) {
			t.Errorf("a used step's code (%v): %v, want ErrBadCode", off, err)
		}
	}
	// Five wrong codes in all spend the challenge, even for the right code.
	for range 3 {
		if _, err := accounts.AnswerChallenge(ctx, db, sealer, token, "not a code"); !errors.Is(err, accounts.ErrBadCode) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	if _, err := accounts.AnswerChallenge(ctx, db, sealer, token, codes[0]); !errors.Is(err, accounts.ErrNoChallenge) {
		t.Errorf("after five wrong codes: %v, want ErrNoChallenge", err)
	}

	// One code, eight challenges at once: one log-in.
	race := func(code string) int {
		tokens := make([]string, 8)
		for i := range tokens {
			tokens[i] = challenge()
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for _, tok := range tokens {
			wg.Go(func() {
				got, err := accounts.AnswerChallenge(ctx, db, sealer, tok, code)
				if err == nil && got.ID == u.ID {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if err != nil && !errors.Is(err, accounts.ErrBadCode) {
					t.Errorf("racing answer: %v", err)
				}
			})
		}
		wg.Wait()
		return ok
	}
	if n := race(totpAt(t, e.Secret, 30*time.Second)); n != 1 {
		t.Errorf("one TOTP code logged in %d times, want 1", n)
	}
	if n := race(codes[1]); n != 1 {
		t.Errorf("one recovery code logged in %d times, want 1", n)
	}
}

// enrolled makes a user with two-factor log-in on, two sessions and a
// live login challenge.
func enrolled(ctx context.Context, t *testing.T, db *pgxpool.Pool, sealer *seal.Sealer, email string) (*accounts.User, string) {
	t.Helper()
	u, _, err := accounts.CreateUser(ctx, db, audit.System, email, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	e, err := accounts.StartEnrolment(ctx, db, sealer, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.ConfirmEnrolment(ctx, db, sealer, audit.System, u, totpAt(t, e.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := accounts.NewSession(ctx, db, u, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	purpose, token, err := accounts.BeginSecondStep(ctx, db, u)
	if err != nil || purpose != accounts.ChallengeCode {
		t.Fatalf("second step: %q %v", purpose, err)
	}
	return u, token
}

// The operator's reset turns two-factor log-in off, deletes the recovery
// codes and ends every session and half-done log-in, recorded as the
// CLI's; a second reset changes and records nothing. Another user's are
// untouched.
func TestResetTwoFactor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	sealer := testSealer(t)
	u, token := enrolled(ctx, t, db, sealer, "lost@example.com")
	other, otherToken := enrolled(ctx, t, db, sealer, "kept@example.com")
	rows := func(userID int64) string {
		t.Helper()
		var s string
		if err := db.QueryRow(ctx, `SELECT format('2fa=%s codes=%s sessions=%s challenges=%s',
	(SELECT count(*) FROM two_factor WHERE user_id = $1), (SELECT count(*) FROM recovery_codes WHERE user_id = $1),
	(SELECT count(*) FROM sessions WHERE user_id = $1), (SELECT count(*) FROM login_challenges WHERE user_id = $1))`, userID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := rows(u.ID); got != "2fa=1 codes=10 sessions=2 challenges=1" {
		t.Fatalf("before: %s", got)
	}
	if err := accounts.ResetTwoFactor(ctx, db, audit.CLI, u); err != nil {
		t.Fatal(err)
	}
	if got := rows(u.ID); got != "2fa=0 codes=0 sessions=0 challenges=0" {
		t.Errorf("after the reset: %s", got)
	}
	if _, err := accounts.ChallengeFor(ctx, db, token); !errors.Is(err, accounts.ErrNoChallenge) {
		t.Errorf("the half-done log-in survived: %v", err)
	}
	if purpose, _, err := accounts.BeginSecondStep(ctx, db, u); purpose != "" || err != nil {
		t.Errorf("log-in after the reset asks %q (%v), want the password alone", purpose, err)
	}
	if got := rows(other.ID); got != "2fa=1 codes=10 sessions=2 challenges=1" {
		t.Errorf("the other user after the reset: %s", got)
	}
	if _, err := accounts.ChallengeFor(ctx, db, otherToken); err != nil {
		t.Errorf("the other user's challenge: %v", err)
	}
	if err := accounts.ResetTwoFactor(ctx, db, audit.CLI, u); !errors.Is(err, accounts.ErrTwoFactorOff) {
		t.Errorf("a second reset: %v, want ErrTwoFactorOff", err)
	}
	var entries string
	if err := db.QueryRow(ctx, `SELECT string_agg(actor_kind || ' ' || action || ' ' || object_id || ' ' || array_to_string(changed, ','), ';' ORDER BY id)
FROM audit_log WHERE account_id = $1 AND actor_kind = 'cli'`, u.AccountID).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("cli user.update %d two_factor", u.ID); entries != want {
		t.Errorf("audit: %q, want %q", entries, want)
	}
}

// NewRecoveryCodes takes the password or a TOTP code, never a recovery
// code; the old codes stop working; with two-factor log-in off there is
// nothing to replace.
func TestNewRecoveryCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	sealer := testSealer(t)
	off, _, err := accounts.CreateUser(ctx, db, audit.System, "off@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.NewRecoveryCodes(ctx, db, sealer, audit.System, off, "correct horse", ""); !errors.Is(err, accounts.ErrTwoFactorOff) {
		t.Errorf("without two-factor log-in: %v, want ErrTwoFactorOff", err)
	}
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	e, err := accounts.StartEnrolment(ctx, db, sealer, u)
	if err != nil {
		t.Fatal(err)
	}
	old, err := accounts.ConfirmEnrolment(ctx, db, sealer, audit.System, u, totpAt(t, e.Secret, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.NewRecoveryCodes(ctx, db, sealer, audit.System, u, "", old[0]); !errors.Is(err, accounts.ErrBadCode) {
		t.Errorf("with a recovery code: %v, want ErrBadCode", err)
	}
	if _, err := accounts.NewRecoveryCodes(ctx, db, sealer, audit.System, u, "wrong horse", ""); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Errorf("with a wrong password: %v, want ErrBadCredentials", err)
	}
	fresh, err := accounts.NewRecoveryCodes(ctx, db, sealer, audit.System, u, "", totpAt(t, e.Secret, 30*time.Second))
	if err != nil || len(fresh) != accounts.RecoveryCodeCount {
		t.Fatalf("with a TOTP code: %d codes, %v", len(fresh), err)
	}
	answer := func(code string) error {
		t.Helper()
		_, token, err := accounts.BeginSecondStep(ctx, db, u)
		if err != nil {
			t.Fatal(err)
		}
		_, err = accounts.AnswerChallenge(ctx, db, sealer, token, code)
		return err
	}
	if err := answer(old[0]); !errors.Is(err, accounts.ErrBadCode) {
		t.Errorf("an old code after the replacement: %v, want ErrBadCode", err)
	}
	if err := answer(fresh[0]); err != nil {
		t.Errorf("a new code: %v", err)
	}
}

// Expired login challenges (a log-in left at the code) and sessions are
// deleted by the periodic sweep's job; live ones stay.
func TestSweepExpiredChallenges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	sealer := testSealer(t)
	u, live := enrolled(ctx, t, db, sealer, "ada@example.com")
	_, stale, err := accounts.BeginSecondStep(ctx, db, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE login_challenges SET expires_at = now() - interval '1 second' WHERE token_hash = sha256($1::text::bytea)`, stale); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE ctid = (SELECT min(ctid) FROM sessions)`); err != nil {
		t.Fatal(err)
	}
	w := &idempotency.SweepWorker{DB: db, Others: []func(context.Context, database.Executor) (int64, error){accounts.SweepSessions}}
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var challenges, sessions int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM login_challenges), (SELECT count(*) FROM sessions)`).Scan(&challenges, &sessions); err != nil {
		t.Fatal(err)
	}
	if challenges != 1 || sessions != 1 {
		t.Errorf("after the sweep: %d challenges and %d sessions, want the live one of each", challenges, sessions)
	}
	if _, err := accounts.ChallengeFor(ctx, db, live); err != nil {
		t.Errorf("the live challenge: %v", err)
	}
}

// A password reset or change ends the user's half-done log-ins: whoever
// had the old password and stopped at the second step cannot finish it
// with a code — nor, for a user who must enrol, bind the second factor
// to their own device.
func TestPasswordChangeEndsHalfDoneLogIns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	sealer := testSealer(t)

	u, token := enrolled(ctx, t, db, sealer, "changed@example.com")
	if err := accounts.ChangePassword(ctx, db, audit.System, u, "correct horse", "a new password", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.ChallengeFor(ctx, db, token); !errors.Is(err, accounts.ErrNoChallenge) {
		t.Errorf("a challenge begun with the old password survived its change: %v", err)
	}

	box := &outbox{}
	svc := &accounts.Service{DB: db, Links: box}
	r, token := enrolled(ctx, t, db, sealer, "reset@example.com")
	other, otherToken := enrolled(ctx, t, db, sealer, "other@example.com")
	if err := svc.RequestReset(ctx, r.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResetPassword(ctx, box.last(t).Token, "a new password", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.ChallengeFor(ctx, db, token); !errors.Is(err, accounts.ErrNoChallenge) {
		t.Errorf("a challenge begun with the old password survived the reset: %v", err)
	}
	if c, err := accounts.ChallengeFor(ctx, db, otherToken); err != nil || c.User.ID != other.ID {
		t.Errorf("another user's challenge: %v", err)
	}
}
