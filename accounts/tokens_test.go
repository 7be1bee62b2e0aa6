package accounts_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
)

// outbox keeps the links accounts.Service sends, in place of the email job
// (the job's path is notify's and web's tests). A send is kept only if its
// transaction commits, as the job would be.
type outbox struct {
	mu    sync.Mutex
	links []sent
}

type sent struct {
	to    string
	token *accounts.EmailToken
}

func (o *outbox) SendLink(ctx context.Context, tx pgx.Tx, u *accounts.User, t *accounts.EmailToken) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.links = append(o.links, sent{to: u.Email, token: t})
	return nil
}

func (o *outbox) last(t *testing.T) *accounts.EmailToken {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.links) == 0 {
		t.Fatal("no link was sent")
	}
	return o.links[len(o.links)-1].token
}

func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.links)
}

func tokenRows(t *testing.T, db *pgxpool.Pool, purpose string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM email_tokens WHERE purpose = $1`, purpose).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Sign-up makes an unverified user and sends a 24-hour verification link
// that works once; the operator's CreateUser makes a verified one.
func TestSignUpAndVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	box := &outbox{}
	svc := &accounts.Service{DB: db, Links: box}

	op, _, err := accounts.CreateUser(ctx, db, audit.System, "operator@example.com", "correct horse")
	if err != nil || !op.Verified {
		t.Fatalf("CreateUser: %+v %v, want a verified user", op, err)
	}
	if err := svc.ResendVerification(ctx, op.ID); !errors.Is(err, accounts.ErrAlreadyVerified) {
		t.Errorf("resend to a verified user: %v", err)
	}

	u, err := svc.SignUp(ctx, "ada@example.com", "correct horse", "")
	if err != nil || u.Verified {
		t.Fatalf("SignUp: %+v %v, want an unverified user", u, err)
	}
	tok := box.last(t)
	if tok.Purpose != accounts.PurposeVerify || len(tok.Token) != 43 { // 32 bytes, base64url
		t.Fatalf("sign-up sent %+v, want a 256-bit verification token", tok)
	}
	// Only the hash is stored.
	sum := sha256.Sum256([]byte(tok.Token))
	var stored int
	db.QueryRow(ctx, `SELECT count(*) FROM email_tokens WHERE token_hash = $1 AND expires_at BETWEEN now() + interval '23 hours' AND now() + interval '25 hours'`, sum[:]).Scan(&stored)
	if stored != 1 {
		t.Error("the token's SHA-256, valid for 24 hours, is not what is stored")
	}
	var leaked bool
	db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM email_tokens t WHERE t::text LIKE '%' || $1 || '%')`, tok.Token).Scan(&leaked)
	if leaked {
		t.Error("the token itself is stored")
	}
	if _, err := svc.SignUp(ctx, "ADA@example.com", "another one", ""); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Errorf("sign-up with a taken address: %v", err)
	}
	if box.count() != 1 {
		t.Errorf("a refused sign-up sent a link (%d sent)", box.count())
	}

	// Looking does not spend it; a reset cannot use it; verifying does, once.
	if err := accounts.CheckLink(ctx, db, tok.Token, accounts.PurposeVerify); err != nil {
		t.Fatalf("check a fresh link: %v", err)
	}
	if err := accounts.CheckLink(ctx, db, tok.Token, accounts.PurposeVerify); err != nil {
		t.Fatalf("check it again: %v", err)
	}
	if _, err := svc.ResetPassword(ctx, tok.Token, "new password", "", nil); !errors.Is(err, accounts.ErrBadLink) {
		t.Errorf("a verification link used as a reset link: %v", err)
	}
	got, err := svc.VerifyEmail(ctx, tok.Token, "")
	if err != nil || got.ID != u.ID || !got.Verified {
		t.Fatalf("verify: %+v %v", got, err)
	}
	if _, err := svc.VerifyEmail(ctx, tok.Token, ""); !errors.Is(err, accounts.ErrBadLink) {
		t.Errorf("a link used twice: %v", err)
	}
	if err := accounts.CheckLink(ctx, db, tok.Token, accounts.PurposeVerify); !errors.Is(err, accounts.ErrBadLink) {
		t.Errorf("check a used link: %v", err)
	}
	if again, err := accounts.CheckLogin(ctx, db, "ada@example.com", "correct horse"); err != nil || !again.Verified {
		t.Errorf("log-in after verifying: %+v %v", again, err)
	}
	for _, bad := range []string{"", "not-a-token", string(make([]byte, 200))} {
		if _, err := svc.VerifyEmail(ctx, bad, ""); !errors.Is(err, accounts.ErrBadLink) {
			t.Errorf("verify %q: %v", bad, err)
		}
	}
}

