package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/pages"
	"github.com/intakehq/intake/submissions"
)

// Headers a cross-origin submitter may send and read (README, "From an HTML page"). Formspree's
// own client always sends Formspree-Client and Formspree-Session-Data.
const (
	corsAllowHeaders  = "Content-Type, Accept, Idempotency-Key, Formspree-Client, Formspree-Session-Data"
	corsExposeHeaders = "Idempotent-Replayed, Idempotency-Key, Location, Retry-After, X-Request-Id"
)

// cors lets any origin call /f/. Per-form origin rules are enforced on the
// submission itself (a disallowed origin is stored as spam, as Formspree
// does); refusing the preflight instead would drop those submissions.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
		next.ServeHTTP(w, r)
	})
}

func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// submit is POST /f/{formID}: the README's "Exactly once, precisely", and docs/errors.md for every answer but success.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	formID := chi.URLParam(r, "formID")
	jsonMode := wantsJSON(r)
	headerKeys := r.Header.Values("Idempotency-Key")
	log := logger(ctx).With("form", formID)

	outcome := "error"
	defer func() {
		d := time.Since(start)
		s.Metrics.Submissions.WithLabelValues(outcome).Inc()
		s.Metrics.SubmitDuration.WithLabelValues(outcome).Observe(d.Seconds())
	}()
	fail := func(err error, key string) {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			// The client went away (a browser abandoning a double-clicked
			// plain post): nothing to answer, and not a server error.
			outcome = "abandoned"
			log.InfoContext(ctx, "submission abandoned by the client", "key", key)
			return
		}
		p := s.problemLogged(r, err)
		switch {
		case p.Status == http.StatusConflict || p.Type == ProblemBase+TypeKeyReused:
			outcome = "conflict"
		case p.Status == http.StatusTooManyRequests: // a rate limit or the plan's quota
			outcome = "limited"
		case p.Status == http.StatusRequestTimeout: // the client sent its body too slowly
			outcome = "client_timeout"
		case p.Status < 500:
			outcome = "invalid"
		}
		log.InfoContext(ctx, "submission refused", "key", key, "outcome", outcome, "status", p.Status, "problem", p.Type)
		if key != "" {
			w.Header().Set("Idempotency-Key", key)
		}
		if jsonMode {
			writeProblem(w, r, withFormspreeMembers(p))
			return
		}
		s.errorPage(w, r, p)
	}

	key, err := idempotency.ParseHeader(headerKeys)
	if err != nil {
		fail(err, "")
		return
	}
	// The address's limit over all forms comes before the body is read and
	// before the database is asked anything; a replay gives its token back.
	ip := s.clientIP(r)
	if err := s.SubmitLimit.takeAddress(ip, s.SubmitLimit.now()); err != nil {
		fail(err, key)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.Limits.BodyLimit(r.Header.Get("Content-Type")))
	payload, err := submissions.Parse(r.Header.Get("Content-Type"), r.Body, s.Limits)
	if err != nil {
		fail(err, key)
		return
	}
	// Echo the key the client gave, header or field; Accept checks the field.
	echo := key
	if echo == "" {
		if k := payload.First(submissions.FieldIdempotencyKey); idempotency.CheckKey(k) == nil {
			echo = k
		}
	}

	res, err := s.Submissions.Accept(ctx, submissions.Request{
		FormID:    formID,
		Payload:   payload,
		Key:       key,
		Browser:   !jsonMode,
		IP:        ip,
		UserAgent: r.UserAgent(),
		Referrer:  r.Referer(),
		// Header values may hold any byte from 0x80 up: the origin is
		// stored (in a spam reason), so it must be text.
		Origin: strings.ToValidUTF8(r.Header.Get("Origin"), "\uFFFD"),
		Admit:  func(f *forms.Form) error { return s.SubmitLimit.take(ip, f.ID, s.SubmitLimit.now()) },
		Respond: func(sub *submissions.Submission, next string) (idempotency.Response, error) {
			if jsonMode {
				return s.jsonAccepted(sub, next)
			}
			return browserAccepted(next), nil
		},
	})
	if err != nil {
		if res != nil && res.Form != nil && !jsonMode && isValidation(err) {
			outcome = "invalid"
			log.InfoContext(ctx, "submission refused", "key", echo, "outcome", outcome, "status", http.StatusUnprocessableEntity)
			if echo != "" {
				w.Header().Set("Idempotency-Key", echo)
			}
			s.validationPage(w, r, res.Form, err)
			return
		}
		fail(err, echo)
		return
	}
	if res.Outcome == submissions.OutcomeReplayed {
		s.SubmitLimit.giveBack(ip, s.SubmitLimit.now())
	}
	outcome = string(res.Outcome)
	log.InfoContext(ctx, "submission", "key", res.Key, "outcome", outcome, "submission", submissions.FormatID(res.SubmissionID))
	if res.CaptchaUnverified != "" {
		// Taken because the form fails open; its owner sees it on the
		// submission, the operator here.
		log.WarnContext(ctx, "submission taken without a verified CAPTCHA", "provider", res.Form.Settings.Captcha.Provider,
			"reason", res.CaptchaUnverified, "submission", submissions.FormatID(res.SubmissionID))
	}

	h := w.Header()
	for k, v := range res.Response.Header {
		h.Set(k, v)
	}
	if echo != "" {
		h.Set("Idempotency-Key", echo)
	}
	if res.Outcome == submissions.OutcomeReplayed {
		h.Set("Idempotent-Replayed", "true")
	}
	h.Set("Content-Length", strconv.Itoa(len(res.Response.Body)))
	w.WriteHeader(res.Response.Status)
	w.Write(res.Response.Body)
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

