package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// ProblemBase prefixes every problem type URI; docs/errors.md documents each.
const ProblemBase = "https://intake.dev/problems/"

// Problem is an RFC 9457 problem detail. Error and Errors are Formspree's
// members, so clients written for Formspree read Intake's errors too; the
// errors array doubles as RFC 9457's validation shape (with "pointer").
type Problem struct {
	Type     string             `json:"type"`
	Title    string             `json:"title"`
	Status   int                `json:"status"`
	Detail   string             `json:"detail,omitempty"`
	Instance string             `json:"instance,omitempty"`
	Error    string             `json:"error,omitempty"`
	Errors   []forms.FieldError `json:"errors,omitempty"`

	retryAfter string
	code       string // Formspree's form-level code, when one fits
	hint       string // what to do next, for the HTML page
	page       string // what happened, for the HTML page, when Detail speaks to programs
}

// The problem types. Each is documented in docs/errors.md, with the
// statuses problem() is called with for it (TestErrorsDocumented reads
// every Type… constant of the package and holds the page to them).
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
)

// Formspree-style codes of the CAPTCHA problems. Formspree's own client
// knows no CAPTCHA code (it reads them as UNSPECIFIED and shows the
// message), so these follow its naming.
const (
	codeCaptchaMissing = "CAPTCHA_MISSING"
	codeCaptchaFailed  = "CAPTCHA_FAILED"
	codeCaptchaDown    = "CAPTCHA_UNAVAILABLE"
)

func problem(status int, typ, title, detail string) *Problem {
	return &Problem{Type: ProblemBase + typ, Title: title, Status: status, Detail: detail}
}

