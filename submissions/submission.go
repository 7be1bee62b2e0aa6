package submissions

import (
	"encoding/base32"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
)

// ErrNotFound is returned when a submission does not exist or belongs to
// another account.
var ErrNotFound error = intake.NotFoundError("submission not found")

// ErrEmpty is returned for a submission without a single (non-reserved) field.
var ErrEmpty error = &intake.Error{Kind: intake.Invalid, Type: intake.TypeEmpty, Msg: "the submission has no fields",
	Title: "Empty submission", Detail: "The submission has no fields. Send at least one field.", Code: forms.CodeEmpty}

// Submission is one stored submission.
type Submission struct {
	ID              uuid.UUID
	FormID          int64
	FormPublicID    string
	ContractVersion int
	Data            map[string]any
	Spam            bool
	SpamReason      string
	IdempotencyKey  string // "" when none was given or made
	Meta            Meta
	CreatedAt       time.Time
	Replays         int // duplicates absorbed (flushed every few seconds)
	Duplicates      Duplicates
	// MergedInto is the submission this one was merged into (merge.go);
	// nil when it was not.
	MergedInto *uuid.UUID
	// Files are the files it was sent with, without their bytes
	// (files.go), ordered by field and position.
	Files []StoredFile
	// ReadAt is when someone of the account first opened the submission
	// or marked it read, nil while unread; Starred is the account's star
	// (marks.go). Dashboard marks: not in its API shape.
	ReadAt  *time.Time `json:"-"`
	Starred bool       `json:"-"`
	// UniqueHash is the hash of the values the form's unique setting names
	// (unique.go), nil when none; UniqueUntil ends the window it counts
	// in, nil for as long as the submission is kept.
	UniqueHash  []byte     `json:"-"`
	UniqueUntil *time.Time `json:"-"`
}

// Duplicates are the duplicates a submission absorbed, by how each was
// recognised (How), written every few seconds (ReplayCounter). Total
// includes those absorbed before they were counted by kind (migration
// 00026), so it may exceed the sum of the others.
type Duplicates struct {
	Total    int        `json:"total"`
	Key      int        `json:"key"`
	Implicit int        `json:"implicit"`
	Unique   int        `json:"unique"`
	Keyless  int        `json:"keyless"`
	LastAt   *time.Time `json:"last_at"`
}

