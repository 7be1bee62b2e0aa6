package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
)

var (
	// ErrBadCredentials is returned for an unknown email or a wrong password
	// (the two are not told apart).
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrNoSession is returned for a session token that is unknown or expired.
	ErrNoSession = errors.New("no such session")
	// ErrEmailTaken is returned when signing up with an email that has a user.
	ErrEmailTaken = errors.New("an account with this email exists")
)

// SessionLifetime is how long a session lasts without use; using it extends it.
const SessionLifetime = 30 * 24 * time.Hour

// Session is a logged-in user, looking at one of their accounts: AccountID,
// where they are Role (0 and "" when they are in no account).
type Session struct {
	UserID    int64
	AccountID int64
	Role      Role
	Email     string
	Verified  bool // the user's email address is verified (User.Verified)
	ExpiresAt time.Time
	// Extended reports that this look-up pushed ExpiresAt out (it does so
	// at most once an hour): the cookie holding the token should be set
	// again with the new lifetime, or the browser drops it when the first
	// one runs out while the server still honours the session.
	Extended bool
}

// SignUp creates an account and its owner user, unverified: whoever signs
// up has not yet shown they read mail at email, so nothing is mailed there
// but the verification link (Service.SignUp sends it). db must be a
// transaction: the new user, from address, is recorded as creating the
// account and themselves in it. It returns ErrEmailTaken when the email has
// a user, or an error for an invalid email or a password shorter than
// MinPasswordLength.
func SignUp(ctx context.Context, db database.Executor, email, password, address string) (*User, error) {
	u, created, err := createUser(ctx, db, audit.User(0, address), email, password, "", false)
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, ErrEmailTaken
	}
	return u, nil
}

var passwordHashSQL = `SELECT ` + userColumnsSQL + `, u.password_hash FROM users u` + membershipSQL("u.id", "NULL") + `WHERE lower(u.email) = lower($1)`

