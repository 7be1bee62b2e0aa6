package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/textcheck"
)

var (
	// ErrNotFound is returned when a user or key does not exist.
	ErrNotFound error = intake.NotFoundError("not found")
	// ErrUnauthorized is returned for an API key that is unknown or revoked.
	ErrUnauthorized error = &intake.Error{Kind: intake.Unauthorized, Type: intake.TypeUnauthorized, Msg: "invalid API key",
		Title:  "Unauthorized",
		Detail: "Send a valid API key as Authorization: Bearer <key>. Create one with `intake apikeys create` or in the dashboard."}
	// ErrReadOnlyKey is returned when a read_only key asks for a change.
	ErrReadOnlyKey error = &intake.Error{Kind: intake.Forbidden, Type: intake.TypeForbidden, Msg: "read-only API key",
		Title:  "Forbidden",
		Detail: "This API key is read_only: it may read (GET, HEAD) everything its account owns but change nothing. Use a read_write key."}
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// User is a person who logs in, acting in one of the accounts they are a
// member of (AccountID, with Role there; 0 and "" for a user in no
// account).
type User struct {
	ID        int64
	AccountID int64
	Role      Role
	Email     string
	// Verified reports that the user proved they read mail at Email (a
	// verification or reset link), or was made by an operator. Until then
	// Intake mails that address nothing but its own verification.
	Verified bool
}

// CreateUser makes an account and its owner user, verified: it is the
// operator's way in (`intake users create`, test factories), and an
// operator vouches for the address. Sign-up from the dashboard is SignUp,
// which makes an unverified user. CreateUser is idempotent on email: when a
// user with that email exists it returns that user and created=false (the
// password is left unchanged). A new user and account are recorded by actor
// ("account.create", "user.create") in the creating transaction. It
// returns an error for an invalid email or a password shorter than
// MinPasswordLength.
func CreateUser(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, email, password string) (u *User, created bool, err error) {
	err = database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		u, created, err = createUser(ctx, tx, actor, email, password, "", true)
		return err
	})
	return u, created, err
}

// CreateUserHashed is CreateUser with the password's hash (HashPassword)
// in place of the password: for a caller that makes many users with one
// password, such as the test factories (argon2id costs half a second a
// hash under the race detector). The hash is stored as given.
func CreateUserHashed(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, email, hash string) (u *User, created bool, err error) {
	if hash == "" {
		return nil, false, errors.New("no password hash")
	}
	err = database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		u, created, err = createUser(ctx, tx, actor, email, "", hash, true)
		return err
	})
	return u, created, err
}

// createUser makes the account and its user in db, which must be a
// transaction: the audit entries go with them. A user actor without a
// UserID is the new user, signing up.
func createUser(ctx context.Context, db database.Executor, actor audit.Actor, email, password, hash string, verified bool) (u *User, created bool, err error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return nil, false, fmt.Errorf("%q is not an email address", email)
	}
	if hash == "" && len(password) < MinPasswordLength {
		return nil, false, fmt.Errorf("the password must have at least %d characters", MinPasswordLength)
	}
	if u, err := UserByEmail(ctx, db, email); err == nil {
		return u, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	// The account, its user and the user's membership as its owner, in
	// one statement.
	const q = `
WITH u AS (
	INSERT INTO users (email, password_hash, email_verified_at)
	VALUES ($1, $2, CASE WHEN $3::bool THEN now() END)
	ON CONFLICT DO NOTHING
	RETURNING id, email, email_verified_at IS NOT NULL AS verified
), a AS (
	INSERT INTO accounts (name) SELECT $1 FROM u RETURNING id
), m AS (
	INSERT INTO memberships (account_id, user_id, role, last_used_at) SELECT a.id, u.id, 'owner', now() FROM a, u
)
SELECT u.id, a.id, 'owner', u.email, u.verified FROM u, a`
	u = &User{}
	if hash == "" {
		hash = HashPassword(password)
	}
	err = db.QueryRow(ctx, q, email, hash, verified).Scan(userDest(u)...)
	if errors.Is(err, pgx.ErrNoRows) || database.IsUniqueViolation(err, "users_email_key") {
		// Created concurrently by someone else.
		u, err := UserByEmail(ctx, db, email)
		return u, false, err
	}
	if err != nil {
		return nil, false, err
	}
	if actor.Kind == audit.ActorUser && actor.UserID == 0 {
		actor.UserID = u.ID
	}
	if err := recordCreated(ctx, db, actor, u); err != nil {
		return nil, false, err
	}
	return u, true, nil
}

