// Package intake holds what every part of Intake shares: the error
// vocabulary. Each package's errors say, in these terms, what kind of
// failure they are and how to tell the person or program that caused it;
// each edge turns them into its answer in one place: problem+json in
// internal/httpedge (ProblemFor, which /f/'s browser pages read too), the
// dashboard's page in web (Dashboard.error).
// A new error is one value here or in its package, never a new case in a
// switch at every edge. docs/errors.md documents every problem type.
package intake

import (
	"errors"
	"time"
)

// Kind is what a failure means to whoever sent the request, and so the HTTP
// status it is answered with.
type Kind uint8

// The kinds. The zero Kind is Internal: an error that says nothing of
// itself is a fault of ours, answered 500 with its cause logged, never shown.
const (
	Internal         Kind = iota // 500: a bug; nothing was stored
	Malformed                    // 400: the request cannot be read as sent
	Unauthorized                 // 401: no valid credentials
	Forbidden                    // 403: the credentials may not do this
	NotFound                     // 404: no such thing, or not the caller's (never 403)
	MethodNotAllowed             // 405: the thing exists; the method does not apply to it
	Timeout                      // 408: the client sent too slowly
	Conflict                     // 409: the thing's state does not allow it now
	Gone                         // 410: it existed and takes nothing more
	TooLarge                     // 413: more than the limits allow
	Unsupported                  // 415: a media type we do not read
	Invalid                      // 422: readable, but its content is refused
	Limited                      // 429: a rate limit or a quota
	Unavailable                  // 503: a dependency is down; retrying is safe
)

var statuses = [...]int{
	Internal: 500, Malformed: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, MethodNotAllowed: 405, Timeout: 408,
	Conflict: 409, Gone: 410, TooLarge: 413, Unsupported: 415, Invalid: 422, Limited: 429, Unavailable: 503,
}

// Status is the HTTP status of errors of kind k.
func (k Kind) Status() int {
	if int(k) < len(statuses) {
		return statuses[k]
	}
	return 500
}

// The problem types: the last segment of each problem's type URI. Each has
// a row in docs/errors.md with the statuses it is answered with, which a
// test holds to the Error values that name it.
const (
	TypeValidation       = "validation-error"
	TypeEmpty            = "empty"
	TypeKeyInvalid       = "idempotency-key-invalid"
	TypeKeyMissing       = "idempotency-key-missing"
	TypeKeyReused        = "idempotency-key-reused"
	TypeKeyInFlight      = "idempotency-key-in-flight"
	TypeNotFound         = "not-found"
	TypeFormInactive     = "form-inactive"
	TypeUnsupportedMedia = "unsupported-media-type"
	TypeTooLarge         = "payload-too-large"
	TypeMalformed        = "malformed-request"
	TypeUnauthorized     = "unauthorized"
	TypeInvalidParameter = "invalid-parameter"
	TypeUnavailable      = "service-unavailable"
	TypeInternal         = "internal-error"
	TypeMethodNotAllowed = "method-not-allowed"
	TypeRateLimited      = "rate-limited"
	TypeWebhookDisabled  = "webhook-disabled"
	TypeWebhookLimit     = "webhook-limit"
	TypeWebhookURLTaken  = "webhook-url-taken"
	TypePlanLimit        = "plan-limit"
	TypeCaptchaFailed    = "captcha-failed"
	TypeCaptchaDown      = "captcha-unavailable"
	TypeRequestTimeout   = "request-timeout"
	TypeForbidden        = "forbidden"
	TypeMemberConflict   = "member-conflict"
	TypeDuplicate        = "duplicate-submission"
	TypeMergeConflict    = "merge-conflict"
	TypeLinkExpired      = "link-expired"
)

// Error is a failure described for whoever caused it. Packages declare
// their fixed errors as *Error values (compared with errors.Is) and build
// one per occurrence where the words depend on it.
type Error struct {
	Kind Kind
	// Type is one of the Type… constants; "" means the kind's generic one.
	Type string
	// Title is a short summary that is the same for every occurrence.
	Title string
	// Detail says what happened and what to do, to a program's author.
	Detail string
	// Code is the Formspree-style code of a form-level error, when one fits.
	Code string
	// Page says what happened to a person on an HTML page, when Detail
	// speaks to programs; Hint what they can do next.
	Page, Hint string
	// RetryAfter, when positive, is when a retry may succeed.
	RetryAfter time.Duration
	// Fields are the errors of single fields (validation).
	Fields []FieldError
	// Msg is what Error returns, for logs and wrapping; Title if empty.
	Msg string
	// Err is the cause, kept for logs and errors.Is.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = e.Title
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Describe returns e itself: an *Error describes itself.
func (e *Error) Describe() *Error { return e }

// FieldError is one thing wrong with one field.
type FieldError struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
	// Pointer is an RFC 6901 JSON pointer (in RFC 9457's "#/…" form) to the
	// offending member of the request.
	Pointer string `json:"pointer,omitempty"`
}

// Describer is an error whose description is built when it is asked for:
// one whose words depend on the occurrence (a quota's reset date, a
// provider's name, the fields that failed).
type Describer interface {
	error
	Describe() *Error
}

// Describe returns the description of the first error in err's chain that
// has one, or nil when none has: such an error is Internal, unless an edge
// knows it as a dependency's failure (internal/httpedge).
func Describe(err error) *Error {
	var d Describer
	if errors.As(err, &d) {
		return d.Describe()
	}
	return nil
}

// KindOf is the kind of err: Internal when nothing in its chain describes it.
func KindOf(err error) Kind {
	if e := Describe(err); e != nil {
		return e.Kind
	}
	return Internal
}

// NotFoundError is the error of an object that does not exist or is not
// the caller's, with the generic words every such object shares; msg is
// what Error says ("webhook not found").
func NotFoundError(msg string) *Error {
	return &Error{Kind: NotFound, Type: TypeNotFound, Title: "Not found", Detail: "Nothing is here; check the id and the URL.", Msg: msg}
}