// A verification link expires after 24 hours, and at most
// MaxVerifyEmailsPerHour are sent an hour, sign-up's included.
func TestVerifyLinkExpiryAndLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	box := &outbox{}
	svc := &accounts.Service{DB: db, Links: box}
	u, err := svc.SignUp(ctx, "grace@example.com", "correct horse", "")
	if err != nil {
		t.Fatal(err)
	}
	first := box.last(t)
	if _, err := db.Exec(ctx, `UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.VerifyEmail(ctx, first.Token, ""); !errors.Is(err, accounts.ErrBadLink) {
		t.Errorf("an expired link: %v", err)
	}
	if _, _, err := accounts.LinkLive(ctx, db, first.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("LinkLive of an expired link: %v", err)
	}
	for i := 1; i < accounts.MaxVerifyEmailsPerHour; i++ {
		if err := svc.ResendVerification(ctx, u.ID); err != nil {
			t.Fatalf("resend %d: %v", i, err)
		}
	}
	if err := svc.ResendVerification(ctx, u.ID); !errors.Is(err, accounts.ErrTooManyEmails) {
		t.Errorf("resend over the limit: %v", err)
	}
	if box.count() != accounts.MaxVerifyEmailsPerHour {
		t.Errorf("%d links sent, want %d", box.count(), accounts.MaxVerifyEmailsPerHour)
	}
	purpose, _, err := accounts.LinkLive(ctx, db, box.last(t).ID)
	if err != nil || purpose != accounts.PurposeVerify {
		t.Errorf("LinkLive of the newest: %q %v", purpose, err)
	}
	if _, err := svc.VerifyEmail(ctx, box.last(t).Token, ""); err != nil {
		t.Errorf("the newest link: %v", err)
	}
}

// A reset request for an unknown address sends nothing and answers as one
// for a known address does; a known one gets a one-hour link, at most
// MaxResetEmailsPerHour an hour even when asked for in parallel.
func TestRequestReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	box := &outbox{}
	svc := &accounts.Service{DB: db, Links: box}
	if _, _, err := accounts.CreateUser(ctx, db, audit.System, "ada@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestReset(ctx, "nobody@example.com"); err != nil {
		t.Fatalf("unknown address: %v", err)
	}
	if box.count() != 0 || tokenRows(t, db, accounts.PurposeReset) != 0 {
		t.Fatal("a reset for an unknown address sent or stored something")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() { errs <- svc.RequestReset(ctx, "ADA@example.com") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a reset request over the limit answered %v, want nil like any other", err)
		}
	}
	if n := tokenRows(t, db, accounts.PurposeReset); n != accounts.MaxResetEmailsPerHour || box.count() != n {
		t.Errorf("10 parallel requests stored %d links and sent %d, want %d", n, box.count(), accounts.MaxResetEmailsPerHour)
	}
	tok := box.last(t)
	var hours float64
	db.QueryRow(ctx, `SELECT extract(epoch FROM expires_at - created_at) / 3600 FROM email_tokens WHERE id = $1`, tok.ID).Scan(&hours)
	if hours != 1 {
		t.Errorf("a reset link lasts %v hours, want 1", hours)
	}
}

// A reset link sets the password once, verifies the address, spends the
// user's other reset links, ends every session; an expired one does
// nothing.
func TestResetPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	box := &outbox{}
	svc := &accounts.Service{DB: db, Links: box}
	u, err := svc.SignUp(ctx, "ada@example.com", "old password", "")
	if err != nil {
		t.Fatal(err)
	}
	session, err := accounts.NewSession(ctx, db, u, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := svc.RequestReset(ctx, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	older, newer := box.links[1].token, box.links[2].token
	if _, err := svc.ResetPassword(ctx, newer.Token, "short", "", nil); err == nil {
		t.Error("a short password was accepted")
	}
	hashed := 0
	got, err := svc.ResetPassword(ctx, newer.Token, "new password", "", func(fn func() error) error { hashed++; return fn() })
	if err != nil || got.ID != u.ID || !got.Verified || hashed != 1 {
		t.Fatalf("reset: %+v %v (hashed %d times)", got, err, hashed)
	}
	if _, err := accounts.CheckLogin(ctx, db, "ada@example.com", "new password"); err != nil {
		t.Errorf("log in with the new password: %v", err)
	}
	if _, err := accounts.CheckLogin(ctx, db, "ada@example.com", "old password"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Errorf("log in with the old password: %v", err)
	}
	if _, err := accounts.SessionFor(ctx, db, session); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("a session survived the reset: %v", err)
	}
	for name, tok := range map[string]*accounts.EmailToken{"the same link": newer, "an older link": older} {
		if _, err := svc.ResetPassword(ctx, tok.Token, "third password", "", func(fn func() error) error { hashed++; return fn() }); !errors.Is(err, accounts.ErrBadLink) {
			t.Errorf("%s after the reset: %v", name, err)
		}
	}
	if hashed != 1 {
		t.Errorf("a dead link cost a password hash (%d hashes)", hashed)
	}

	// Expired after an hour.
	v, err := svc.SignUp(ctx, "grace@example.com", "old password", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestReset(ctx, v.Email); err != nil {
		t.Fatal(err)
	}
	late := box.last(t)
	if _, err := db.Exec(ctx, `UPDATE email_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1`, late.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResetPassword(ctx, late.Token, "new password", "", nil); !errors.Is(err, accounts.ErrBadLink) {
		t.Errorf("an expired reset link: %v", err)
	}
	if again, err := accounts.CheckLogin(ctx, db, v.Email, "old password"); err != nil || again.Verified {
		t.Errorf("after an expired reset: %+v %v, want the old password and still unverified", again, err)
	}
}
