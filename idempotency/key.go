package idempotency

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/intakehq/intake"
)

var (
	// ErrKeyInvalid is returned for a key that is empty, longer than 255
	// characters, not printable ASCII, begins with "json:" or "auto:"
	// (Intake's own), a broken quoted string, or sent twice.
	ErrKeyInvalid error = &intake.Error{Kind: intake.Malformed, Type: intake.TypeKeyInvalid, Msg: "idempotency key invalid",
		Title:  "Invalid Idempotency-Key",
		Detail: `An idempotency key is 1–255 printable ASCII characters, sent once, not beginning with "json:" or "auto:" (the keys Intake makes): a bare token or a quoted string such as "8e03978e-40d5-43e8-bc93-6894a57f9324".`}
	// ErrKeyMissing is returned when a form requires a key and none was sent.
	ErrKeyMissing error = &intake.Error{Kind: intake.Malformed, Type: intake.TypeKeyMissing, Msg: "idempotency key missing",
		Title:  "Idempotency-Key required",
		Detail: "This form requires an idempotency key: send an Idempotency-Key header (a UUID per submission) or an _idempotency_key field."}
	// ErrKeyReused is returned when a key is already bound to another payload.
	ErrKeyReused error = &intake.Error{Kind: intake.Invalid, Type: intake.TypeKeyReused, Msg: "idempotency key reused with a different payload",
		Title:  "Idempotency-Key reused",
		Detail: "This idempotency key is bound to a submission with a different payload. Use a new key for a new submission.",
		Hint:   "This looks like a different submission sent with an old key. Reload the form and send it again."}
	// ErrInFlight is returned when a request with the same key is still being
	// processed after the wait bound.
	ErrInFlight error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeKeyInFlight, Msg: "idempotency key in flight",
		Title:      "Request in progress",
		Detail:     "A request with this idempotency key is still being processed. Retry with the same key shortly; it will get that request's answer.",
		RetryAfter: time.Second}
	// ErrNotFound is returned by Lookup when the key is not stored (or expired).
	ErrNotFound = errors.New("idempotency key not stored")
)

// MaxKeyLength is the longest key accepted, as Stripe's.
const MaxKeyLength = 255

// ImplicitPrefix starts the keys Intake makes for keyless browser posts.
const ImplicitPrefix = "auto:"

// ParseHeader returns the key carried by the Idempotency-Key header values
// (every value the request had, in order): a bare token (Stripe's clients)
// or an RFC 8941 sf-string (the IETF draft). It returns "" when there is no
// header and ErrKeyInvalid when it is malformed or repeated.
func ParseHeader(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", ErrKeyInvalid
	}
	v := strings.TrimSpace(values[0])
	if strings.HasPrefix(v, `"`) {
		s, ok := parseSFString(v)
		if !ok {
			return "", ErrKeyInvalid
		}
		v = s
	} else if strings.Contains(v, ",") {
		// A proxy joins a repeated header with commas: "k1, k2" is two
		// keys, not one. (Inside a quoted key a comma is fine.)
		return "", ErrKeyInvalid
	}
	if err := CheckKey(v); err != nil {
		return "", err
	}
	return v, nil
}

// parseSFString decodes an RFC 8941 §3.3.3 string that makes up all of v.
func parseSFString(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\':
			i++
			if i >= len(v) || (v[i] != '"' && v[i] != '\\') {
				return "", false
			}
			b.WriteByte(v[i])
		case c == '"':
			return b.String(), i == len(v)-1 // nothing (no parameters) may follow
		case c < 0x20 || c > 0x7e:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false // no closing quote
}

// CheckKey returns ErrKeyInvalid unless key is 1–255 printable ASCII
// characters, not beginning with a prefix of the keys Intake makes
// (KeylessPrefix, ImplicitPrefix): a client could otherwise take the key
// another's keyless post will get, and have it refused or answered with
// the client's submission.
func CheckKey(key string) error {
	if len(key) == 0 || len(key) > MaxKeyLength || strings.HasPrefix(key, KeylessPrefix) || strings.HasPrefix(key, ImplicitPrefix) {
		return ErrKeyInvalid
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return ErrKeyInvalid
		}
	}
	return nil
}

// KeylessPrefix starts the keys Intake makes for keyless JSON posts, on
// forms that deduplicate them (keyless_json_window).
const KeylessPrefix = "json:"

// KeylessKey is the key of a keyless JSON post on a form that deduplicates
// them: the same fields, from anyone, get the same key (bots posting one
// body from many addresses within milliseconds).
func KeylessKey(fingerprint []byte) string {
	sum := sha256.Sum256(fingerprint)
	return KeylessPrefix + hex.EncodeToString(sum[:])
}

// ImplicitKey is the key of a keyless browser post: the same person (client
// IP and User-Agent) sending the same fields gets the same key, so a double
// click or a back-and-resubmit lands on one submission.
func ImplicitKey(ip, userAgent string, fingerprint []byte) string {
	h := sha256.New()
	writeString(h, ip)
	writeString(h, userAgent)
	h.Write(fingerprint)
	return ImplicitPrefix + hex.EncodeToString(h.Sum(nil))
}

func writeString(h interface{ Write([]byte) (int, error) }, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	h.Write([]byte(s))
}