// recordUserUpdate records, in tx, that actor changed fields of u (named,
// never their values) in u's account: the one the change was made in, or
// for a change outside any session (a link, the CLI), the one u last used.
// A user in no account has no log to record in.
func recordUserUpdate(ctx context.Context, tx database.Executor, actor audit.Actor, u *User, fields ...string) error {
	if u.AccountID == 0 {
		return nil
	}
	return audit.Record(ctx, tx, audit.Entry{AccountID: u.AccountID, Actor: actor, Action: "user.update",
		ObjectType: "user", ObjectID: strconv.FormatInt(u.ID, 10), Changed: fields})
}

// recordCreated records a new account and its first user: which fields
// were set, never the password.
func recordCreated(ctx context.Context, db database.Executor, actor audit.Actor, u *User) error {
	if err := audit.Record(ctx, db, audit.Entry{AccountID: u.AccountID, Actor: actor, Action: "account.create",
		ObjectType: "account", ObjectID: strconv.FormatInt(u.AccountID, 10), Changed: []string{"name"}}); err != nil {
		return err
	}
	return audit.Record(ctx, db, audit.Entry{AccountID: u.AccountID, Actor: actor, Action: "user.create",
		ObjectType: "user", ObjectID: strconv.FormatInt(u.ID, 10), Changed: []string{"email", "password"}})
}

// UserByEmail returns the user with email (case-insensitive). It returns ErrNotFound.
func UserByEmail(ctx context.Context, db database.Executor, email string) (*User, error) {
	u := &User{}
	err := db.QueryRow(ctx, `SELECT `+userColumnsSQL+` FROM users u`+membershipSQL("u.id", "NULL")+`WHERE lower(u.email) = lower($1)`, email).
		Scan(userDest(u)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return u, err
}

// KeyPrefix starts every API key, so a leaked one is recognisable (and
// findable by secret scanners).
const KeyPrefix = "intk_"

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Scope is what an API key may do.
type Scope string

// The scopes. A read_write key may do everything its account may; a
// read_only key may read all of it (GET and HEAD) and change nothing,
// not even make another key.
const (
	ScopeReadWrite Scope = "read_write"
	ScopeReadOnly  Scope = "read_only"
)

// Scopes lists the scopes, the default first.
var Scopes = []Scope{ScopeReadWrite, ScopeReadOnly}

// ParseScope reads an API key's scope; "" is the default, read_write. The
// error's message reads after "scope ".
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case "":
		return ScopeReadWrite, nil
	case ScopeReadWrite, ScopeReadOnly:
		return Scope(s), nil
	}
	return "", fmt.Errorf("must be %q or %q", ScopeReadWrite, ScopeReadOnly)
}

// MayChange reports whether a key of scope s may change anything.
func (s Scope) MayChange() bool { return s == ScopeReadWrite }

