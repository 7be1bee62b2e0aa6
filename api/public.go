package api

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/pages"
	"github.com/intakehq/intake/submissions"
)

// Headers a cross-origin submitter may send and read (README, "From an HTML page"). Formspree's
// own client always sends Formspree-Client and Formspree-Session-Data.
const (
	corsAllowHeaders  = "Content-Type, Accept, Idempotency-Key, Formspree-Client, Formspree-Session-Data"
	corsExposeHeaders = "Duplicate-Of, Idempotent-Replayed, Idempotency-Key, Location, Retry-After, X-Request-Id"
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

// submit is POST /f/{formID}: the README's "Exactly once, precisely", and
// docs/errors.md for every answer but success. submissions.Service.Submit
// does the work and says what to answer; this edge negotiates the answer's
// mode, counts and logs the outcome, and writes the answer or the error.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	jsonMode := wantsJSON(r)
	ct := r.Header.Get("Content-Type")
	res, err := s.Submissions.Submit(ctx, submissions.Incoming{
		FormID:      chi.URLParam(r, "formID"),
		KeyHeader:   r.Header.Values("Idempotency-Key"),
		ContentType: ct,
		Body:        http.MaxBytesReader(w, r.Body, s.Submissions.BodyLimit(ct)),
		Browser:     !jsonMode,
		IP:          s.clientIP(r),
		UserAgent:   r.UserAgent(),
		Referrer:    r.Referer(),
		// Header values may hold any byte from 0x80 up: the origin is
		// stored (in a spam reason), so it must be text.
		Origin: strings.ToValidUTF8(r.Header.Get("Origin"), "\uFFFD"),
	})
	outcome := string(res.Outcome)
	// Counted once the answer is written, as a client waits for it.
	defer s.countSubmission(res, start)
	log := httpedge.Logger(ctx).With("form", chi.URLParam(r, "formID"))
	if err != nil {
		s.refuse(w, r, res, err, jsonMode, log)
		return
	}
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
	h.Set("Content-Length", strconv.Itoa(len(res.Response.Body)))
	w.WriteHeader(res.Response.Status)
	w.Write(res.Response.Body)
}

// countSubmission counts a submission's outcome and how long it took, for
// /f/ and the MCP tool submit alike.
func (s *Server) countSubmission(res *submissions.Result, start time.Time) {
	outcome := string(res.Outcome)
	s.Metrics.Submissions.WithLabelValues(outcome).Inc()
	s.Metrics.SubmitDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	switch res.Outcome {
	case submissions.OutcomeReplayed:
		s.Metrics.Duplicates.WithLabelValues(res.How.String()).Inc()
		s.Metrics.ReplayAge.Observe(res.StoredAge.Seconds())
	case submissions.OutcomeDuplicate:
		s.Metrics.Duplicates.WithLabelValues(res.How.String()).Inc()
	}
}

// refuse answers a refused submission: problem+json with Formspree's
// members in JSON mode, else a page (the fields to fix, for a validation
// error on a known form).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, res *submissions.Result, err error, jsonMode bool, log *slog.Logger) {
	ctx := r.Context()
	if res.Outcome == submissions.OutcomeAbandoned {
		// The client went away (a browser abandoning a double-clicked
		// plain post): nothing to answer, and not a server error.
		log.InfoContext(ctx, "submission abandoned by the client", "key", res.Echo)
		return
	}
	p := problemLogged(r, err)
	log.InfoContext(ctx, "submission refused", "key", res.Echo, "outcome", string(res.Outcome), "status", p.Status, "problem", p.Type)
	if res.Echo != "" {
		w.Header().Set("Idempotency-Key", res.Echo)
	}
	var verr *forms.ValidationError
	switch {
	case jsonMode:
		httpedge.WriteProblem(w, r, p.WithFormspreeMembers())
	case res.Form != nil && errors.As(err, &verr):
		s.validationPage(w, r, res.Form, verr)
	default:
		s.errorPage(w, r, p)
	}
}

// jsonTypes are the Accept types that choose JSON response mode.
var jsonTypes = []string{"application/json", "application/problem+json"}

// wantsJSON reports JSON response mode: a JSON body, or an Accept header that
// prefers application/json to text/html.
func wantsJSON(r *http.Request) bool { return wantsOneOf(r, jsonTypes) }

// wantsSchema reports whether GET /f/{formID} answers the form's JSON
// Schema: as wantsJSON, or for an Accept that prefers the schema's own
// media type, application/schema+json, to text/html.
func wantsSchema(r *http.Request) bool {
	return wantsOneOf(r, append(slices.Clip(jsonTypes), "application/schema+json"))
}