// problemFor turns any error into the problem the client sees. It is the
// one place the error vocabulary meets HTTP; unknown errors become a 500
// that says nothing of the cause (the cause is logged).
func problemFor(err error) *Problem {
	var (
		verr      *forms.ValidationError
		malformed *submissions.MalformedError
		quota     *accounts.QuotaError
		maxBytes  *http.MaxBytesError
		bad       *badRequestError
		parts     *submissions.TooManyPartsError
	)
	if p, ok := submitLimitedProblem(err); ok {
		return p
	}
	if p, ok := captchaProblem(err); ok {
		return p // before the generic 503: a provider's timeout is not the database's
	}
	switch {
	case errors.As(err, &verr):
		p := problem(http.StatusUnprocessableEntity, TypeValidation, "Validation failed",
			"One or more fields are invalid; see errors. Fix them and send again (the same Idempotency-Key may be reused).")
		p.Errors = verr.Errors
		p.hint = "Go back, correct the fields listed and send the form again."
		return p
	case errors.Is(err, forms.ErrNotFound):
		p := problem(http.StatusNotFound, TypeNotFound, "Form not found", "No form has this id. Check the endpoint URL in your dashboard.")
		p.code = "FORM_NOT_FOUND"
		return p
	case errors.Is(err, submissions.ErrNotFound), errors.Is(err, webhooks.ErrNotFound), errors.Is(err, errRouteNotFound):
		return problem(http.StatusNotFound, TypeNotFound, "Not found", "Nothing is here; check the id and the URL.")
	case errors.Is(err, webhooks.ErrDisabled):
		return problem(http.StatusConflict, TypeWebhookDisabled, "Webhook endpoint disabled",
			"The endpoint is disabled, so nothing can be delivered to it. Enable it (PATCH {\"enabled\": true}) and redeliver.")
	case errors.Is(err, webhooks.ErrEndpointLimit):
		return problem(http.StatusConflict, TypeWebhookLimit, "Too many webhook endpoints",
			fmt.Sprintf("A form has at most %d webhook endpoints, and this one has that many (or more, from before the limit). Delete one it no longer needs (DELETE /api/v1/webhooks/{id}), then add or enable this one.", webhooks.MaxEndpointsPerForm))
	case errors.Is(err, webhooks.ErrURLTaken):
		return problem(http.StatusConflict, TypeWebhookURLTaken, "Webhook URL already added",
			"This form already has an endpoint with this URL (scheme and host compared without case, the default port and the fragment aside); each submission is sent to a URL once. Change that endpoint instead (GET /api/v1/forms/{id}/webhooks lists them).")
	case errors.Is(err, forms.ErrArchived):
		p := problem(http.StatusGone, TypeFormInactive, "Form is no longer active", "This form has been archived by its owner and takes no more submissions.")
		p.code = "INACTIVE"
		return p
	case errors.As(err, &quota):
		u := quota.Usage
		resets := u.Resets()
		p := problem(http.StatusTooManyRequests, TypePlanLimit, "Monthly submission limit reached",
			fmt.Sprintf("This form's account has taken the %d submissions its %s plan allows in %s. New submissions are refused until %s; everything accepted before is kept. The form's owner can move to a larger plan.",
				u.Plan.MonthlySubmissions, u.Plan.Name, u.Month.Format("January 2006"), resets.Format("2 January 2006 15:04 MST")))
		p.retryAfter = strconv.Itoa(max(1, int(math.Ceil(time.Until(resets).Seconds()))))
		p.code = "PLAN_LIMIT"
		p.hint = "This form cannot take more submissions this month. Try again after " + resets.Format("2 January 2006") + ", or reach its owner another way."
		return p
	case errors.Is(err, submissions.ErrEmpty):
		p := problem(http.StatusUnprocessableEntity, TypeEmpty, "Empty submission", "The submission has no fields. Send at least one field.")
		p.code = forms.CodeEmpty
		return p
	case errors.Is(err, idempotency.ErrKeyInvalid):
		return problem(http.StatusBadRequest, TypeKeyInvalid, "Invalid Idempotency-Key",
			`An idempotency key is 1–255 printable ASCII characters, sent once: a bare token or a quoted string such as "8e03978e-40d5-43e8-bc93-6894a57f9324".`)
	case errors.Is(err, idempotency.ErrKeyMissing):
		return problem(http.StatusBadRequest, TypeKeyMissing, "Idempotency-Key required",
			"This form requires an idempotency key: send an Idempotency-Key header (a UUID per submission) or an _idempotency_key field.")
	case errors.Is(err, idempotency.ErrKeyReused):
		p := problem(http.StatusUnprocessableEntity, TypeKeyReused, "Idempotency-Key reused",
			"This idempotency key is bound to a submission with a different payload. Use a new key for a new submission.")
		p.hint = "This looks like a different submission sent with an old key. Reload the form and send it again."
		return p
	case errors.Is(err, idempotency.ErrInFlight):
		p := problem(http.StatusConflict, TypeKeyInFlight, "Request in progress",
			"A request with this idempotency key is still being processed. Retry with the same key shortly; it will get that request's answer.")
		p.retryAfter = "1"
		return p
	case errors.Is(err, submissions.ErrUnsupportedMediaType):
		return problem(http.StatusUnsupportedMediaType, TypeUnsupportedMedia, "Unsupported media type",
			"Send application/x-www-form-urlencoded, multipart/form-data or application/json.")
	case errors.Is(err, submissions.ErrFilesTooBig):
		p := problem(http.StatusRequestEntityTooLarge, TypeTooLarge, "Files too big", "The uploaded files exceed 10 MiB in all.")
		p.code = "FILES_TOO_BIG"
		return p
	case errors.As(err, &parts) && parts.Files:
		p := problem(http.StatusRequestEntityTooLarge, TypeTooLarge, "Too many files",
			fmt.Sprintf("The body has more than %d files; send at most %d.", parts.Limit, parts.Limit))
		p.code = "TOO_MANY_FILES"
		return p
	case errors.As(err, &parts):
		p := problem(http.StatusRequestEntityTooLarge, TypeTooLarge, "Too many parts",
			fmt.Sprintf("The multipart body has more than %d parts; send at most %d fields and files in all.", parts.Limit, parts.Limit))
		p.code = "TOO_MANY_PARTS"
		return p
	case errors.Is(err, submissions.ErrBodyTimeout):
		// Before the database's 503: a deadline passing while the client
		// sends its body is the client's slowness, not an outage.
		p := problem(http.StatusRequestTimeout, TypeRequestTimeout, "Request timeout",
			"The body was not received in time: the connection sent it too slowly. Nothing was stored; send it again (the same Idempotency-Key may be reused).")
		p.code = "REQUEST_TIMEOUT"
		p.hint = "Check your connection and send the form again; it will not be stored twice."
		return p
	case errors.Is(err, submissions.ErrTooLarge), errors.As(err, &maxBytes):
		p := problem(http.StatusRequestEntityTooLarge, TypeTooLarge, "Payload too large", "The body exceeds 1 MiB (files not counted).")
		p.code = "FILES_TOO_BIG"
		return p
	case errors.As(err, &malformed):
		return problem(http.StatusBadRequest, TypeMalformed, "Malformed request", "The body could not be read: "+malformed.Detail+".")
	case errors.As(err, &bad):
		return bad.problem
	case errors.Is(err, accounts.ErrUnauthorized):
		return problem(http.StatusUnauthorized, TypeUnauthorized, "Unauthorized",
			"Send a valid API key as Authorization: Bearer <key>. Create one with `intake apikeys create` or in the dashboard.")
	case database.IsUnavailable(err), database.IsLockTimeout(err), errors.Is(err, context.DeadlineExceeded):
		p := problem(http.StatusServiceUnavailable, TypeUnavailable, "Service unavailable",
			"The database cannot be reached right now. Nothing was stored; retry in a few seconds with the same Idempotency-Key.")
		p.retryAfter = "5"
		return p
	default:
		return problem(http.StatusInternalServerError, TypeInternal, "Internal error",
			"Something went wrong on our side and nothing was stored. Retrying with the same Idempotency-Key is safe.")
	}
}