// APIKey is an API key as it is listed: never the key itself.
type APIKey struct {
	ID         int64
	PublicID   string
	Name       string
	Scope      Scope
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// CreateAPIKey makes an API key of scope for u's account ("" is
// read_write) and returns it with the key; only its hash and a display
// prefix are stored, so this is the one time it is seen. It records
// "api_key.create" by actor in the same transaction.
func CreateAPIKey(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, u *User, name string, scope Scope) (*APIKey, string, error) {
	return createAPIKey(ctx, db, actor, u.AccountID, &u.ID, name, scope)
}

// CreateAccountAPIKey is CreateAPIKey for a request that acts as the account
// rather than as one of its users.
func CreateAccountAPIKey(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, name string, scope Scope) (*APIKey, string, error) {
	return createAPIKey(ctx, db, actor, accountID, nil, name, scope)
}

// MaxKeyNameLength bounds an API key's name, in bytes.
const MaxKeyNameLength = 200

// CheckKeyName says what is wrong with name as an API key's name, or
// returns nil: it is at most MaxKeyNameLength bytes of text, valid UTF-8
// without NUL characters (which the database would refuse). The message
// reads after "name ".
func CheckKeyName(name string) error {
	if len(name) > MaxKeyNameLength {
		return fmt.Errorf("is longer than %d characters", MaxKeyNameLength)
	}
	if problem := textcheck.Problem(name); problem != "" {
		return errors.New(problem)
	}
	return nil
}

func createAPIKey(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, userID *int64, name string, scope Scope) (*APIKey, string, error) {
	if err := CheckKeyName(name); err != nil {
		return nil, "", fmt.Errorf("the name %w", err)
	}
	scope, err := ParseScope(string(scope))
	if err != nil {
		return nil, "", fmt.Errorf("the scope %w", err)
	}
	raw := make([]byte, 20) // 160 bits
	rand.Read(raw)
	key := KeyPrefix + keyEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(key))
	id := make([]byte, 10)
	rand.Read(id)
	k := &APIKey{PublicID: "ak_" + keyEncoding.EncodeToString(id), Name: name, Scope: scope, Prefix: key[:len(KeyPrefix)+6]}
	err = database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_keys (account_id, user_id, name, prefix, hash, public_id, scope) VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id, created_at`, accountID, userID, name, k.Prefix, sum[:], k.PublicID, string(scope)).Scan(&k.ID, &k.CreatedAt)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "api_key.create",
			ObjectType: "api_key", ObjectID: k.PublicID})
	})
	if err != nil {
		return nil, "", err
	}
	return k, key, nil
}

// APIKeys returns the account's live keys, newest first.
func APIKeys(ctx context.Context, db database.Executor, accountID int64) ([]*APIKey, error) {
	rows, err := db.Query(ctx, `SELECT id, public_id, name, scope, prefix, created_at, last_used_at FROM api_keys
WHERE account_id = $1 AND revoked_at IS NULL ORDER BY id DESC`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*APIKey, error) {
		k := &APIKey{}
		return k, row.Scan(&k.ID, &k.PublicID, &k.Name, &k.Scope, &k.Prefix, &k.CreatedAt, &k.LastUsedAt)
	})
}

// RevokeAPIKey revokes the account's key publicID; requests with it then
// answer 401. It records "api_key.revoke" by actor in the same
// transaction. It returns ErrNotFound when there is no such live key.
func RevokeAPIKey(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, publicID string) error {
	if textcheck.Problem(publicID) != "" {
		return ErrNotFound // no stored id is such text; Postgres would refuse it (a 500)
	}
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE public_id = $1 AND account_id = $2 AND revoked_at IS NULL`,
			publicID, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "api_key.revoke",
			ObjectType: "api_key", ObjectID: publicID, Changed: []string{"revoked"}})
	})
}

// Principal is who an API request acts as.
type Principal struct {
	AccountID int64
	KeyID     int64
	// Scope is the key's: a read_only principal may change nothing.
	Scope Scope
}

// last_used_at is written at most once a minute per key, so reads stay reads.
const authenticateSQL = `
WITH k AS (
	SELECT id, account_id, scope, last_used_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL
), touch AS (
	UPDATE api_keys SET last_used_at = now() FROM k
	WHERE api_keys.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
)
SELECT id, account_id, scope FROM k`

// Authenticate returns the principal of an API key. It returns
// ErrUnauthorized for a key that is unknown or revoked.
func Authenticate(ctx context.Context, db database.Executor, key string) (*Principal, error) {
	if !strings.HasPrefix(key, KeyPrefix) || len(key) > 100 {
		return nil, ErrUnauthorized
	}
	// Lookup by SHA-256: the key has 160 random bits, so no slow hash is needed,
	// and an index lookup on the hash leaks no timing about the key.
	sum := sha256.Sum256([]byte(key))
	p := &Principal{}
	err := db.QueryRow(ctx, authenticateSQL, sum[:]).Scan(&p.KeyID, &p.AccountID, &p.Scope)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUnauthorized
	}
	return p, err
}
