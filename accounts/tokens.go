package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
)

// Purposes of an email token: what following its link does.
const (
	PurposeVerify = "verify" // proves the user reads mail at their address
	PurposeReset  = "reset"  // lets the user set a new password
)

// Lifetimes of the links, and how many of each purpose a user may be sent
// an hour: enough to ask again after a lost mail, too few to flood a
// mailbox with Intake's mail.
const (
	VerifyLinkLifetime     = 24 * time.Hour
	ResetLinkLifetime      = time.Hour
	MaxVerifyEmailsPerHour = 5 // the sign-up's own included
	MaxResetEmailsPerHour  = 3
)

var (
	// ErrBadLink is returned for a link token that is unknown, used,
	// expired or of another purpose (the four are not told apart).
	ErrBadLink = errors.New("this link is unknown, used or expired")
	// ErrTooManyEmails is returned when a user was sent as many links of
	// a purpose in the last hour as allowed.
	ErrTooManyEmails = errors.New("too many emails to this address in the last hour")
	// ErrAlreadyVerified is returned when asking to verify a verified address.
	ErrAlreadyVerified = errors.New("the email address is verified already")
)

// EmailToken is a single-use link's token, as issued: the one time the
// token itself is known (the table keeps its SHA-256).
type EmailToken struct {
	ID        int64
	Purpose   string
	Token     string // 256 random bits, base64url
	ExpiresAt time.Time
}

// LinkSender enqueues, in tx, the email that carries t's link to u, so the
// email exists exactly when the token does. notify.LinkEmails implements it.
type LinkSender interface {
	SendLink(ctx context.Context, tx pgx.Tx, u *User, t *EmailToken) error
}

// Service is what a person does with their own account from the
// dashboard: sign up, verify their address, reset a forgotten password.
// Each method is one transaction; every link goes out through Links in it.
type Service struct {
	DB    *pgxpool.Pool
	Links LinkSender
}

// SignUp creates an unverified user (see the package function SignUp) and
// sends the verification link; address is the client's, for the audit
// log. It returns ErrEmailTaken, or an error for an invalid email or a
// short password.
func (s *Service) SignUp(ctx context.Context, email, password, address string) (*User, error) {
	var u *User
	err := database.WithTx(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		if u, err = SignUp(ctx, tx, email, password, address); err != nil {
			return err
		}
		return s.issue(ctx, tx, u, PurposeVerify)
	})
	return u, err
}

// ResendVerification sends the user userID a new verification link. It
// returns ErrAlreadyVerified, ErrTooManyEmails or ErrNotFound.
func (s *Service) ResendVerification(ctx context.Context, userID int64) error {
	return database.WithTx(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		u, err := lockUser(ctx, tx, `id = $1`, userID)
		if err != nil {
			return err
		}
		if u.Verified {
			return ErrAlreadyVerified
		}
		return s.issue(ctx, tx, u, PurposeVerify)
	})
}

// RequestReset sends a password-reset link to the user with email, if
// there is one and they were sent fewer than MaxResetEmailsPerHour in the
// last hour. It answers nil either way — whoever asks must not learn
// whether an address has an account — and does the same reads for an
// unknown address as for a known one. Only database errors come back.
func (s *Service) RequestReset(ctx context.Context, email string) error {
	return database.WithTx(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		u, err := lockUser(ctx, tx, `lower(email) = lower($1)`, email)
		if errors.Is(err, ErrNotFound) {
			// The same count a known user's limit costs, on no one.
			_, err := recentTokens(ctx, tx, 0, PurposeReset)
			return err
		}
		if err != nil {
			return err
		}
		if err := s.issue(ctx, tx, u, PurposeReset); err != nil && !errors.Is(err, ErrTooManyEmails) {
			return err
		}
		return nil
	})
}

// lockUser reads the user where ($1) holds and locks its row until the
// transaction ends, so that the per-hour email limits count and insert
// one request at a time. It returns ErrNotFound.
func lockUser(ctx context.Context, tx pgx.Tx, where string, arg any) (*User, error) {
	u := &User{}
	err := tx.QueryRow(ctx, `SELECT `+userColumnsSQL+` FROM users u`+membershipSQL("u.id", "NULL")+`WHERE `+where+` FOR UPDATE OF u`, arg).
		Scan(userDest(u)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return u, err
}

const recentTokensSQL = `SELECT count(*) FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > now() - interval '1 hour'`

func recentTokens(ctx context.Context, tx pgx.Tx, userID int64, purpose string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, recentTokensSQL, userID, purpose).Scan(&n)
	return n, err
}

const insertTokenSQL = `INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at)
VALUES ($1, $2, $3, now() + $4 * interval '1 second') RETURNING id, expires_at`

