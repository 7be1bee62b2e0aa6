// Package captcha verifies the tokens of Cloudflare Turnstile, hCaptcha and
// Google reCAPTCHA. The three speak one protocol: the site's page runs the
// provider's widget, which puts a single-use token in a form field; the
// server POSTs the form's secret, that token and the submitter's address
// (urlencoded secret, response, remoteip) to the provider's siteverify URL
// and reads {"success": bool, "error-codes": […]} back.
//
// Verify tells three outcomes apart, because Intake answers them
// differently: the token was judged and refused (or never sent) — the
// submitter's to fix; the token could not be judged (the provider is down,
// slow, answers something unreadable, or refuses the form's secret) — the
// form's outage policy decides; or it passed.
package captcha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/intakehq/intake"
)

// Provider is a CAPTCHA service a form can ask for.
type Provider string

// The providers.
const (
	Turnstile Provider = "turnstile"
	HCaptcha  Provider = "hcaptcha"
	ReCAPTCHA Provider = "recaptcha"
)

// Providers lists every provider, in the order the dashboard offers them.
var Providers = []Provider{Turnstile, HCaptcha, ReCAPTCHA}

// TokenFields are the fields the providers' widgets fill, all reserved on
// every form whatever its provider: never stored as data.
var TokenFields = []string{"cf-turnstile-response", "h-captcha-response", "g-recaptcha-response"}

// Valid reports whether p is one of Providers.
func (p Provider) Valid() bool { return slices.Contains(Providers, p) }

// TokenField is the form field p's widget puts its token in.
func (p Provider) TokenField() string {
	switch p {
	case Turnstile:
		return "cf-turnstile-response"
	case HCaptcha:
		return "h-captcha-response"
	case ReCAPTCHA:
		return "g-recaptcha-response"
	}
	return ""
}

// Name is p as people know it.
func (p Provider) Name() string {
	switch p {
	case Turnstile:
		return "Cloudflare Turnstile"
	case HCaptcha:
		return "hCaptcha"
	case ReCAPTCHA:
		return "Google reCAPTCHA"
	}
	return string(p)
}

// DefaultVerifyURL is p's own siteverify endpoint.
func (p Provider) DefaultVerifyURL() string {
	switch p {
	case Turnstile:
		return "https://challenges.cloudflare.com/turnstile/v0/siteverify"
	case HCaptcha:
		return "https://api.hcaptcha.com/siteverify"
	case ReCAPTCHA:
		return "https://www.google.com/recaptcha/api/siteverify"
	}
	return ""
}

// WidgetScript is the URL of p's widget script, for pages that show it.
func (p Provider) WidgetScript() string {
	switch p {
	case Turnstile:
		return "https://challenges.cloudflare.com/turnstile/v0/api.js"
	case HCaptcha:
		return "https://js.hcaptcha.com/1/api.js"
	case ReCAPTCHA:
		return "https://www.google.com/recaptcha/api.js"
	}
	return ""
}

// WidgetClass is the class of the element p's script turns into its
// widget (with the site key in data-sitekey).
func (p Provider) WidgetClass() string {
	switch p {
	case Turnstile:
		return "cf-turnstile"
	case HCaptcha:
		return "h-captcha"
	case ReCAPTCHA:
		return "g-recaptcha"
	}
	return ""
}

// DefaultTimeout bounds one verification: the submitter is waiting, and a
// provider that has not answered by then is treated as down.
const DefaultTimeout = 5 * time.Second

// maxToken is longer than any provider's token (Turnstile's are at most
// 2048 characters); a longer one is refused without asking.
const maxToken = 8192

// MissingTokenError is returned when a submission carries no token for the
// form's provider: the widget did not run, or the client left it out.
type MissingTokenError struct{ Provider Provider }

// captchaHint is what a person does about a CAPTCHA not passed.
const captchaHint = "Go back, complete the CAPTCHA (the “I am human” check) again, and send the form again."

// Describe says which field the token was expected in. Formspree's own
// client knows no CAPTCHA code (it reads them as UNSPECIFIED and shows the
// message), so the codes follow its naming.
func (e *MissingTokenError) Describe() *intake.Error {
	return &intake.Error{Kind: intake.Invalid, Type: intake.TypeCaptchaFailed, Msg: e.Error(), Title: "CAPTCHA not passed",
		Detail: "This form requires a " + e.Provider.Name() + " CAPTCHA: send its token in the " + e.Provider.TokenField() +
			" field. Nothing was stored; the same Idempotency-Key may be reused.",
		Code: "CAPTCHA_MISSING", Hint: captchaHint,
		Page: "The form was not sent: it asks for a CAPTCHA, and none came with it (the check may not have loaded, or was not completed)."}
}

func (e *MissingTokenError) Error() string {
	return "captcha: no " + e.Provider.TokenField() + " token was sent"
}

// RejectedError is returned when the provider judged the token and
// refused it: wrong, expired or already used (tokens are single-use).
type RejectedError struct {
	Provider Provider
	Codes    []string // the provider's error-codes, e.g. timeout-or-duplicate
}

// Spent reports whether the provider refused the token as one already
// used (or expired: Turnstile and reCAPTCHA do not tell the two apart).
func (e *RejectedError) Spent() bool {
	for _, c := range e.Codes {
		switch c {
		case "timeout-or-duplicate", "already-seen-response", "invalid-or-already-seen-response":
			return true
		}
	}
	return false
}

