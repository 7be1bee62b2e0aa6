package submissions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
)

// Incoming is a submission as it arrived, before anything of its body was
// read: what the HTTP edge knows of the request.
type Incoming struct {
	FormID      string   // the public id the URL names
	KeyHeader   []string // the Idempotency-Key header's values, as sent
	ContentType string
	// Body is read once, after the address's limit let the request in. The
	// edge bounds it (Limits.BodyLimit) so that the server can close a
	// connection sending more.
	Body io.Reader
	// Browser is the answer's mode: a page and a redirect for a person's
	// browser (and an implicit key for a keyless post), else JSON.
	Browser   bool
	IP        string
	UserAgent string
	Referrer  string
	Origin    string // valid UTF-8: it may be stored in a spam reason
}

// Submit takes one submission from start to end: it reads the key, lets
// the client address in (Limiter), reads the body, accepts the submission
// (Accept) and returns the answer to send, headers and all. A replay is
// answered with the stored answer and counts against no limit.
//
// On an error the Result still says what the edge needs to answer it: the
// outcome, the key to echo and, once read, the form. The errors are those
// of Accept and Parse, and a *LimitedError; each describes itself
// (intake.Describe).
func (s *Service) Submit(ctx context.Context, in Incoming) (*Result, error) {
	res, err := s.submit(ctx, in)
	var dup *DuplicateError
	if err != nil && !errors.As(err, &dup) { // a refused duplicate keeps its outcome
		res.Outcome = refusal(ctx, err)
	}
	return res, err
}

func (s *Service) submit(ctx context.Context, in Incoming) (*Result, error) {
	res := &Result{}
	key, err := idempotency.ParseHeader(in.KeyHeader)
	if err != nil {
		return res, err
	}
	res.Echo = key
	// The address's limit over all forms comes before the body is read and
	// before the database is asked anything; a replay gives its token back.
	if err := s.Limiter.takeAddress(in.IP, s.Limiter.now()); err != nil {
		return res, err
	}
	payload, err := Parse(in.ContentType, in.Body, s.limits())
	if err != nil {
		return res, err
	}
	res, err = s.Accept(ctx, Request{
		FormID: in.FormID, Payload: payload, Key: key, Browser: in.Browser,
		IP: in.IP, UserAgent: in.UserAgent, Referrer: in.Referrer, Origin: in.Origin,
	})
	if err != nil {
		return res, err
	}
	if res.Outcome == OutcomeReplayed {
		s.Limiter.giveBack(in.IP, s.Limiter.now())
	}
	// The answer is the stored one, with what this request adds: the key it
	// sent, and whether the answer is a replay.
	res.Response.Header = maps.Clone(res.Response.Header)
	if res.Response.Header == nil {
		res.Response.Header = map[string]string{}
	}
	if res.Echo != "" {
		res.Response.Header["Idempotency-Key"] = res.Echo
	}
	if res.Outcome == OutcomeReplayed {
		res.Response.Header["Idempotent-Replayed"] = "true"
	}
	return res, nil
}

// Outcomes of a refused request, for metrics and logs.
const (
	OutcomeAbandoned     Outcome = "abandoned"      // the client went away
	OutcomeConflict      Outcome = "conflict"       // the key is in flight or bound to another payload
	OutcomeLimited       Outcome = "limited"        // a rate limit or the plan's quota
	OutcomeClientTimeout Outcome = "client_timeout" // the client sent its body too slowly
	OutcomeInvalid       Outcome = "invalid"        // anything else the client can fix
	OutcomeError         Outcome = "error"          // ours, or a dependency's
)

// refusal is the outcome of a request refused with err.
func refusal(ctx context.Context, err error) Outcome {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return OutcomeAbandoned
	}
	switch k := intake.KindOf(err); {
	case k == intake.Conflict || errors.Is(err, idempotency.ErrKeyReused):
		return OutcomeConflict
	case k == intake.Limited:
		return OutcomeLimited
	case k == intake.Timeout:
		return OutcomeClientTimeout
	case k.Status() < 500:
		return OutcomeInvalid
	}
	return OutcomeError
}

// acceptedBody is the JSON success answer: ok and a string next are what
// Formspree's client (@formspree/core) needs to see a success.
type acceptedBody struct {
	OK        bool   `json:"ok"`
	Next      string `json:"next"`
	ID        string `json:"id"`
	Form      string `json:"form"`
	CreatedAt string `json:"created_at"`
}

// answer is the answer to store on a new submission's key and send: a
// 303 on to next for a browser, a 201 with the submission's id for JSON.
func (s *Service) answer(sub *Submission, next string, browser bool) (idempotency.Response, error) {
	if browser {
		return idempotency.Response{
			Status: http.StatusSeeOther,
			Header: map[string]string{"Content-Type": "text/html; charset=utf-8", "Location": next},
			Body:   fmt.Appendf(nil, "<a href=\"%s\">See Other</a>.\n", html.EscapeString(next)),
		}, nil
	}
	body, err := json.Marshal(acceptedBody{OK: true, Next: next, ID: sub.PublicID(), Form: sub.FormPublicID,
		CreatedAt: sub.CreatedAt.Format(time.RFC3339Nano)})
	if err != nil {
		return idempotency.Response{}, err
	}
	return idempotency.Response{
		Status: http.StatusCreated,
		Header: map[string]string{
			"Content-Type": "application/json",
			"Location":     s.BaseURL + "/api/v1/submissions/" + sub.PublicID(),
		},
		Body: append(body, '\n'),
	}, nil
}

// Form reads the form publicID names for its public page, once the client
// address's limit over all forms lets ip in: a flood of made-up ids is cut
// off before it reaches the database. It returns a *LimitedError or
// forms.ErrNotFound.
func (s *Service) Form(ctx context.Context, ip, publicID string) (*forms.Form, error) {
	if err := s.Limiter.takeAddress(ip, s.Limiter.now()); err != nil {
		return nil, err
	}
	return forms.ByPublicID(ctx, s.DB, publicID)
}
