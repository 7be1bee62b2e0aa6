package accounts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/seal"
)

// Two-factor log-in: a TOTP secret per user (RFC 6238: 6 digits, 30 s,
// SHA-1, what every authenticator app reads from a QR code), ten
// single-use recovery codes, and the half-logged-in state between the
// password and the code (a login challenge). The tables two_factor,
// recovery_codes and login_challenges, and accounts.require_two_factor,
// are written here only.

var (
	// ErrBadCode is returned for a wrong, expired, replayed or used code
	// (a TOTP code or a recovery code; the reasons are not told apart).
	ErrBadCode = errors.New("wrong code")
	// ErrNoChallenge is returned for a login challenge that is unknown,
	// expired or spent on too many wrong codes: log in with the password
	// again.
	ErrNoChallenge = errors.New("no such login challenge")
	// ErrTwoFactorOn is returned when enrolling a user whose two-factor
	// log-in is already on.
	ErrTwoFactorOn = errors.New("two-factor log-in is already on")
	// ErrTwoFactorOff is returned when turning off, or requiring of
	// others, a two-factor log-in the user does not have.
	ErrTwoFactorOff = errors.New("two-factor log-in is off")
	// ErrTwoFactorRequired is returned when turning off two-factor log-in
	// in an account that requires it.
	ErrTwoFactorRequired = errors.New("the account requires two-factor log-in")
	// ErrNotOwner matches (errors.Is) the *RoleError returned when someone
	// other than the account's owner changes what the account requires.
	ErrNotOwner = errors.New("only the account's owner may do this")
)

// Challenge purposes: what the second step of a log-in asks for.
const (
	ChallengeCode  = "code"  // the user has two-factor log-in: a code
	ChallengeEnrol = "enrol" // the account requires it and the user has none: enrol first
)

// How long the half-logged-in state lasts, and how many wrong codes it
// takes before the password must be typed again.
const (
	challengeCodeLifetime  = 5 * time.Minute
	challengeEnrolLifetime = 15 * time.Minute
	challengeMaxFailures   = 5
)

// RecoveryCodeCount is how many recovery codes an enrolment gives.
const RecoveryCodeCount = 10

// totpIssuer names Intake in authenticator apps.
const totpIssuer = "Intake"

var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TwoFactorStatus is what the account page shows of a user's two-factor
// log-in and their account's requirement.
type TwoFactorStatus struct {
	Enabled bool // the user's two-factor log-in is on
	// Required reports that an account the user is a member of requires
	// it of every member: their log-in asks for it, and they may not turn
	// it off.
	Required bool
	// AccountRequires reports that the account the user acts in requires
	// it (what its owner may change).
	AccountRequires bool
	Owner           bool // the user is the owner of the account they act in (may require it)
	RecoveryCodes   int  // unused recovery codes left
}

const twoFactorStatusSQL = `
SELECT EXISTS (SELECT 1 FROM two_factor WHERE user_id = u.id AND enabled_at IS NOT NULL),
	EXISTS (SELECT 1 FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.user_id = u.id AND a.require_two_factor),
	coalesce((SELECT a.require_two_factor FROM memberships m JOIN accounts a ON a.id = m.account_id
		WHERE m.user_id = u.id AND m.account_id = $2), false),
	EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.account_id = $2 AND m.role = 'owner'),
	(SELECT count(*) FROM recovery_codes WHERE user_id = u.id AND used_at IS NULL)
FROM users u WHERE u.id = $1`