// wantsOneOf reports a JSON body, or an Accept that prefers one of types to
// text/html.
func wantsOneOf(r *http.Request, types []string) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		return true
	}
	return prefers(r.Header.Get("Accept"), types, "text/html")
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
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, p *httpedge.Problem) {
	if p.RetryAfter != "" {
		w.Header().Set("Retry-After", p.RetryAfter)
	}
	hint := p.Hint
	if hint == "" && (p.Status >= 500 || p.Status == http.StatusConflict) {
		hint = "Wait a moment and send the form again; it will not be stored twice."
	}
	msg := p.Detail
	if p.Page != "" {
		msg = p.Page
	}
	s.Pages.Error(w, r, p.Status, pages.ErrorView{Title: p.Title, Message: msg, Hint: hint, BackURL: s.backURL(r)})
}

// validationPage renders the 422 page listing what to fix.
func (s *Server) validationPage(w http.ResponseWriter, r *http.Request, form *forms.Form, verr *forms.ValidationError) {
	v := pages.ErrorsView{Brand: brandOf(form), FormName: form.Name, BackURL: s.backURL(r)}
	for _, fe := range verr.Errors {
		label := ""
		if f, ok := form.Contract.Field(fe.Field); ok {
			label = f.Label
		}
		v.Errors = append(v.Errors, pages.FieldError{Field: fe.Field, Label: label, Message: forPeople(fe)})
	}
	s.Pages.SubmissionErrors(w, r, v)
}

// forPeople is a field's error as the page shows it, after the field's
// label: without the field's name the API's message starts with ("email
// must be…" reads "Email: Must be…"), and a missing or empty required
// field asks to be filled in.
func forPeople(fe forms.FieldError) string {
	if fe.Code == forms.CodeRequiredMissing || fe.Code == forms.CodeRequiredEmpty {
		return "Please fill this in."
	}
	msg := strings.TrimSpace(strings.TrimPrefix(fe.Message, fe.Field+" "))
	if msg == "" {
		return fe.Message
	}
	r, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[size:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// showForm is GET /f/{formID}: the contract as JSON Schema for agents, the
// hosted form page for browsers. Which one depends on Accept (Vary); no
// cache keeps either, since the owner may change or archive the form at any
// moment (README, "From an HTML page").
func (s *Server) showForm(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Accept")
	h.Set("Cache-Control", "no-store")
	form, err := s.publicForm(r)
	if err == nil && form.ArchivedAt != nil {
		err = forms.ErrArchived
	}
	jsonMode := wantsSchema(r)
	if err != nil {
		p := problemLogged(r, err)
		if jsonMode {
			httpedge.WriteProblem(w, r, p.WithFormspreeMembers())
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
	v := pages.FormView{Brand: brandOf(form), FormID: form.PublicID, Name: form.Name, Action: endpoint, HoneypotField: form.Settings.HoneypotField}
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
	return s.Submissions.Form(r.Context(), s.clientIP(r), chi.URLParam(r, "formID"))
}

func (s *Server) thanks(w http.ResponseWriter, r *http.Request) {
	form, err := forms.ByPublicID(r.Context(), s.DB, chi.URLParam(r, "formID"))
	if err != nil {
		s.errorPage(w, r, problemLogged(r, err))
		return
	}
	// ?duplicate=1: the submission repeated a unique value and the form
	// accepts repeats (submissions.OutcomeDuplicate); it changes the words,
	// nothing else, so a visitor who adds it by hand learns nothing.
	s.Pages.Thanks(w, r, pages.ThanksView{Brand: brandOf(form), FormName: form.Name, BackURL: s.siteURL(r), Duplicate: r.URL.Query().Get("duplicate") == "1"})
}

// brandOf is form's look on its hosted pages; its colour's stylesheet is
// named by the colour, so a changed colour is a new URL past any cache.
func brandOf(form *forms.Form) pages.Brand {
	b := form.Settings.Branding
	out := pages.Brand{LogoURL: b.LogoURL, Intro: b.Intro, ThankYou: b.ThankYou}
	if b.ColorCSS() != "" {
		out.StyleURL = "/f/" + form.PublicID + "/style.css?v=" + strings.TrimPrefix(strings.ToLower(b.Color), "#")
	}
	return out
}

// brandStyle answers the stylesheet of a form's colour (forms.Branding),
// empty for a form without one; public, as the hosted pages that link it,
// and limited as the hosted form is (publicForm).
func (s *Server) brandStyle(w http.ResponseWriter, r *http.Request) {
	form, err := s.publicForm(r)
	if err != nil {
		s.errorPage(w, r, problemLogged(r, err))
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, form.Settings.Branding.ColorCSS())
}

// siteURL is where the thank-you page's "Back to the site" goes: the page
// the visitor came from (backURL), or — after a post from another site,
// whose browser sends only its origin — that site's home page, which is
// where "back to the site" may go (not so for an error page, which must
// go back to the form: backURL).
func (s *Server) siteURL(r *http.Request) string {
	if back := s.backURL(r); back != "" {
		return back
	}
	u, err := url.Parse(r.Referer())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	if base, err := url.Parse(s.BaseURL); err == nil && strings.EqualFold(base.Host, u.Host) {
		return "" // Intake's own origin: no site to go back to
	}
	return u.Scheme + "://" + u.Host + "/"
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