// CheckLogin returns the user whose email and password these are. It
// returns ErrBadCredentials otherwise, after the same argon2id work either
// way, so timing does not tell which emails exist.
func CheckLogin(ctx context.Context, db database.Executor, email, password string) (*User, error) {
	u := &User{}
	var hash string
	err := db.QueryRow(ctx, passwordHashSQL, email).Scan(append(userDest(u), &hash)...)
	if errors.Is(err, pgx.ErrNoRows) {
		CheckPassword(dummyHash, password)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := CheckPassword(hash, password)
	if err != nil || !ok {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// dummyHash is checked against when the email is unknown: the hash of
// "intake-dummy-password" with the parameters HashPassword uses (a test
// holds them equal), written out rather than computed at start-up, which
// took 64 MiB and a tenth of a second in every process — the worker and
// the CLI too — and set each one's peak memory.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$CDcVf/5aHz8LXkPDywd6Bg$dUGibPxi+l7JV3EVXCvbHgkmkfh91LZIyP/PCzrKyWg"

// ChangePassword sets u's password after checking the current one, and ends
// every other session of u (keep is the token of the one to keep; "" ends
// all) and every half-done log-in (two-factor challenge) begun with the
// old password. It returns ErrBadCredentials for a wrong current password.
func ChangePassword(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, u *User, current, next, keep string) error {
	if _, err := CheckLogin(ctx, db, u.Email, current); err != nil {
		return err
	}
	if len(next) < MinPasswordLength {
		return errors.New("the new password must have at least 8 characters")
	}
	hash := HashPassword(next)
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, hash)
		b.Queue(`DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, u.ID, tokenHash(keep))
		b.Queue(`DELETE FROM login_challenges WHERE user_id = $1`, u.ID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		// The field is named, its value never.
		return audit.Record(ctx, tx, audit.Entry{AccountID: u.AccountID, Actor: actor, Action: "user.update",
			ObjectType: "user", ObjectID: strconv.FormatInt(u.ID, 10), Changed: []string{"password"}})
	})
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// NewSession starts a session for u and returns its token, for a cookie.
// A login starts a new one (the old is ended by the caller), so a token
// planted before login is worth nothing after it.
func NewSession(ctx context.Context, db database.Executor, u *User, ip, userAgent string) (string, error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	// The User-Agent is whatever bytes the client sent; it is stored as
	// text, so anything that is not UTF-8 goes, and the cut keeps whole
	// characters.
	userAgent = strings.ToValidUTF8(userAgent, "")
	if len(userAgent) > 500 {
		userAgent = strings.ToValidUTF8(userAgent[:500], "")
	}
	ip = strings.ToValidUTF8(ip, "")
	_, err := db.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, account_id, expires_at, ip, user_agent) VALUES ($1, $2, nullif($3, 0), $4, $5, $6)`,
		tokenHash(token), u.ID, u.AccountID, time.Now().Add(SessionLifetime), ip, userAgent)
	if err != nil {
		return "", err
	}
	return token, nil
}

// Expiry is extended at most once an hour, so page views stay reads. The
// answer carries the new expiry when this look-up extended it. The account
// is the session's while the user is its member, else the one they used
// last (membershipSQL): a member removed from an account is out of it at
// their next request.
var sessionSQL = `
WITH s AS (
	SELECT s.token_hash, s.user_id, coalesce(m.account_id, 0) AS account_id, coalesce(m.role, '') AS role,
		u.email, u.email_verified_at IS NOT NULL AS verified, s.expires_at, s.last_seen_at
	FROM sessions s JOIN users u ON u.id = s.user_id` + membershipSQL("s.user_id", "s.account_id") + `
	WHERE s.token_hash = $1 AND s.expires_at > now()
), touch AS (
	UPDATE sessions SET last_seen_at = now(), expires_at = now() + $2 * interval '1 second'
	FROM s WHERE sessions.token_hash = s.token_hash AND s.last_seen_at < now() - interval '1 hour'
	RETURNING sessions.expires_at
)
SELECT user_id, account_id, role, email, verified, coalesce((SELECT expires_at FROM touch), expires_at), EXISTS (SELECT FROM touch) FROM s`

// SessionFor returns the live session of token, extending it when it was
// last seen over an hour ago (Session.Extended). It returns ErrNoSession.
func SessionFor(ctx context.Context, db database.Executor, token string) (*Session, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrNoSession
	}
	s := &Session{}
	err := db.QueryRow(ctx, sessionSQL, tokenHash(token), int(SessionLifetime.Seconds())).Scan(&s.UserID, &s.AccountID, &s.Role, &s.Email, &s.Verified, &s.ExpiresAt, &s.Extended)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoSession
	}
	return s, err
}

// EndSession ends the session of token (logging out); an unknown token is fine.
func EndSession(ctx context.Context, db database.Executor, token string) error {
	_, err := db.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash(token))
	return err
}

// SweepSessions deletes expired sessions and expired login challenges
// (the half-logged-in state of accounts/twofactor.go, which nothing else
// deletes when a log-in is left half done), and returns how many rows it
// deleted. The periodic sweep runs it (notify.Workers).
func SweepSessions(ctx context.Context, db database.Executor) (int64, error) {
	b := &pgx.Batch{}
	var n int64
	count := func(tag pgconn.CommandTag) error { n += tag.RowsAffected(); return nil }
	b.Queue(`DELETE FROM sessions WHERE expires_at <= now()`).Exec(count)
	b.Queue(`DELETE FROM login_challenges WHERE expires_at <= now()`).Exec(count)
	err := db.SendBatch(ctx, b).Close()
	return n, err
}

// User is the session's user, acting in the session's account.
func (s *Session) User() *User {
	return &User{ID: s.UserID, AccountID: s.AccountID, Role: s.Role, Email: s.Email, Verified: s.Verified}
}