// TwoFactorOf returns the two-factor status of the user userID acting in
// the account accountID (0 for none). It returns ErrNotFound for no such
// user.
func TwoFactorOf(ctx context.Context, db database.Executor, userID, accountID int64) (*TwoFactorStatus, error) {
	s := &TwoFactorStatus{}
	err := db.QueryRow(ctx, twoFactorStatusSQL, userID, accountID).Scan(&s.Enabled, &s.Required, &s.AccountRequires, &s.Owner, &s.RecoveryCodes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return s, err
}

// BeginSecondStep is called after u's password proved right. When u must
// give a code (their two-factor log-in is on) or enrol first (their
// account requires it), it starts a login challenge and returns its
// purpose and token, for a short-lived cookie; otherwise it returns "", ""
// and the caller starts the session.
func BeginSecondStep(ctx context.Context, db database.Executor, u *User) (purpose, token string, err error) {
	s, err := TwoFactorOf(ctx, db, u.ID, u.AccountID)
	if err != nil {
		return "", "", err
	}
	lifetime := challengeCodeLifetime
	switch {
	case s.Enabled:
		purpose = ChallengeCode
	case s.Required:
		purpose, lifetime = ChallengeEnrol, challengeEnrolLifetime
	default:
		return "", "", nil
	}
	token = randomToken()
	_, err = db.Exec(ctx, `INSERT INTO login_challenges (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash(token), u.ID, purpose, time.Now().Add(lifetime))
	if err != nil {
		return "", "", err
	}
	return purpose, token, nil
}

// Challenge is the half-logged-in state: whose password was right, and
// what the second step asks of them.
type Challenge struct {
	User    *User
	Purpose string // ChallengeCode or ChallengeEnrol
}

var challengeSQL = `
SELECT ` + userColumnsSQL + `, c.purpose
FROM login_challenges c JOIN users u ON u.id = c.user_id` + membershipSQL("u.id", "NULL") + `
WHERE c.token_hash = $1 AND c.expires_at > now() AND c.failures < $2`

// ChallengeFor returns the live challenge of token. It returns
// ErrNoChallenge.
func ChallengeFor(ctx context.Context, db database.Executor, token string) (*Challenge, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrNoChallenge
	}
	c := &Challenge{User: &User{}}
	err := db.QueryRow(ctx, challengeSQL, tokenHash(token), challengeMaxFailures).
		Scan(append(userDest(c.User), &c.Purpose)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoChallenge
	}
	return c, err
}

// EndChallenge ends the challenge of token; an unknown token is fine.
func EndChallenge(ctx context.Context, db database.Executor, token string) error {
	_, err := db.Exec(ctx, `DELETE FROM login_challenges WHERE token_hash = $1 OR expires_at <= now()`, tokenHash(token))
	return err
}

// AnswerChallenge checks code — a TOTP code or a recovery code — for the
// challenge of token. Right, it ends the challenge and returns its user,
// whose session the caller starts; a recovery code is spent. Wrong, it
// counts a failure against the challenge (a few spend it) and returns
// ErrBadCode. It returns ErrNoChallenge for a challenge that is not live
// or is not asking for a code.
func AnswerChallenge(ctx context.Context, db *pgxpool.Pool, sealer *seal.Sealer, token, code string) (*User, error) {
	c, err := ChallengeFor(ctx, db, token)
	if err != nil {
		return nil, err
	}
	if c.Purpose != ChallengeCode {
		return nil, ErrNoChallenge
	}
	err = checkCode(ctx, db, sealer, c.User.ID, code, time.Now())
	if errors.Is(err, ErrBadCode) {
		_, ferr := db.Exec(ctx, `UPDATE login_challenges SET failures = failures + 1 WHERE token_hash = $1`, tokenHash(token))
		if ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	// Deleting is the claim: two requests racing with one challenge start
	// one session.
	tag, err := db.Exec(ctx, `DELETE FROM login_challenges WHERE token_hash = $1`, tokenHash(token))
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, ErrNoChallenge
	}
	return c.User, nil
}

// checkCode accepts a TOTP code of userID's enabled secret, once per time
// step, or one of their unused recovery codes, spending it. It returns
// ErrBadCode otherwise.
func checkCode(ctx context.Context, db database.Executor, sealer *seal.Sealer, userID int64, code string, now time.Time) error {
	code = normalizeCode(code)
	if isTOTPCode(code) {
		return checkTOTP(ctx, db, sealer, userID, code, now)
	}
	if code == "" || len(code) > 64 {
		return ErrBadCode
	}
	tag, err := db.Exec(ctx, `UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
AND EXISTS (SELECT 1 FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL)`, userID, tokenHash(code))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrBadCode
	}
	return nil
}

// checkTOTP accepts code, normalized, when it is a TOTP code of userID's
// enabled secret not used before (once per time step). It returns
// ErrBadCode otherwise.
func checkTOTP(ctx context.Context, db database.Executor, sealer *seal.Sealer, userID int64, code string, now time.Time) error {
	if !isTOTPCode(code) {
		return ErrBadCode
	}
	var stored string
	err := db.QueryRow(ctx, `SELECT secret FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL`, userID).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrBadCode
	}
	if err != nil {
		return err
	}
	secret, err := sealer.Open(stored, sealOwner(userID))
	if err != nil {
		return err
	}
	step, ok := matchStep(secret, code, now)
	if !ok {
		return ErrBadCode
	}
	// The step only moves forward: a code seen once, or an older one
	// after it, is refused, so a code watched over a shoulder or caught in
	// transit is worth nothing once used.
	tag, err := db.Exec(ctx, `UPDATE two_factor SET last_step = $2 WHERE user_id = $1 AND last_step < $2`, userID, step)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrBadCode
	}
	return nil
}

// normalizeCode drops the spaces and dashes people type or paste and
// lower-cases a recovery code.
func normalizeCode(code string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code))
}

func isTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// matchStep returns the time step whose code code is: the current one or
// either neighbour, for clocks a little apart.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	step := now.Unix() / int64(totpOpts.Period)
	for _, s := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*int64(totpOpts.Period), 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

func sealOwner(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }

func randomToken() string {
	raw := make([]byte, 32)
	rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Enrolment is what a user needs to add Intake to an authenticator app.
type Enrolment struct {
	Secret string // base32, to type in by hand
	URL    string // otpauth:// URL, what the QR code holds
	QRCode string // the QR code as a data: URL of a PNG image
}

// StartEnrolment returns u's pending enrolment, making one with a new
// secret when there is none, so reloading the page shows the code already
// scanned. It returns ErrTwoFactorOn when u's two-factor log-in is on.
func StartEnrolment(ctx context.Context, db database.Executor, sealer *seal.Sealer, u *User) (*Enrolment, error) {
	var stored string
	var enabled bool
	err := db.QueryRow(ctx, `SELECT secret, enabled_at IS NOT NULL FROM two_factor WHERE user_id = $1`, u.ID).Scan(&stored, &enabled)
	var secret string
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		raw := make([]byte, 20) // 160 bits, RFC 4226's recommendation
		rand.Read(raw)
		secret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
		// Two tabs enrolling at once keep the first secret.
		err = db.QueryRow(ctx, `INSERT INTO two_factor (user_id, secret) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING secret, enabled_at IS NOT NULL`,
			u.ID, sealer.Seal(secret, sealOwner(u.ID))).Scan(&stored, &enabled)
		if err != nil {
			return nil, err
		}
		if secret, err = sealer.Open(stored, sealOwner(u.ID)); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if secret, err = sealer.Open(stored, sealOwner(u.ID)); err != nil {
			return nil, err
		}
	}
	if enabled {
		return nil, ErrTwoFactorOn
	}
	return enrolment(secret, u.Email)
}

func enrolment(secret, email string) (*Enrolment, error) {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", totpIssuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + email, RawQuery: q.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return &Enrolment{Secret: secret, URL: key.URL(), QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// ConfirmEnrolment turns u's pending enrolment on when code is its current
// TOTP code, and returns ten new recovery codes, shown once: only their
// hashes are kept. The code counts as used. It returns ErrBadCode for a
// wrong code, ErrTwoFactorOn when it is on already, ErrTwoFactorOff when
// no enrolment was started.
func ConfirmEnrolment(ctx context.Context, db *pgxpool.Pool, sealer *seal.Sealer, actor audit.Actor, u *User, code string) ([]string, error) {
	var codes []string
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var stored string
		var enabled bool
		err := tx.QueryRow(ctx, `SELECT secret, enabled_at IS NOT NULL FROM two_factor WHERE user_id = $1 FOR UPDATE`, u.ID).Scan(&stored, &enabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTwoFactorOff
		}
		if err != nil {
			return err
		}
		if enabled {
			return ErrTwoFactorOn
		}
		secret, err := sealer.Open(stored, sealOwner(u.ID))
		if err != nil {
			return err
		}
		step, ok := matchStep(secret, normalizeCode(code), time.Now())
		if !ok {
			return ErrBadCode
		}
		if _, err := tx.Exec(ctx, `UPDATE two_factor SET enabled_at = now(), last_step = $2 WHERE user_id = $1`, u.ID, step); err != nil {
			return err
		}
		if codes, err = replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return recordUserUpdate(ctx, tx, actor, u, "two_factor")
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// replaceRecoveryCodes makes userID's ten recovery codes, dropping any
// before, and returns them.
func replaceRecoveryCodes(ctx context.Context, tx pgx.Tx, userID int64) ([]string, error) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		raw := make([]byte, 20) // 160 bits: a plain SHA-256 cannot be searched back
		rand.Read(raw)
		c := strings.ToLower(enc.EncodeToString(raw)) // 32 characters
		codes[i] = c[0:8] + "-" + c[8:16] + "-" + c[16:24] + "-" + c[24:32]
		hashes[i] = tokenHash(c)
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM recovery_codes WHERE user_id = $1`, userID)
	b.Queue(`INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])`, userID, hashes)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTwoFactor turns u's two-factor log-in off, dropping the secret
// and the recovery codes, after checking their password and a code. It
// returns ErrBadCredentials for a wrong password, ErrBadCode for a wrong
// code, ErrTwoFactorOff when it is off, and ErrTwoFactorRequired when
// the account requires it.
func DisableTwoFactor(ctx context.Context, db *pgxpool.Pool, sealer *seal.Sealer, actor audit.Actor, u *User, password, code string) error {
	s, err := TwoFactorOf(ctx, db, u.ID, u.AccountID)
	if err != nil {
		return err
	}
	if !s.Enabled {
		return ErrTwoFactorOff
	}
	if s.Required {
		return ErrTwoFactorRequired
	}
	if _, err := CheckLogin(ctx, db, u.Email, password); err != nil {
		return err
	}
	if err := checkCode(ctx, db, sealer, u.ID, code, time.Now()); err != nil {
		return err
	}
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM recovery_codes WHERE user_id = $1`, u.ID)
		b.Queue(`DELETE FROM two_factor WHERE user_id = $1`, u.ID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return recordUserUpdate(ctx, tx, actor, u, "two_factor")
	})
}

// NewRecoveryCodes replaces u's recovery codes with ten new ones, shown
// once (only their hashes are kept): the old ones stop working. It takes
// u's password, or, when password is "", a current TOTP code — not a
// recovery code: whoever holds only an old code must not make fresh ones
// from it. It records "user.update" (recovery_codes) by actor, without
// the codes. It returns ErrTwoFactorOff, ErrBadCredentials for a wrong
// password, or ErrBadCode for a wrong code.
func NewRecoveryCodes(ctx context.Context, db *pgxpool.Pool, sealer *seal.Sealer, actor audit.Actor, u *User, password, code string) ([]string, error) {
	s, err := TwoFactorOf(ctx, db, u.ID, u.AccountID)
	if err != nil {
		return nil, err
	}
	if !s.Enabled {
		return nil, ErrTwoFactorOff
	}
	if password != "" {
		if _, err := CheckLogin(ctx, db, u.Email, password); err != nil {
			return nil, err
		}
	} else if err := checkTOTP(ctx, db, sealer, u.ID, normalizeCode(code), time.Now()); err != nil {
		return nil, err
	}
	var codes []string
	err = database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// Still on: turned off (or reset) meanwhile, there is nothing to
		// give codes for.
		var on bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL FOR UPDATE)`, u.ID).Scan(&on)
		if err != nil {
			return err
		}
		if !on {
			return ErrTwoFactorOff
		}
		if codes, err = replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return recordUserUpdate(ctx, tx, actor, u, "recovery_codes")
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// ResetTwoFactor is the operator's way back in for a user who lost their
// device and their recovery codes (`intake users two-factor-reset`): it
// turns u's two-factor log-in off, deletes the recovery codes, and ends
// every session and half-done log-in of u, so whoever holds the device
// now holds nothing. In an account that requires two-factor log-in, u's
// next log-in enrols again. It records "user.update" (two_factor) by
// actor. It returns ErrTwoFactorOff, changing nothing, when it is off.
func ResetTwoFactor(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, u *User) error {
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL`, u.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrTwoFactorOff
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM recovery_codes WHERE user_id = $1`, u.ID)
		b.Queue(`DELETE FROM sessions WHERE user_id = $1`, u.ID)
		b.Queue(`DELETE FROM login_challenges WHERE user_id = $1`, u.ID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return recordUserUpdate(ctx, tx, actor, u, "two_factor")
	})
}