// Meta is what Intake kept about a submission besides its fields: request
// metadata and the reserved fields' values.
type Meta struct {
	IP        string   `json:"ip,omitempty"`
	UserAgent string   `json:"user_agent,omitempty"`
	Referrer  string   `json:"referrer,omitempty"`
	Origin    string   `json:"origin,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	ReplyTo   string   `json:"reply_to,omitempty"`
	CC        []string `json:"cc,omitempty"`
	Language  string   `json:"language,omitempty"`
	Next      string   `json:"next,omitempty"`
	// FillMS is how long the form was open before it was sent, as intake.js
	// reports it in _fill_ms; nil when not reported.
	FillMS *int64 `json:"fill_ms,omitempty"`
	// Captcha is what became of the form's CAPTCHA; nil when it has none.
	Captcha *CaptchaCheck `json:"captcha,omitempty"`
	// Test: a test submission sent from the dashboard (Request.Test).
	Test bool `json:"test,omitempty"`
}

// CaptchaCheck records a submission's CAPTCHA verification. A submission
// is stored unverified only when the provider could not be asked and the
// form fails open; Reason then says what went wrong.
type CaptchaCheck struct {
	Provider captcha.Provider `json:"provider"`
	Verified bool             `json:"verified"`
	Reason   string           `json:"reason,omitempty"`
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// IDPrefix starts every public submission id.
const IDPrefix = "sub_"

// PublicID is the submission's id as clients see it: "sub_" and 26 characters.
func (s *Submission) PublicID() string { return FormatID(s.ID) }

// FormatID returns the public form of a submission id.
func FormatID(id uuid.UUID) string { return IDPrefix + idEncoding.EncodeToString(id[:]) }

// ParseID reads a public submission id. It returns ErrNotFound for anything
// that is not one, so a bad id reads as a missing one.
func ParseID(s string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(s, IDPrefix)
	if !ok || len(rest) != 26 {
		return uuid.UUID{}, ErrNotFound
	}
	b, err := idEncoding.DecodeString(rest)
	if err != nil || len(b) != 16 {
		return uuid.UUID{}, ErrNotFound
	}
	return uuid.UUID(b), nil
}

// Reserved fields: Formspree's, stripped from the data and kept as metadata.
const (
	FieldNext           = "_next"
	FieldSubject        = "_subject"
	FieldReplyTo        = "_replyto"
	FieldCC             = "_cc"
	FieldLanguage       = "_language"
	FieldIdempotencyKey = "_idempotency_key"
	// FieldFillMS is intake.js's report of how long the form was open
	// before it was sent, in milliseconds.
	FieldFillMS = "_fill_ms"
)

// MaxCC caps the _cc addresses kept.
const MaxCC = 5

func isReserved(name, honeypot string) bool {
	switch name {
	case FieldNext, FieldSubject, FieldReplyTo, FieldCC, FieldLanguage, FieldIdempotencyKey, FieldFillMS, honeypot, forms.DefaultHoneypot:
		return true
	}
	return slices.Contains(captcha.TokenFields, name)
}

// unfingerprinted reports the fields the fingerprint leaves out: the key
// itself, and what differs between two attempts of one submission by
// nature — a CAPTCHA token is single-use, so a retry carries a fresh one,
// and the fill time grows while the page stays open.
func unfingerprinted(name string) bool {
	return name == FieldIdempotencyKey || name == FieldFillMS || slices.Contains(captcha.TokenFields, name)
}

// split separates p into the form's data fields and the reserved ones.
func split(p *Payload, honeypot string) (data []Field, reserved map[string]string) {
	reserved = map[string]string{}
	for _, f := range p.Fields {
		if isReserved(f.Name, honeypot) {
			if len(f.Values) > 0 {
				reserved[f.Name] = f.Values[0].Text
			}
			continue
		}
		data = append(data, f)
	}
	return data, reserved
}

// canonical returns p's fields for the fingerprint: everything but the
// key, the CAPTCHA tokens and the fill time.
func canonical(p *Payload) []idempotency.Field {
	out := make([]idempotency.Field, 0, len(p.Fields))
	for _, f := range p.Fields {
		if unfingerprinted(f.Name) {
			continue
		}
		vals := make([]string, len(f.Values))
		for i, v := range f.Values {
			if v.Kind == KindFile {
				vals[i] = "sha256:" + v.File.SHA256
			} else {
				vals[i] = v.Text
			}
		}
		out = append(out, idempotency.Field{Name: f.Name, Values: vals})
	}
	return out
}

// contractValues returns data fields as the contract checks them.
func contractValues(data []Field) map[string]forms.Value {
	out := make(map[string]forms.Value, len(data))
	for _, f := range data {
		texts := make([]string, len(f.Values))
		for i, v := range f.Values {
			texts[i] = v.Text
		}
		out[f.Name] = forms.Value{Texts: texts, List: f.List}
	}
	return out
}

// storedData returns data fields as stored: a scalar stays a scalar of its
// JSON type, several values or a JSON array become an array, a file becomes
// {filename, size, content_type, sha256}.
func storedData(data []Field) map[string]any {
	out := make(map[string]any, len(data))
	for _, f := range data {
		vals := make([]any, len(f.Values))
		for i, v := range f.Values {
			switch v.Kind {
			case KindNumber:
				vals[i] = json.Number(v.Text)
			case KindBool:
				vals[i] = v.Text == "true"
			case KindFile:
				vals[i] = map[string]any{"filename": v.File.Name, "size": v.File.Size, "content_type": v.File.ContentType, "sha256": v.File.SHA256}
			default:
				vals[i] = v.Text
			}
		}
		if len(vals) == 1 && !f.List {
			out[f.Name] = vals[0]
		} else {
			out[f.Name] = vals
		}
	}
	return out
}

// fillMS reads _fill_ms: a whole number of milliseconds, or nil when it
// is absent or not one (then the minimum fill time does not judge).
func fillMS(s string) *int64 {
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil
	}
	return &n
}

func splitCC(s string) []string {
	var out []string
	for a := range strings.SplitSeq(s, ",") {
		if a = strings.TrimSpace(a); a != "" && len(out) < MaxCC {
			out = append(out, a)
		}
	}
	return out
}

// valueTexts returns every value of data as text, for the block lists.
func valueTexts(data []Field) []string {
	var out []string
	for _, f := range data {
		for _, v := range f.Values {
			out = append(out, v.Text)
		}
	}
	return out
}