// captchaProblem answers the CAPTCHA errors of a submission: a token
// missing or refused is the submitter's to fix (422, nothing stored, the
// same key may be sent again with a fresh token); a provider that could not
// judge it, on a form that fails closed, is a 503.
func captchaProblem(err error) (*Problem, bool) {
	var (
		missing    *captcha.MissingTokenError
		rejected   *captcha.RejectedError
		unverified *captcha.UnverifiedError
	)
	const hint = "Go back, complete the CAPTCHA (the “I am human” check) again, and send the form again."
	switch {
	case errors.As(err, &missing):
		p := problem(http.StatusUnprocessableEntity, TypeCaptchaFailed, "CAPTCHA not passed",
			"This form requires a "+missing.Provider.Name()+" CAPTCHA: send its token in the "+missing.Provider.TokenField()+
				" field. Nothing was stored; the same Idempotency-Key may be reused.")
		p.code, p.hint = codeCaptchaMissing, hint
		p.page = "The form was not sent: it asks for a CAPTCHA, and none came with it (the check may not have loaded, or was not completed)."
		return p, true
	case errors.As(err, &rejected):
		detail := "The " + rejected.Provider.Name() + " CAPTCHA token was refused"
		if len(rejected.Codes) > 0 {
			detail += " (" + strings.Join(rejected.Codes, ", ") + ")"
		}
		p := problem(http.StatusUnprocessableEntity, TypeCaptchaFailed, "CAPTCHA not passed", detail+
			". Tokens are single-use and expire: complete the CAPTCHA again and send a fresh token. Nothing was stored; the same Idempotency-Key may be reused.")
		p.code, p.hint = codeCaptchaFailed, hint
		p.page = "The form was not sent: its CAPTCHA check did not pass, or had expired."
		return p, true
	case errors.As(err, &unverified):
		p := problem(http.StatusServiceUnavailable, TypeCaptchaDown, "CAPTCHA cannot be checked",
			"The CAPTCHA provider cannot check tokens right now. Nothing was stored; retry in a few seconds with the same Idempotency-Key and a fresh CAPTCHA token.")
		p.code, p.retryAfter = codeCaptchaDown, "5"
		p.hint = "Wait a few seconds, complete the CAPTCHA again if it asks, and send the form again; it will not be stored twice."
		p.page = "The form was not sent: its CAPTCHA cannot be checked right now."
		return p, true
	}
	return nil, false
}

// badRequestError carries a ready problem for errors found by the edge
// itself (a bad query parameter, JSON that does not decode).
type badRequestError struct{ problem *Problem }

func (e *badRequestError) Error() string { return e.problem.Detail }

func invalidParameter(detail string) error {
	return &badRequestError{problem(http.StatusBadRequest, TypeInvalidParameter, "Invalid parameter", detail)}
}

func malformedJSON(detail string) error {
	return &badRequestError{problem(http.StatusBadRequest, TypeMalformed, "Malformed JSON", detail)}
}

var errRouteNotFound = errors.New("no such route")

// writeError answers err as problem+json, logging what the client does not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problemLogged(r, err)
	writeProblem(w, r, p)
}

func (s *Server) problemLogged(r *http.Request, err error) *Problem {
	p := problemFor(err)
	switch {
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to tell it.
	case p.Status >= 500:
		logger(r.Context()).ErrorContext(r.Context(), "request failed", "status", p.Status, "err", err)
	}
	return p
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.retryAfter != "" {
		w.Header().Set("Retry-After", p.retryAfter)
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

// withFormspreeMembers fills Formspree's error and errors members, which
// every JSON error of /f/ carries.
func withFormspreeMembers(p *Problem) *Problem {
	p.Error = p.Title
	if p.Detail != "" {
		p.Error = p.Detail
	}
	if len(p.Errors) == 0 {
		code := p.code
		if code == "" {
			// No Formspree code fits: the problem type, in Formspree's style.
			code = strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(p.Type, ProblemBase), "-", "_"))
		}
		p.Errors = []forms.FieldError{{Code: code, Message: p.Detail}}
	}
	if len(p.Errors) > 0 && p.Type == ProblemBase+TypeValidation {
		p.Error = "Validation failed: " + (&forms.ValidationError{Errors: p.Errors}).Error()
	}
	return p
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

type loggerKey struct{}