// SetRequireTwoFactor sets whether u's account requires two-factor log-in
// of every user; from then on, a user without it must enrol right after
// their password, and turning it on ends the sessions of those users. Only the account's owner may, and only with their own
// two-factor log-in on (so that requiring it cannot lock them out of
// their own settings). It returns a *RoleError (ErrNotOwner) or
// ErrTwoFactorOff.
func SetRequireTwoFactor(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, u *User, on bool) error {
	s, err := TwoFactorOf(ctx, db, u.ID, u.AccountID)
	if err != nil {
		return err
	}
	if !s.Owner {
		// The dashboard refuses anyone below owner before this; this holds
		// for every other caller.
		return &RoleError{Have: u.Role, Need: RoleOwner}
	}
	if on && !s.Enabled {
		return ErrTwoFactorOff
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE accounts SET require_two_factor = $2 WHERE id = $1`, u.AccountID, on)
	if on {
		// The sessions of users without it end: their next log-in makes
		// them enrol, so "required" holds from now, not from their next
		// log-in.
		b.Queue(`DELETE FROM sessions WHERE user_id IN (SELECT m.user_id FROM memberships m WHERE m.account_id = $1
	AND NOT EXISTS (SELECT 1 FROM two_factor WHERE user_id = m.user_id AND enabled_at IS NOT NULL))`, u.AccountID)
	}
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: u.AccountID, Actor: actor, Action: "account.update",
			ObjectType: "account", ObjectID: strconv.FormatInt(u.AccountID, 10), Changed: []string{"require_two_factor"}})
	})
}
