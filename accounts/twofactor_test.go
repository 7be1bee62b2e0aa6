package accounts_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
)

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
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
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