func (s *Server) jsonAccepted(sub *submissions.Submission, next string) (idempotency.Response, error) {
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

func browserAccepted(next string) idempotency.Response {
	return idempotency.Response{
		Status: http.StatusSeeOther,
		Header: map[string]string{"Content-Type": "text/html; charset=utf-8", "Location": next},
		Body:   fmt.Appendf(nil, "<a href=\"%s\">See Other</a>.\n", html.EscapeString(next)),
	}
}

func isValidation(err error) bool {
	p := problemFor(err)
	return p.Type == ProblemBase+TypeValidation
}

// wantsJSON reports JSON response mode: a JSON body, or an Accept header that
// prefers application/json to text/html.
func wantsJSON(r *http.Request) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		return true
	}
	return prefers(r.Header.Get("Accept"), []string{"application/json", "application/problem+json"}, "text/html")
}

// prefers reports whether accept ranks one of the types at least as high
// as other, and above zero. Wildcards favour neither, so the default is
// other.
func prefers(accept string, types []string, other string) bool {
	wantQ, otherQ := -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch {
		case slices.Contains(types, mt):
			wantQ = max(wantQ, q)
		case mt == other:
			otherQ = max(otherQ, q)
		}
	}
	return wantQ > 0 && wantQ >= otherQ
}

// clientIP is the submitter's address behind the trusted proxies
// (httpedge.ClientIP).
func (s *Server) clientIP(r *http.Request) string { return httpedge.ClientIP(r, s.TrustedProxies) }

// errorPage renders a problem as the HTML page a browser user sees.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.retryAfter != "" {
		w.Header().Set("Retry-After", p.retryAfter)
	}
	hint := p.hint
	if hint == "" && (p.Status >= 500 || p.Status == http.StatusConflict) {
		hint = "Wait a moment and send the form again; it will not be stored twice."
	}
	msg := p.Detail
	if p.page != "" {
		msg = p.page
	}
	s.Pages.Error(w, r, p.Status, pages.ErrorView{Title: p.Title, Message: msg, Hint: hint, BackURL: s.backURL(r)})
}

// validationPage renders the 422 page listing what to fix.
func (s *Server) validationPage(w http.ResponseWriter, r *http.Request, form *forms.Form, err error) {
	p := problemFor(err)
	v := pages.ErrorsView{FormName: form.Name, BackURL: s.backURL(r)}
	for _, fe := range p.Errors {
		label := ""
		if f, ok := form.Contract.Field(fe.Field); ok {
			label = f.Label
		}
		v.Errors = append(v.Errors, pages.FieldError{Field: fe.Field, Label: label, Message: fe.Message})
	}
	s.Pages.SubmissionErrors(w, r, v)
}

// showForm is GET /f/{formID}: the contract as JSON Schema for agents, the
// hosted form page for browsers.
func (s *Server) showForm(w http.ResponseWriter, r *http.Request) {
	form, err := s.publicForm(r)
	if err == nil && form.ArchivedAt != nil {
		err = forms.ErrArchived
	}
	jsonMode := wantsJSON(r)
	if err != nil {
		p := s.problemLogged(r, err)
		if jsonMode {
			writeProblem(w, r, withFormspreeMembers(p))
		} else {
			s.errorPage(w, r, p)
		}
		return
	}
	endpoint := s.endpoint(form)
	if jsonMode {
		w.Header().Set("Content-Type", "application/schema+json")
		writeJSONBody(w, http.StatusOK, form.JSONSchema(endpoint))
		return
	}
	v := pages.FormView{FormID: form.PublicID, Name: form.Name, Action: endpoint, HoneypotField: form.Settings.HoneypotField}
	if c := form.Settings.Captcha; c.Provider != "" && c.SiteKey != "" {
		v.Captcha = pages.CaptchaWidget{Provider: string(c.Provider), SiteKey: c.SiteKey}
	}
	for _, f := range form.Contract.Fields {
		v.Fields = append(v.Fields, pages.FormField{Name: f.Name, Label: f.Label, Type: string(f.Type), Required: f.Required, Options: f.Options})
	}
	s.Pages.HostedForm(w, r, v)
}

// publicForm reads the form GET /f/{formID} names, once the client
// address's limit over all forms lets it: a flood of made-up ids is cut
// off before it reaches the database.
func (s *Server) publicForm(r *http.Request) (*forms.Form, error) {
	if err := s.SubmitLimit.takeAddress(s.clientIP(r), s.SubmitLimit.now()); err != nil {
		return nil, err
	}
	return forms.ByPublicID(r.Context(), s.DB, chi.URLParam(r, "formID"))
}

func (s *Server) thanks(w http.ResponseWriter, r *http.Request) {
	form, err := forms.ByPublicID(r.Context(), s.DB, chi.URLParam(r, "formID"))
	if err != nil {
		s.errorPage(w, r, s.problemLogged(r, err))
		return
	}
	s.Pages.Thanks(w, r, pages.ThanksView{FormName: form.Name, BackURL: s.backURL(r)})
}

func (s *Server) endpoint(f *forms.Form) string { return s.BaseURL + "/f/" + f.PublicID }

// backURL is where a "back" link on a public page may point: the page the
// visitor came from, when the Referer names it. Across origins browsers
// send only the origin, which is the site's home page, not its form (the
// page then says to use the Back button instead); a link back to a
// thank-you page would go in a circle.
func (s *Server) backURL(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path == "" || u.Path == "/" {
		return ""
	}
	if base, err := url.Parse(s.BaseURL); err == nil && strings.EqualFold(base.Host, u.Host) && strings.HasSuffix(u.Path, "/thanks") {
		return ""
	}
	return u.String()
}
