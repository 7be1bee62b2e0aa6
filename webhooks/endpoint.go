package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
)

// ErrNotFound is returned when an endpoint or delivery does not exist or
// belongs to another account.
var ErrNotFound = errors.New("webhook not found")

// ErrDisabled is returned when a delivery is asked of a disabled endpoint.
var ErrDisabled = errors.New("webhook endpoint is disabled")

// RotationGrace is how long a rotated-out secret still signs deliveries,
// so receivers can switch secrets without dropping one.
const RotationGrace = 24 * time.Hour

// Endpoint is a URL a form's submissions are delivered to.
type Endpoint struct {
	ID                      int64
	PublicID                string
	FormID                  int64
	FormPublicID            string
	AccountID               int64
	URL                     string
	Enabled                 bool
	IncludeSpam             bool
	Secret                  string // as stored: sealed (see Sealer)
	PreviousSecret          string // as stored: sealed
	PreviousSecretExpiresAt *time.Time
	DisabledReason          string
	FailingSince            *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// Rotating reports whether e is in a rotation's grace period at now: the
// previous secret still signs.
func (e *Endpoint) Rotating(now time.Time) bool {
	return e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt)
}

// SigningSecrets returns the secrets a delivery at now is signed with, in
// clear: the current one, and the previous one during a rotation's grace
// period. Secret and PreviousSecret hold them as stored (sealed). It
// returns ErrUnseal.
func (e *Endpoint) SigningSecrets(s *Sealer, now time.Time) ([]string, error) {
	cur, err := s.Open(e.Secret, e.PublicID)
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if e.Rotating(now) {
		prev, err := s.Open(e.PreviousSecret, e.PublicID)
		if err != nil {
			return nil, err
		}
		out = append(out, prev)
	}
	return out, nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newPublicID(prefix string) string {
	b := make([]byte, 10)
	rand.Read(b)
	return prefix + idEncoding.EncodeToString(b)
}

// NewSecret returns a fresh endpoint secret: whsec_ and 32 random bytes in base64.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Input is an endpoint as a client creates or changes it; nil members are
// left as they are (or at their defaults on create).
type Input struct {
	URL         *string `json:"url"`
	Enabled     *bool   `json:"enabled"`
	IncludeSpam *bool   `json:"include_spam"`
}

// checkURL accepts absolute http and https URLs only. Where the URL points
// is checked when it is dialled (see NewHTTPClient), because DNS can change.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(raw) > 2000 {
		return &forms.ValidationError{Errors: []forms.FieldError{{Field: "url", Code: forms.CodeInvalid, Rule: "url",
			Message: "url must be an absolute http or https URL without credentials, such as https://example.com/hooks/intake", Pointer: "#/url"}}}
	}
	return nil
}

const endpointColumns = `e.id, e.public_id, e.form_id, f.public_id, f.account_id, e.url, e.enabled, e.include_spam,
	e.secret, coalesce(e.previous_secret, ''), e.previous_secret_expires_at, coalesce(e.disabled_reason, ''),
	e.failing_since, e.created_at, e.updated_at`

