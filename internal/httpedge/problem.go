package httpedge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/database"
)

// ProblemBase prefixes every problem type URI; docs/errors.md documents each.
const ProblemBase = "https://intake.dev/problems/"

// Problem is an RFC 9457 problem detail. Error and Errors are Formspree's
// members, so clients written for Formspree read Intake's errors too; the
// errors array doubles as RFC 9457's validation shape (with "pointer").
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Error    string              `json:"error,omitempty"`
	Errors   []intake.FieldError `json:"errors,omitempty"`

	// RetryAfter is the Retry-After header's seconds, "" for none.
	RetryAfter string `json:"-"`
	// Code is Formspree's form-level code, when one fits.
	Code string `json:"-"`
	// Hint says what to do next, and Page what happened when Detail speaks
	// to programs, on the HTML page a person sees instead.
	Hint string `json:"-"`
	Page string `json:"-"`
}

// ProblemFor turns any error into the problem the client sees. It is the
// one place the error vocabulary meets HTTP: an error that describes
// itself (intake.Describe) is answered as it says; a dependency's failure
// (the database, a deadline, a body over http.MaxBytesReader's bound) as
// the kind it is; anything else is a 500 that says nothing of the cause
// (ProblemLogged logs it).
func ProblemFor(err error) *Problem {
	e := intake.Describe(err)
	if e == nil {
		e = dependencyError(err)
	}
	typ := e.Type
	if typ == "" {
		typ = intake.TypeInternal
	}
	p := &Problem{
		Type: ProblemBase + typ, Title: e.Title, Status: e.Kind.Status(), Detail: e.Detail,
		Errors: e.Fields, Code: e.Code, Hint: e.Hint, Page: e.Page,
	}
	if e.RetryAfter > 0 {
		p.RetryAfter = strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	return p
}

var (
	errUnavailable = &intake.Error{Kind: intake.Unavailable, Type: intake.TypeUnavailable, Title: "Service unavailable",
		Detail:     "The database cannot be reached right now. Nothing was stored; retry in a few seconds with the same Idempotency-Key.",
		RetryAfter: 5 * time.Second}
	errTooLarge = &intake.Error{Kind: intake.TooLarge, Type: intake.TypeTooLarge, Title: "Payload too large",
		Detail: "The body exceeds 1 MiB (files not counted).", Code: "FILES_TOO_BIG"}
	errInternal = &intake.Error{Kind: intake.Internal, Type: intake.TypeInternal, Title: "Internal error",
		Detail: "Something went wrong on our side and nothing was stored. Retrying with the same Idempotency-Key is safe."}
)

// dependencyError describes an error no package of Intake described: the
// database's outage or lock timeout, a deadline, a body over its bound;
// anything else is internal.
func dependencyError(err error) *intake.Error {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		return errTooLarge
	case database.IsUnavailable(err), database.IsLockTimeout(err), errors.Is(err, context.DeadlineExceeded):
		return errUnavailable
	}
	return errInternal
}

// IsDependencyOutage reports whether err is a dependency's outage (the
// database unreachable, a lock held too long, a deadline), which the
// dashboard words for people.
func IsDependencyOutage(err error) bool {
	return intake.Describe(err) == nil && dependencyError(err) == errUnavailable
}

// ProblemLogged is ProblemFor, logging the cause of a 5xx to log. A client
// that went away is not logged.
func ProblemLogged(log *slog.Logger, r *http.Request, err error) *Problem {
	p := ProblemFor(err)
	if p.Status >= 500 && !errors.Is(err, context.Canceled) {
		log.ErrorContext(r.Context(), "request failed", "status", p.Status, "err", err)
	}
	return p
}

// WriteProblem answers p as application/problem+json.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.RetryAfter != "" {
		w.Header().Set("Retry-After", p.RetryAfter)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="intake"`)
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WithFormspreeMembers fills Formspree's error and errors members, which
// every JSON error of /f/ carries.
func (p *Problem) WithFormspreeMembers() *Problem {
	p.Error = p.Title
	if p.Detail != "" {
		p.Error = p.Detail
	}
	if len(p.Errors) == 0 {
		code := p.Code
		if code == "" {
			// No Formspree code fits: the problem type, in Formspree's style.
			code = strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(p.Type, ProblemBase), "-", "_"))
		}
		p.Errors = []intake.FieldError{{Code: code, Message: p.Detail}}
	}
	if len(p.Errors) > 0 && p.Type == ProblemBase+intake.TypeValidation {
		msgs := make([]string, 0, len(p.Errors))
		for _, fe := range p.Errors {
			msgs = append(msgs, fe.Message)
		}
		p.Error = "Validation failed: " + strings.Join(msgs, "; ")
	}
	return p
}
