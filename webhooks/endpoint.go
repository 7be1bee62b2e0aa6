package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/textcheck"
	"github.com/intakehq/intake/submissions"
)

// ErrNotFound is returned when an endpoint or delivery does not exist or
// belongs to another account.
var ErrNotFound error = intake.NotFoundError("webhook not found")

// ErrDisabled is returned when a delivery is asked of a disabled endpoint.
var ErrDisabled error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeWebhookDisabled, Msg: "webhook endpoint is disabled",
	Title: "Webhook endpoint disabled", Detail: "The endpoint is disabled, so nothing can be delivered to it. Enable it (PATCH {\"enabled\": true}) and redeliver."}

// ErrEndpointLimit is returned when an endpoint would be added to a form
// that has MaxEndpointsPerForm, or enabled on a form that has more (from
// before the limit).
var ErrEndpointLimit error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeWebhookLimit, Msg: "the form has as many webhook endpoints as it may",
	Title:  "Too many webhook endpoints",
	Detail: fmt.Sprintf("A form has at most %d webhook endpoints, and this one has that many (or more, from before the limit). Delete one it no longer needs (DELETE /api/v1/webhooks/{id}), then add or enable this one.", MaxEndpointsPerForm)}

// ErrURLTaken is returned when a form already has an endpoint with the URL
// an endpoint is created or changed to (compared as the migration's
// webhook_url_key does: scheme and host case, default port, empty path and
// fragment aside).
var ErrURLTaken error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeWebhookURLTaken, Msg: "the form already has a webhook endpoint with this URL",
	Title:  "Webhook URL already added",
	Detail: "This form already has an endpoint with this URL (scheme and host compared without case, the default port and the fragment aside); each submission is sent to a URL once. Change that endpoint instead (GET /api/v1/forms/{id}/webhooks lists them)."}

// MaxEndpointsPerForm bounds a form's endpoints: each submission is sent
// to every one, so this is how many outbound POSTs one anonymous request
// can cause.
const MaxEndpointsPerForm = 10

// urlKeyIndex is the unique index on (form_id, webhook_url_key(url)).
const urlKeyIndex = "webhook_endpoints_form_url_key"

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
	Secret                  string // as stored: sealed (see seal.Sealer)
	PreviousSecret          string // as stored: sealed
	PreviousSecretExpiresAt *time.Time
	DisabledReason          string
	FailingSince            *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
	// Format is what the endpoint is sent (format.go). A telegram
	// endpoint posts to ChatID with the bot's token BotToken, stored
	// sealed like a secret; its URL only names the chat.
	Format   Format
	BotToken string // as stored: sealed
	ChatID   string
}

// Rotating reports whether e is in a rotation's grace period at now: the
// previous secret still signs.
func (e *Endpoint) Rotating(now time.Time) bool {
	return e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt)
}

// SigningSecrets returns the secrets a delivery at now is signed with, in
// clear: the current one, and the previous one during a rotation's grace
// period. Secret and PreviousSecret hold them as stored (sealed). It
// returns seal.ErrUnseal.
func (e *Endpoint) SigningSecrets(s *seal.Sealer, now time.Time) ([]string, error) {
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
	// Format is set when the endpoint is made ("" is standard); it does
	// not change after.
	Format *string `json:"format"`
	// BotToken and ChatID are a telegram endpoint's, instead of a URL.
	BotToken *string `json:"bot_token"`
	ChatID   *string `json:"chat_id"`
}