// issue makes a token of purpose for u, whose row the caller holds (the
// count and the insert are then one step for u), and sends its link. It
// returns ErrTooManyEmails over the purpose's hourly limit.
func (s *Service) issue(ctx context.Context, tx pgx.Tx, u *User, purpose string) error {
	limit, lifetime := MaxVerifyEmailsPerHour, VerifyLinkLifetime
	if purpose == PurposeReset {
		limit, lifetime = MaxResetEmailsPerHour, ResetLinkLifetime
	}
	n, err := recentTokens(ctx, tx, u.ID, purpose)
	if err != nil {
		return err
	}
	if n >= limit {
		return ErrTooManyEmails
	}
	raw := make([]byte, 32) // 256 bits
	rand.Read(raw)
	t := &EmailToken{Purpose: purpose, Token: base64.RawURLEncoding.EncodeToString(raw)}
	if err := tx.QueryRow(ctx, insertTokenSQL, tokenHash(t.Token), u.ID, purpose, int(lifetime.Seconds())).Scan(&t.ID, &t.ExpiresAt); err != nil {
		return err
	}
	if s.Links == nil {
		return errors.New("accounts: no LinkSender to send the link with")
	}
	return s.Links.SendLink(ctx, tx, u, t)
}

// useTokenSQL spends a live token of a purpose, returning its user.
const useTokenSQL = `UPDATE email_tokens SET used_at = now()
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
RETURNING user_id`

func useToken(ctx context.Context, tx pgx.Tx, token, purpose string) (int64, error) {
	if token == "" || len(token) > 100 {
		return 0, ErrBadLink
	}
	var userID int64
	err := tx.QueryRow(ctx, useTokenSQL, tokenHash(token), purpose).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrBadLink
	}
	return userID, err
}

// CheckLink reports whether token is a live link of purpose, without
// spending it: the page a link opens asks before it acts (a mail scanner
// that fetches links must not use them up). It returns ErrBadLink.
func CheckLink(ctx context.Context, db database.Executor, token, purpose string) error {
	if token == "" || len(token) > 100 {
		return ErrBadLink
	}
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM email_tokens
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now())`, tokenHash(token), purpose).Scan(&ok)
	if err == nil && !ok {
		return ErrBadLink
	}
	return err
}

// LinkLive returns the purpose and expiry of the token id when it is
// still unused and unexpired — the email worker sends no dead link. It
// returns ErrNotFound otherwise.
func LinkLive(ctx context.Context, db database.Executor, id int64) (purpose string, expiresAt time.Time, err error) {
	err = db.QueryRow(ctx, `SELECT purpose, expires_at FROM email_tokens WHERE id = $1 AND used_at IS NULL AND expires_at > now()`, id).
		Scan(&purpose, &expiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, ErrNotFound
	}
	return purpose, expiresAt, err
}

var verifyUserSQL = `WITH u AS (UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1
RETURNING id, email, email_verified_at)
SELECT ` + userColumnsSQL + ` FROM u` + membershipSQL("u.id", "NULL")

// VerifyEmail spends a verification link and marks its user verified,
// recorded as "user.update" by the user from address (the link's holder).
// It returns the user, or ErrBadLink.
func (s *Service) VerifyEmail(ctx context.Context, token, address string) (*User, error) {
	u := &User{}
	err := database.WithTx(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		id, err := useToken(ctx, tx, token, PurposeVerify)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, verifyUserSQL, id).Scan(userDest(u)...); err != nil {
			return err
		}
		return recordUserUpdate(ctx, tx, audit.User(u.ID, address), u, "email_verified")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ResetPassword spends a reset link and sets its user's password to next.
// It also verifies the address (the link was read there), spends the
// user's other reset links, and ends every session and half-done log-in
// (two-factor challenge) of the user: whoever held one before the reset —
// perhaps the reason for it — holds nothing after. It is recorded as "user.update" by the user from address. It
// returns the user, ErrBadLink, or an error for a password shorter than
// MinPasswordLength. hash runs the password hashing (the dashboard bounds
// how many run at once); nil runs it directly.
func (s *Service) ResetPassword(ctx context.Context, token, next, address string, hash func(func() error) error) (*User, error) {
	if len(next) < MinPasswordLength {
		return nil, fmt.Errorf("the new password must have at least %d characters", MinPasswordLength)
	}
	if hash == nil {
		hash = func(fn func() error) error { return fn() }
	}
	u := &User{}
	err := database.WithTx(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		id, err := useToken(ctx, tx, token, PurposeReset)
		if err != nil {
			return err
		}
		// Hashed only for a live link: an unknown token costs no argon2id.
		var h string
		if err := hash(func() error { h = HashPassword(next); return nil }); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`WITH u AS (UPDATE users SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1
RETURNING id, email, email_verified_at)
SELECT `+userColumnsSQL+` FROM u`+membershipSQL("u.id", "NULL"), id, h).QueryRow(func(row pgx.Row) error {
			return row.Scan(userDest(u)...)
		})
		b.Queue(`UPDATE email_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'reset' AND used_at IS NULL`, id)
		b.Queue(`DELETE FROM sessions WHERE user_id = $1`, id)
		// And every half-done log-in: a password that was known before
		// must not finish one (an enrolment would even bind the second
		// factor to the holder's device).
		b.Queue(`DELETE FROM login_challenges WHERE user_id = $1`, id)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return recordUserUpdate(ctx, tx, audit.User(u.ID, address), u, "password", "email_verified")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