func scanEndpoint(row pgx.Row) (*Endpoint, error) {
	var e Endpoint
	err := row.Scan(&e.ID, &e.PublicID, &e.FormID, &e.FormPublicID, &e.AccountID, &e.URL, &e.Enabled, &e.IncludeSpam,
		&e.Secret, &e.PreviousSecret, &e.PreviousSecretExpiresAt, &e.DisabledReason, &e.FailingSince, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &e, err
}

// Create adds an endpoint to form with a new secret, stored sealed with s;
// it returns the endpoint and the secret in clear (shown once). It returns
// a *forms.ValidationError for a URL that is not http(s).
func Create(ctx context.Context, db database.Executor, s *Sealer, form *forms.Form, in Input) (*Endpoint, string, error) {
	if in.URL == nil {
		return nil, "", &forms.ValidationError{Errors: []forms.FieldError{{Field: "url", Code: forms.CodeInvalid, Rule: "required", Message: "url is required", Pointer: "#/url"}}}
	}
	if err := checkURL(*in.URL); err != nil {
		return nil, "", err
	}
	enabled, spam := true, false
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	if in.IncludeSpam != nil {
		spam = *in.IncludeSpam
	}
	const q = `
INSERT INTO webhook_endpoints (public_id, form_id, url, enabled, include_spam, secret)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id`
	secret := NewSecret()
	e := &Endpoint{PublicID: newPublicID("wh_"), FormID: form.ID, FormPublicID: form.PublicID, AccountID: form.AccountID,
		URL: *in.URL, Enabled: enabled, IncludeSpam: spam}
	e.Secret = s.Seal(secret, e.PublicID)
	if err := db.QueryRow(ctx, q, e.PublicID, e.FormID, e.URL, e.Enabled, e.IncludeSpam, e.Secret).Scan(&e.ID); err != nil {
		return nil, "", err
	}
	e, err := ByID(ctx, db, e.ID)
	return e, secret, err
}

// ByID returns the endpoint with internal id — for workers. It returns ErrNotFound.
func ByID(ctx context.Context, db database.Executor, id int64) (*Endpoint, error) {
	return scanEndpoint(db.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints e JOIN forms f ON f.id = e.form_id WHERE e.id = $1`, id))
}

// ForAccount returns the account's endpoint with publicID. It returns ErrNotFound.
func ForAccount(ctx context.Context, db database.Executor, accountID int64, publicID string) (*Endpoint, error) {
	return scanEndpoint(db.QueryRow(ctx, `SELECT `+endpointColumns+`
FROM webhook_endpoints e JOIN forms f ON f.id = e.form_id WHERE e.public_id = $1 AND f.account_id = $2`, publicID, accountID))
}

// List returns a form's endpoints, oldest first.
func List(ctx context.Context, db database.Executor, formID int64) ([]*Endpoint, error) {
	rows, err := db.Query(ctx, `SELECT `+endpointColumns+`
FROM webhook_endpoints e JOIN forms f ON f.id = e.form_id WHERE e.form_id = $1 ORDER BY e.id`, formID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Update applies in to e. Enabling an endpoint clears why it was disabled
// and its failure clock. It returns a *forms.ValidationError for a bad URL.
func Update(ctx context.Context, db database.Executor, e *Endpoint, in Input) (*Endpoint, error) {
	if in.URL != nil {
		if err := checkURL(*in.URL); err != nil {
			return nil, err
		}
	}
	const q = `
UPDATE webhook_endpoints SET
	url = coalesce($2, url),
	include_spam = coalesce($4, include_spam),
	enabled = coalesce($3, enabled),
	disabled_reason = CASE WHEN $3 THEN NULL ELSE disabled_reason END,
	failing_since = CASE WHEN $3 THEN NULL ELSE failing_since END,
	updated_at = now()
WHERE id = $1`
	if _, err := db.Exec(ctx, q, e.ID, in.URL, in.Enabled, in.IncludeSpam); err != nil {
		return nil, err
	}
	return ByID(ctx, db, e.ID)
}

// Delete removes e, its deliveries and their attempts; queued deliveries to
// it are cancelled when they run.
func Delete(ctx context.Context, db database.Executor, e *Endpoint) error {
	_, err := db.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, e.ID)
	return err
}

// Rotate gives e a new secret, stored sealed with s, and returns it in
// clear (shown once); the old one keeps signing for RotationGrace.
func Rotate(ctx context.Context, db database.Executor, s *Sealer, e *Endpoint) (*Endpoint, string, error) {
	const q = `
UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $3, secret = $2, updated_at = now()
WHERE id = $1`
	secret := NewSecret()
	if _, err := db.Exec(ctx, q, e.ID, s.Seal(secret, e.PublicID), time.Now().Add(RotationGrace)); err != nil {
		return nil, "", err
	}
	e, err := ByID(ctx, db, e.ID)
	return e, secret, err
}

// disable turns e off and says why.
func disable(ctx context.Context, db database.Executor, endpointID int64, reason string) error {
	_, err := db.Exec(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1`,
		endpointID, reason)
	return err
}

// Target is an enabled endpoint as the submission path sees it.
type Target struct {
	EndpointID  int64
	IncludeSpam bool
}

// Origin returns scheme://host[:port] of e's URL: what logs and errors may
// show of a URL that can carry a secret.
func (e *Endpoint) Origin() string {
	u, err := url.Parse(e.URL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

// Hostname returns the host of e's URL, for logs.
func (e *Endpoint) Hostname() string {
	u, err := url.Parse(e.URL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