var (
	telegramToken = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$`)
	telegramChat  = regexp.MustCompile(`^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$`)
)

// TelegramURL is a telegram endpoint's URL as stored and shown: it names
// the chat, never the token (the delivery posts to the Bot API with it).
func TelegramURL(chatID string) string {
	return "https://api.telegram.org/sendMessage?chat_id=" + url.QueryEscape(chatID)
}

// formatInput checks in's format and what it needs, and for telegram sets
// in.URL to the chat's URL: a *forms.ValidationError at each member.
func formatInput(in *Input) (Format, error) {
	f, err := ParseFormat(deref(in.Format))
	if err != nil {
		return "", err
	}
	verr := &forms.ValidationError{}
	if f == FormatTelegram {
		if in.URL != nil {
			verr.Errors = append(verr.Errors, forms.FieldError{Field: "url", Code: forms.CodeInvalid, Rule: "excluded",
				Message: "a telegram endpoint takes bot_token and chat_id, not a url", Pointer: "#/url"})
		}
		if !telegramToken.MatchString(deref(in.BotToken)) {
			verr.Errors = append(verr.Errors, forms.FieldError{Field: "bot_token", Code: forms.CodeInvalid, Rule: "telegram_token",
				Message: "bot_token must be the token @BotFather gave the bot, such as 123456789:AAE…", Pointer: "#/bot_token"})
		}
		if !telegramChat.MatchString(deref(in.ChatID)) {
			verr.Errors = append(verr.Errors, forms.FieldError{Field: "chat_id", Code: forms.CodeInvalid, Rule: "telegram_chat",
				Message: "chat_id must be the chat's numeric id (such as -1001234567890) or a public channel's @name", Pointer: "#/chat_id"})
		}
		if len(verr.Errors) > 0 {
			return "", verr
		}
		u := TelegramURL(*in.ChatID)
		in.URL = &u
		return f, nil
	}
	for _, m := range []struct {
		v    *string
		name string
	}{{in.BotToken, "bot_token"}, {in.ChatID, "chat_id"}} {
		if m.v != nil {
			verr.Errors = append(verr.Errors, forms.FieldError{Field: m.name, Code: forms.CodeInvalid, Rule: "excluded",
				Message: m.name + " is for a telegram endpoint only", Pointer: "#/" + m.name})
		}
	}
	if len(verr.Errors) > 0 {
		return "", verr
	}
	return f, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// URLPolicy is what an endpoint URL must meet to be saved besides being an
// http(s) URL. The zero value is production's: a literal address Classify
// refuses, localhost, and numeric hosts that are not canonical addresses
// are refused (see hostProblem).
type URLPolicy struct {
	// AllowPrivate saves private and loopback literals and localhost
	// (INTAKE_WEBHOOK_ALLOW_PRIVATE, for development and tests), as
	// NewHTTPClient(true) delivers to them.
	AllowPrivate bool
}

// checkURL accepts absolute http and https URLs whose host p allows. Where
// a name points is checked when it is dialled (see NewHTTPClient), because
// DNS can change.
func checkURL(raw string, p URLPolicy) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(raw) > 2000 {
		return &forms.ValidationError{Errors: []forms.FieldError{{Field: "url", Code: forms.CodeInvalid, Rule: "url",
			Message: "url must be an absolute http or https URL without credentials, such as https://example.com/hooks/intake", Pointer: "#/url"}}}
	}
	if msg := hostProblem(u.Hostname(), p.AllowPrivate); msg != "" {
		return &forms.ValidationError{Errors: []forms.FieldError{{Field: "url", Code: forms.CodeInvalid, Rule: RulePublicAddress,
			Message: msg, Pointer: "#/url"}}}
	}
	return nil
}

// RulePublicAddress is the rule of the validation error for an endpoint
// URL whose host is refused when it is saved.
const RulePublicAddress = "public_address"

const endpointColumns = `e.id, e.public_id, e.form_id, f.public_id, f.account_id, e.url, e.enabled, e.include_spam,
	e.secret, coalesce(e.previous_secret, ''), e.previous_secret_expires_at, coalesce(e.disabled_reason, ''),
	e.failing_since, e.created_at, e.updated_at, e.format, coalesce(e.bot_token, ''), coalesce(e.chat_id, '')`

func scanEndpoint(row pgx.Row) (*Endpoint, error) {
	var e Endpoint
	err := row.Scan(&e.ID, &e.PublicID, &e.FormID, &e.FormPublicID, &e.AccountID, &e.URL, &e.Enabled, &e.IncludeSpam,
		&e.Secret, &e.PreviousSecret, &e.PreviousSecretExpiresAt, &e.DisabledReason, &e.FailingSince, &e.CreatedAt, &e.UpdatedAt,
		&e.Format, &e.BotToken, &e.ChatID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &e, err
}

// Create adds an endpoint to form with a new secret, stored sealed with s;
// it returns the endpoint and the secret in clear (shown once). It returns
// a *forms.ValidationError for a URL that is not http(s) or whose host p
// refuses, ErrEndpointLimit when the form has MaxEndpointsPerForm
// endpoints, ErrURLTaken when one of them has the URL, and
// forms.ErrNotFound when the form is gone.
//
// The form's row is locked (FOR NO KEY UPDATE, which submissions' inserts
// do not wait for) before its endpoints are counted, so concurrent creates
// on one form count one after another and the limit holds; the unique
// index on the URL key holds the other rule.
func Create(ctx context.Context, db *pgxpool.Pool, s *seal.Sealer, p URLPolicy, actor audit.Actor, form *forms.Form, in Input) (*Endpoint, string, error) {
	format, err := formatInput(&in)
	if err != nil {
		return nil, "", err
	}
	if in.URL == nil {
		return nil, "", &forms.ValidationError{Errors: []forms.FieldError{{Field: "url", Code: forms.CodeInvalid, Rule: "required", Message: "url is required", Pointer: "#/url"}}}
	}
	if err := checkURL(*in.URL, p); err != nil {
		return nil, "", err
	}
	enabled, spam := true, false
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	if in.IncludeSpam != nil {
		spam = *in.IncludeSpam
	}
	const (
		lockForm = `SELECT id FROM forms WHERE id = $1 FOR NO KEY UPDATE`
		insert   = `
INSERT INTO webhook_endpoints (public_id, form_id, url, enabled, include_spam, secret, format, bot_token, chat_id)
SELECT $1, $2, $3, $4, $5, $6, $8, nullif($9, ''), nullif($10, '')
WHERE (SELECT count(*) FROM webhook_endpoints WHERE form_id = $2) < $7
RETURNING id`
	)
	secret := NewSecret()
	e := &Endpoint{PublicID: newPublicID("wh_"), FormID: form.ID, FormPublicID: form.PublicID, AccountID: form.AccountID,
		URL: *in.URL, Enabled: enabled, IncludeSpam: spam}
	e.Secret = s.Seal(secret, e.PublicID)
	if format == FormatTelegram {
		e.BotToken, e.ChatID = s.Seal(*in.BotToken, e.PublicID+":bot"), *in.ChatID
	}
	err = database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, lockForm, form.ID).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return forms.ErrNotFound
		} else if err != nil {
			return err
		}
		// A statement of its own, after the lock: its snapshot sees every
		// endpoint a create that held the lock before committed.
		err := tx.QueryRow(ctx, insert, e.PublicID, e.FormID, e.URL, e.Enabled, e.IncludeSpam, e.Secret, MaxEndpointsPerForm,
			format, e.BotToken, e.ChatID).Scan(&e.ID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrEndpointLimit
		case database.IsUniqueViolation(err, urlKeyIndex):
			return ErrURLTaken
		case err != nil:
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: form.AccountID, Actor: actor, Action: "webhook.create",
			ObjectType: "webhook", ObjectID: e.PublicID})
	})
	if err != nil {
		return nil, "", err
	}
	e, err = ByID(ctx, db, e.ID)
	return e, secret, err
}

// ByID returns the endpoint with internal id — for workers. It returns ErrNotFound.
func ByID(ctx context.Context, db database.Executor, id int64) (*Endpoint, error) {
	return scanEndpoint(db.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints e JOIN forms f ON f.id = e.form_id WHERE e.id = $1`, id))
}