// Describe passes on the provider's error codes.
func (e *RejectedError) Describe() *intake.Error {
	detail := "The " + e.Provider.Name() + " CAPTCHA token was refused"
	if len(e.Codes) > 0 {
		detail += " (" + strings.Join(e.Codes, ", ") + ")"
	}
	return &intake.Error{Kind: intake.Invalid, Type: intake.TypeCaptchaFailed, Msg: e.Error(), Title: "CAPTCHA not passed",
		Detail: detail + ". Tokens are single-use and expire: complete the CAPTCHA again and send a fresh token. Nothing was stored; the same Idempotency-Key may be reused.",
		Code:   "CAPTCHA_FAILED", Hint: captchaHint,
		Page: "The form was not sent: its CAPTCHA check did not pass, or had expired."}
}

func (e *RejectedError) Error() string {
	if len(e.Codes) == 0 {
		return "captcha: " + e.Provider.Name() + " refused the token"
	}
	return "captcha: " + e.Provider.Name() + " refused the token (" + strings.Join(e.Codes, ", ") + ")"
}

// UnverifiedError is returned when the token could not be judged: the
// provider could not be reached, timed out, answered with an error status
// or something unreadable, or refused the form's secret (a setting the
// owner must fix, not the submitter).
type UnverifiedError struct {
	Provider Provider
	Reason   string // for people and logs, e.g. "no answer within 5s"; never holds the secret
	Err      error  // the cause, when there is one
	// Misconfigured says the form's own configuration is wrong (the
	// provider refused its secret), not the provider down: such a form
	// never fails open, or a wrong secret would let every bot in.
	Misconfigured bool
}

func (e *UnverifiedError) Error() string {
	return "captcha: " + e.Provider.Name() + " could not verify the token: " + e.Reason
}

func (e *UnverifiedError) Unwrap() error { return e.Err }

// Describe says the check cannot be made now: a 503, not the database's
// (whose timeout the cause may be).
func (e *UnverifiedError) Describe() *intake.Error {
	return &intake.Error{Kind: intake.Unavailable, Type: intake.TypeCaptchaDown, Msg: e.Error(), Title: "CAPTCHA cannot be checked",
		Detail:     "The CAPTCHA provider cannot check tokens right now. Nothing was stored; retry in a few seconds with the same Idempotency-Key and a fresh CAPTCHA token.",
		Code:       "CAPTCHA_UNAVAILABLE",
		RetryAfter: 5 * time.Second,
		Hint:       "Wait a few seconds, complete the CAPTCHA again if it asks, and send the form again; it will not be stored twice.",
		Page:       "The form was not sent: its CAPTCHA cannot be checked right now."}
}

// Codes that mean the request, not the token, was wrong: the form's secret
// (or site key) is missing or bad, or the provider failed. The token was
// never judged.
var configCodes = []string{
	"missing-input-secret", "invalid-input-secret", "sitekey-secret-mismatch",
	"bad-request", "internal-error", "missing-remoteip", "invalid-remoteip",
}

// Verifier checks tokens with the providers' siteverify endpoints. The
// zero value uses the providers' own URLs and DefaultTimeout.
type Verifier struct {
	// URLs replaces a provider's siteverify URL (a proxy, a test server).
	URLs map[Provider]string
	// Client sends the checks; nil uses one that follows no redirects.
	Client *http.Client
	// Timeout bounds one check; 0 is DefaultTimeout.
	Timeout time.Duration
}

var defaultClient = &http.Client{
	// A siteverify endpoint answers; it does not redirect. A redirect is
	// an answer Intake cannot read, so it counts as an outage.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// answer is a siteverify response, the members all three providers share.
type answer struct {
	Success    *bool    `json:"success"`
	ErrorCodes []string `json:"error-codes"`
}

// Verify asks p whether token, sent from remoteIP, is good for the form
// whose secret is secret. It returns nil when it is, a *MissingTokenError
// for an empty token, a *RejectedError when p refused it, and an
// *UnverifiedError when p could not judge it. A cancelled ctx comes back as
// ctx's error.
func (v *Verifier) Verify(ctx context.Context, p Provider, secret, token, remoteIP string) error {
	if token == "" {
		return &MissingTokenError{Provider: p}
	}
	if len(token) > maxToken {
		return &RejectedError{Provider: p, Codes: []string{"invalid-input-response"}}
	}
	timeout := DefaultTimeout
	if v != nil && v.Timeout > 0 {
		timeout = v.Timeout
	}
	form := url.Values{"secret": {secret}, "response": {token}}
	if remoteIP != "" {
		form.Set("remoteip", remoteIP)
	}
	checkCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(checkCtx, http.MethodPost, v.url(p), strings.NewReader(form.Encode()))
	if err != nil {
		return &UnverifiedError{Provider: p, Reason: "the verify URL is not usable", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := v.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the submitter went away; not the provider's fault
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return &UnverifiedError{Provider: p, Reason: fmt.Sprintf("no answer within %v", timeout), Err: err}
		}
		return &UnverifiedError{Provider: p, Reason: "unreachable", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnverifiedError{Provider: p, Reason: "the answer was cut off", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return &UnverifiedError{Provider: p, Reason: fmt.Sprintf("answered HTTP %d", resp.StatusCode)}
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil || a.Success == nil {
		return &UnverifiedError{Provider: p, Reason: "the answer is not siteverify JSON", Err: err}
	}
	if *a.Success {
		return nil
	}
	for _, c := range a.ErrorCodes {
		if slices.Contains(configCodes, c) {
			return &UnverifiedError{Provider: p, Reason: "it refused the request (" + strings.Join(a.ErrorCodes, ", ") + "); check the form's CAPTCHA secret", Misconfigured: true}
		}
	}
	return &RejectedError{Provider: p, Codes: a.ErrorCodes}
}

func (v *Verifier) url(p Provider) string {
	if v != nil {
		if u := v.URLs[p]; u != "" {
			return u
		}
	}
	return p.DefaultVerifyURL()
}

func (v *Verifier) client() *http.Client {
	if v != nil && v.Client != nil {
		return v.Client
	}
	return defaultClient
}