// ForAccount returns the account's endpoint with publicID. It returns ErrNotFound.
func ForAccount(ctx context.Context, db database.Executor, accountID int64, publicID string) (*Endpoint, error) {
	if textcheck.Problem(publicID) != "" {
		return nil, ErrNotFound // no stored id is such text; Postgres would refuse it (a 500)
	}
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
// and its failure clock. It returns a *forms.ValidationError for a bad URL
// (as Create), ErrURLTaken when another endpoint of the form has the URL,
// and ErrEndpointLimit when enabling it on a form with more than
// MaxEndpointsPerForm endpoints (kept from before the limit).
//
// An endpoint an upgrade disabled as a duplicate (legacy_duplicate, see
// migration 00016) comes back under the URL's unique index when it is
// enabled or given a URL, so it is refused while it still duplicates one.
func Update(ctx context.Context, db *pgxpool.Pool, p URLPolicy, actor audit.Actor, e *Endpoint, in Input) (*Endpoint, error) {
	if in.Format != nil && *in.Format != string(e.Format) || in.BotToken != nil || in.ChatID != nil || in.URL != nil && e.Format == FormatTelegram {
		return nil, &forms.ValidationError{Errors: []forms.FieldError{{Field: "format", Code: forms.CodeInvalid, Rule: "immutable",
			Message: "an endpoint's format, and a telegram endpoint's bot and chat, are set when it is made: add a new endpoint (and delete this one) to change them",
			Pointer: "#/format"}}}
	}
	if in.URL != nil {
		if err := checkURL(*in.URL, p); err != nil {
			return nil, err
		}
	}
	var out *Endpoint
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		if out, err = update(ctx, tx, e, in); err != nil {
			return err
		}
		var changed []string
		if out.URL != e.URL {
			changed = append(changed, "url")
		}
		if out.Enabled != e.Enabled {
			changed = append(changed, "enabled")
		}
		if out.IncludeSpam != e.IncludeSpam {
			changed = append(changed, "include_spam")
		}
		if len(changed) == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: e.AccountID, Actor: actor, Action: "webhook.update",
			ObjectType: "webhook", ObjectID: e.PublicID, Changed: changed})
	})
	return out, err
}

// update is Update's statement, on tx.
func update(ctx context.Context, db database.Executor, e *Endpoint, in Input) (*Endpoint, error) {
	const q = `
UPDATE webhook_endpoints SET
	url = coalesce($2, url),
	include_spam = coalesce($4, include_spam),
	enabled = coalesce($3, enabled),
	disabled_reason = CASE WHEN $3 THEN NULL ELSE disabled_reason END,
	failing_since = CASE WHEN $3 THEN NULL ELSE failing_since END,
	legacy_duplicate = CASE WHEN $2 IS NOT NULL OR $3 THEN false ELSE legacy_duplicate END,
	updated_at = now()
WHERE id = $1
	AND (NOT coalesce($3, false) OR (SELECT count(*) FROM webhook_endpoints WHERE form_id = $5) <= $6)
RETURNING id`
	var id int64
	err := db.QueryRow(ctx, q, e.ID, in.URL, in.Enabled, in.IncludeSpam, e.FormID, MaxEndpointsPerForm).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := ByID(ctx, db, e.ID); err != nil {
			return nil, err
		}
		return nil, ErrEndpointLimit
	case database.IsUniqueViolation(err, urlKeyIndex):
		return nil, ErrURLTaken
	case err != nil:
		return nil, err
	}
	return ByID(ctx, db, e.ID)
}

// Delete removes e, its deliveries and their attempts, recording
// "webhook.delete" by actor in the same transaction; queued deliveries to
// it are cancelled when they run.
func Delete(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, e *Endpoint) error {
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, e.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: e.AccountID, Actor: actor, Action: "webhook.delete",
			ObjectType: "webhook", ObjectID: e.PublicID})
	})
}

// Rotate gives e a new secret, stored sealed with s, and returns it in
// clear (shown once); the old one keeps signing for RotationGrace. It
// records "webhook.rotate" by actor, naming "secret" (never its value), in
// the same transaction.
func Rotate(ctx context.Context, db *pgxpool.Pool, s *seal.Sealer, actor audit.Actor, e *Endpoint) (*Endpoint, string, error) {
	const q = `
UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $3, secret = $2, updated_at = now()
WHERE id = $1`
	secret := NewSecret()
	var out *Endpoint
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q, e.ID, s.Seal(secret, e.PublicID), time.Now().Add(RotationGrace)); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{AccountID: e.AccountID, Actor: actor, Action: "webhook.rotate",
			ObjectType: "webhook", ObjectID: e.PublicID, Changed: []string{"secret"}}); err != nil {
			return err
		}
		var err error
		out, err = ByID(ctx, tx, e.ID)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// disable turns e off and says why.
func disable(ctx context.Context, db database.Executor, endpointID int64, reason string) error {
	_, err := db.Exec(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1`,
		endpointID, reason)
	return err
}

// endFailureRun clears an endpoint's run of failures: it delivered.
func endFailureRun(ctx context.Context, db database.Executor, endpointID int64) error {
	_, err := db.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL, last_failure_at = NULL WHERE id = $1 AND failing_since IS NOT NULL`, endpointID)
	return err
}

// extendFailureRun counts a failed attempt in the endpoint's run of
// failures and returns when the run began. The five-day clock
// (DisableAfter) measures a run: a failure FailureRunGap after the last one
// (however long ago a success was) starts it again, so one blip after a
// quiet week cannot disable an endpoint.
func extendFailureRun(ctx context.Context, db database.Executor, endpointID int64) (failingSince time.Time, err error) {
	err = db.QueryRow(ctx, `UPDATE webhook_endpoints SET
	failing_since = CASE WHEN failing_since IS NULL OR last_failure_at < now() - $2 * interval '1 second' THEN now() ELSE failing_since END,
	last_failure_at = now()
WHERE id = $1 RETURNING failing_since`, endpointID, int(FailureRunGap.Seconds())).Scan(&failingSince)
	return failingSince, err
}

// Target is an enabled endpoint as the submission path sees it.
type Target struct {
	EndpointID  int64
	IncludeSpam bool
}

// targetsSQL reads a form's enabled endpoints, by the form's public id.
const targetsSQL = `SELECT e.id, e.include_spam FROM webhook_endpoints e JOIN forms f ON f.id = e.form_id
WHERE f.public_id = $1 AND e.enabled ORDER BY e.id`

// Planner is the webhooks' part of a submission's plan: a delivery per
// enabled endpoint of its form, for spam only to endpoints that opted in.
// It implements submissions.Planner; notify's planner adds the emails.
type Planner struct{}

// Prepare implements submissions.Planner: the endpoints are read in the
// batch that reads the form, so planning costs no round trip.
func (Planner) Prepare(b *pgx.Batch, formPublicID string) func(*forms.Form, *submissions.Submission) ([]river.InsertManyParams, error) {
	var targets []Target
	b.Queue(targetsSQL, formPublicID).Query(func(rows pgx.Rows) error {
		var err error
		targets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Target, error) {
			var t Target
			return t, row.Scan(&t.EndpointID, &t.IncludeSpam)
		})
		return err
	})
	return func(_ *forms.Form, sub *submissions.Submission) ([]river.InsertManyParams, error) {
		var jobs []river.InsertManyParams
		for _, t := range targets {
			if sub.Spam && !t.IncludeSpam {
				continue
			}
			jobs = append(jobs, river.InsertManyParams{Args: DeliveryArgs{SubmissionID: sub.ID, EndpointID: t.EndpointID}})
		}
		return jobs, nil
	}
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
