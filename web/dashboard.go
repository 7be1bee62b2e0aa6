package web

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/webhooks"
)

// Dashboard is the owners' admin: sign-up and log-in, forms with
// their contract and settings editor and snippets, submissions, webhooks
// and their delivery log, the email outbox and API keys. Its pages are
// server-rendered from embedded templates; every state change is a POST
// behind cross-origin protection, answered with a redirect (Post/Redirect/
// Get) and a one-time flash message.
type Dashboard struct {
	DB        *pgxpool.Pool
	River     webhooks.Inserter // enqueues redeliveries
	Validator *forms.Validator
	BaseURL   string // public URL: endpoints and snippets; https makes cookies Secure
	Logger    *slog.Logger
	// TrustedProxies are the load balancers whose X-Forwarded-For gives the
	// client's address, for the per-IP login throttle (the API's
	// INTAKE_TRUSTED_PROXIES); empty: none.
	TrustedProxies []netip.Prefix
	// Sealer opens webhook secrets to reveal them and seals new ones; nil
	// keeps them in clear (tests).
	Sealer *seal.Sealer
	// WebhookURLs is what an endpoint URL must meet to be saved (the API's).
	WebhookURLs webhooks.URLPolicy
	// Recipients keeps each form's notification addresses and mails their
	// confirmation links when a form is saved; nil keeps none.
	Recipients *notify.RecipientSync
	// Links checks the unsubscribe links of notifications; nil: every
	// such link is refused.
	Links *notify.Links

	pages    *Pages
	secure   bool
	cop      *http.CrossOriginProtection
	throttle *loginThrottle
	resets   *loginThrottle // reset requests per client address
	// hashSlots bounds concurrent argon2id hashes (64 MiB each).
	hashSlots chan struct{}
	// flashKey seals the flash messages of logged-out visitors. Those of a
	// session are signed with a key derived from its token, which every
	// replica can derive; this one is per process, and a logged-out flash
	// that lands on another replica is merely not shown.
	flashKey []byte
}

// Cookie names.
const (
	sessionCookie = "intake_session"
	flashCookie   = "intake_flash"
)

// NewDashboard parses the dashboard's templates and checks each against its
// view; it fails, so start-up fails, when one is broken.
func NewDashboard(db *pgxpool.Pool, river webhooks.Inserter, val *forms.Validator, baseURL string, logger *slog.Logger) (*Dashboard, error) {
	return newDashboard(embedded, db, river, val, baseURL, logger)
}

// newDashboard is NewDashboard over fsys, which holds templates/ and static/.
func newDashboard(fsys fs.FS, db *pgxpool.Pool, river webhooks.Inserter, val *forms.Validator, baseURL string, logger *slog.Logger) (*Dashboard, error) {
	p, err := newPages(fsys)
	if err != nil {
		return nil, err
	}
	// Execute every page once with its zero view: a template that names a
	// field its view lacks fails here, at boot, not on a page view.
	for _, t := range dashTemplates {
		if err := p.dash[t.fileName()].ExecuteTemplate(io.Discard, dashLayoutFile, t.zeroView()); err != nil {
			return nil, fmt.Errorf("web: %s does not fit its view: %w", t.fileName(), err)
		}
	}
	if logger == nil {
		logger = slog.Default()
	}
	baseURL = strings.TrimSuffix(baseURL, "/")
	d := &Dashboard{
		DB: db, River: river, Validator: val, BaseURL: baseURL, Logger: logger,
		pages:     p,
		secure:    strings.HasPrefix(baseURL, "https://"),
		cop:       http.NewCrossOriginProtection(),
		throttle:  newLoginThrottle(),
		resets:    newForgotThrottle(),
		hashSlots: make(chan struct{}, max(2, runtime.NumCPU())),
		flashKey:  make([]byte, 32),
	}
	rand.Read(d.flashKey)
	if u, err := url.Parse(baseURL); err == nil && u.Scheme != "" && u.Host != "" {
		// Behind a proxy that rewrites Host, the public origin is still ours.
		if err := d.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("web: base URL: %w", err)
		}
	}
	d.cop.SetDenyHandler(http.HandlerFunc(d.crossOrigin))
	// RFC 8058's one-click unsubscribe is a POST the recipient's mail
	// provider sends, from its own servers or pages: no CSRF token, maybe
	// cross-site. The signed token in its URL is its authority (and an
	// unsubscribe is all it can do), so that one route is let through.
	d.cop.AddInsecureBypassPattern("POST /unsubscribe")
	return d, nil
}

// Routes adds the dashboard's routes to r. Every route gets the security
// headers, the cross-origin protection of state changes and the session;
// all but the log-in, sign-up, password-reset and verification pages need
// a logged-in user.
func (d *Dashboard) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(d.securityHeaders, d.cop.Handler, d.loadSession)

		r.Get("/", d.home)
		r.Get("/signup", d.signupPage)
		r.Post("/signup", d.signup)
		r.Get("/login", d.loginPage)
		r.Post("/login", d.login)
		r.Post("/logout", d.logout)
		r.Get("/forgot", d.forgotPage)
		r.Post("/forgot", d.forgot)
		r.Get(notify.ResetPath, d.resetPage)
		r.Post(notify.ResetPath, d.reset)
		r.Get(notify.VerifyPath, d.verifyPage)
		r.Post(notify.VerifyPath, d.verify)

		// The links of the emails to notification addresses: public, the
		// token is the authority.
		r.Get("/confirm", d.confirmPage)
		r.Post("/confirm", d.confirm)
		r.Get("/unsubscribe", d.unsubscribePage)
		r.Post("/unsubscribe", d.unsubscribe)

		r.Group(func(r chi.Router) {
			r.Use(d.requireLogin)

			r.Get("/account", d.accountPage)
			r.Post("/account/password", d.changePassword)
			r.Post("/account/verify-email", d.resendVerification)

			r.Get("/forms", d.formsPage)
			r.Get("/forms/new", d.newFormPage)
			r.Post("/forms/new", d.createForm)
			r.Get("/forms/{form_id}", d.formPage)
			r.Get("/forms/{form_id}/edit", d.editFormPage)
			r.Post("/forms/{form_id}/edit", d.updateForm)
			r.Get("/forms/{form_id}/archive", d.confirmArchiveForm)
			r.Post("/forms/{form_id}/archive", d.archiveForm)
			r.Get("/forms/{form_id}/schema.json", d.formSchema)
			r.Post("/forms/{form_id}/notifications/resume", d.resubscribe)

			r.Get("/forms/{form_id}/submissions", d.submissionsPage)
			r.Get("/forms/{form_id}/submissions.csv", d.exportCSV)
			r.Get("/forms/{form_id}/submissions/{sub_id}", d.submissionPage)
			r.Post("/forms/{form_id}/submissions/{sub_id}/spam", d.markSpam(true))
			r.Post("/forms/{form_id}/submissions/{sub_id}/not-spam", d.markSpam(false))
			r.Get("/forms/{form_id}/submissions/{sub_id}/delete", d.confirmDeleteSubmission)
			r.Post("/forms/{form_id}/submissions/{sub_id}/delete", d.deleteSubmission)

			r.Get("/forms/{form_id}/webhooks", d.webhooksPage)
			r.Post("/forms/{form_id}/webhooks", d.createWebhook)
			r.Get("/webhooks/{wh_id}", d.webhookPage)
			r.Post("/webhooks/{wh_id}", d.updateWebhook)
			r.Post("/webhooks/{wh_id}/enable", d.setWebhookEnabled(true))
			r.Post("/webhooks/{wh_id}/disable", d.setWebhookEnabled(false))
			r.Post("/webhooks/{wh_id}/secret", d.revealSecret)
			r.Get("/webhooks/{wh_id}/rotate", d.confirmRotate)
			r.Post("/webhooks/{wh_id}/rotate", d.rotateSecret)
			r.Get("/webhooks/{wh_id}/delete", d.confirmDeleteWebhook)
			r.Post("/webhooks/{wh_id}/delete", d.deleteWebhook)
			r.Get("/deliveries/{dlv_id}", d.deliveryPage)
			r.Post("/deliveries/{dlv_id}/redeliver", d.redeliver)

			r.Get("/outbox", d.outboxPage)
			r.Get("/outbox/{email_id}", d.emailPage)

			r.Get("/apikeys", d.apiKeysPage)
			r.Post("/apikeys", d.createAPIKey)
			r.Get("/apikeys/{key_id}/revoke", d.confirmRevokeAPIKey)
			r.Post("/apikeys/{key_id}/revoke", d.revokeAPIKey)
		})
	})
}

// contentSecurityPolicy allows nothing inline: behaviour is in
// dashboard.js, style in intake.css.
const contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func (d *Dashboard) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// crossOrigin answers a state change that came from another site.
func (d *Dashboard) crossOrigin(w http.ResponseWriter, r *http.Request) {
	d.errorPage(w, r, http.StatusForbidden, errorView{
		Heading: "Request refused",
		Message: "This request came from another site, so it was refused to protect your account.",
		Hint:    "If you sent it yourself, go back to the dashboard, reload the page and try again.",
	})
}

// Sessions

// reqState is what the dashboard knows of a request: its session, if any.
// Log-in and password changes replace the session mid-request, so it is a
// pointer the handlers can update.
type reqState struct {
	session   *accounts.Session
	token     string
	requestID string
}

type stateKey struct{}

func state(r *http.Request) *reqState {
	if s, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return s
	}
	return &reqState{}
}

// user returns the logged-in session; requireLogin guarantees one.
func user(r *http.Request) *accounts.Session { return state(r).session }

func (d *Dashboard) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{requestID: w.Header().Get("X-Request-Id")}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			s, err := accounts.SessionFor(r.Context(), d.DB, c.Value)
			switch {
			case err == nil:
				st.session, st.token = s, c.Value
				if s.Extended {
					// The server gave the session a new lifetime: so does the cookie.
					d.setSessionCookie(w, c.Value, time.Until(s.ExpiresAt))
				}
			case errors.Is(err, accounts.ErrNoSession):
				d.clearCookie(w, sessionCookie) // expired or ended elsewhere
			default:
				d.error(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireLogin sends a logged-out visitor to the log-in page, which brings
// them back here afterwards.
func (d *Dashboard) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if state(r).session != nil {
			next.ServeHTTP(w, r)
			return
		}
		target := "/login"
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		} else {
			d.setFlash(w, r, flash{Kind: flashError, Message: "Your session has ended. Log in again, then repeat what you were doing."})
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// startSession logs u in: a new session (any session the request came with
// is ended, so a token planted before log-in is worth nothing after it)
// and its cookie.
func (d *Dashboard) startSession(w http.ResponseWriter, r *http.Request, u *accounts.User) error {
	ctx := r.Context()
	st := state(r)
	if st.token != "" {
		if err := accounts.EndSession(ctx, d.DB, st.token); err != nil {
			return err
		}
	}
	token, err := accounts.NewSession(ctx, d.DB, u, d.clientIP(r), r.UserAgent())
	if err != nil {
		return err
	}
	st.token = token
	st.session = &accounts.Session{UserID: u.ID, AccountID: u.AccountID, Email: u.Email, Verified: u.Verified, ExpiresAt: time.Now().Add(accounts.SessionLifetime)}
	d.setSessionCookie(w, token, accounts.SessionLifetime)
	return nil
}

// setSessionCookie sets the cookie that holds the session's token, to last
// as long as the session does on the server.
func (d *Dashboard) setSessionCookie(w http.ResponseWriter, token string, lifetime time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		MaxAge: max(int(lifetime.Seconds()), 1), HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (d *Dashboard) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
}

// localPath reports whether next is a path on this site, safe to redirect
// to after log-in (never another host, never a scheme).
func localPath(next string) bool {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// clientIP is the visitor's address: the peer's, or — when the peer is a
// trusted proxy — the rightmost X-Forwarded-For hop that is not one.
func (d *Dashboard) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !d.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break
		}
		host = hop
		if !d.trusted(hop) {
			break
		}
	}
	return host
}

func (d *Dashboard) trusted(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range d.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Flash messages

// Flash kinds.
const (
	flashSuccess = "success"
	flashError   = "error"
)

// flash is a one-time message shown on the page a redirect lands on. A
// secret (a new API key, a webhook secret) travels in it exactly once: the
// page that shows it deletes the cookie.
type flash struct {
	Kind        string `json:"k"`
	Message     string `json:"m"`
	Secret      string `json:"s,omitempty"`
	SecretLabel string `json:"l,omitempty"`
}

// flashKeyFor is derived from the session's token when there is one: only
// that browser holds it, so no one else can plant a message (or a
// "secret") in an owner's page, and every replica derives the same key.
func (d *Dashboard) flashKeyFor(r *http.Request) []byte {
	if t := state(r).token; t != "" {
		sum := sha256.Sum256([]byte("intake flash\x00" + t))
		return sum[:]
	}
	return d.flashKey
}

func flashAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// setFlash sets the one-time message, sealed (AES-256-GCM), not merely
// signed: a secret in it (a new API key, a webhook secret) is unreadable
// to anything that logs cookies on the way, since the cookie's path is
// the whole site.
func (d *Dashboard) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	payload, _ := json.Marshal(f)
	aead := flashAEAD(d.flashKeyFor(r))
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	value := base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, payload, []byte(flashCookie)))
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: value, Path: "/", MaxAge: 300,
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the request's flash, if any, and deletes it.
func (d *Dashboard) takeFlash(w http.ResponseWriter, r *http.Request) flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return flash{}
	}
	d.clearCookie(w, flashCookie)
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	aead := flashAEAD(d.flashKeyFor(r))
	if err != nil || len(raw) < aead.NonceSize() {
		return flash{}
	}
	payload, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(flashCookie))
	var f flash
	if err != nil || json.Unmarshal(payload, &f) != nil {
		return flash{}
	}
	return f
}

// redirect ends a state change: a flash for the next page, then 303.
func (d *Dashboard) redirect(w http.ResponseWriter, r *http.Request, to string, f flash) {
	if f.Message != "" {
		d.setFlash(w, r, f)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// Rendering

// dashLayoutFile is the template every dashboard page is rendered inside;
// it calls the page's "content" template.
const dashLayoutFile = "dash_layout.html"

// dashTemplate is a page template bound to its view type, so handing a
// page the wrong data is a compile error.
type dashTemplate[V any] struct{ file string }

func (t dashTemplate[V]) fileName() string { return t.file }
func (t dashTemplate[V]) zeroView() any    { var v V; return v }

// The dashboard's pages and their views.
var (
	tmplLogin       = dashTemplate[loginView]{"dash_login.html"}
	tmplSignup      = dashTemplate[signupView]{"dash_signup.html"}
	tmplAccount     = dashTemplate[accountView]{"dash_account.html"}
	tmplAPIKeys     = dashTemplate[apiKeysView]{"dash_apikeys.html"}
	tmplForms       = dashTemplate[formsView]{"dash_forms.html"}
	tmplFormEdit    = dashTemplate[formEditView]{"dash_form_edit.html"}
	tmplForm        = dashTemplate[formView]{"dash_form.html"}
	tmplSubmissions = dashTemplate[submissionsView]{"dash_submissions.html"}
	tmplSubmission  = dashTemplate[submissionView]{"dash_submission.html"}
	tmplWebhooks    = dashTemplate[webhooksView]{"dash_webhooks.html"}
	tmplWebhook     = dashTemplate[webhookView]{"dash_webhook.html"}
	tmplDelivery    = dashTemplate[deliveryView]{"dash_delivery.html"}
	tmplOutbox      = dashTemplate[outboxView]{"dash_outbox.html"}
	tmplEmail       = dashTemplate[emailView]{"dash_email.html"}
	tmplConfirm     = dashTemplate[confirmView]{"dash_confirm.html"}
	tmplLink        = dashTemplate[linkView]{"dash_link.html"}
	tmplError       = dashTemplate[errorView]{"dash_error.html"}
	tmplVerify      = dashTemplate[verifyView]{"dash_verify.html"}
	tmplForgot      = dashTemplate[forgotView]{"dash_forgot.html"}
	tmplReset       = dashTemplate[resetView]{"dash_reset.html"}
)

var dashTemplates = []interface {
	fileName() string
	zeroView() any
}{
	tmplLogin, tmplSignup, tmplAccount, tmplAPIKeys, tmplForms, tmplFormEdit, tmplForm, tmplSubmissions,
	tmplSubmission, tmplWebhooks, tmplWebhook, tmplDelivery, tmplOutbox, tmplEmail, tmplConfirm, tmplLink, tmplError,
	tmplVerify, tmplForgot, tmplReset,
}

// dashPageFiles lists the dashboard's page template files.
func dashPageFiles() []string {
	out := make([]string, len(dashTemplates))
	for i, t := range dashTemplates {
		out[i] = t.fileName()
	}
	return out
}

// base is what the layout draws around every page.
type base struct {
	Title     string // the page's, before " · Intake"
	Nav       string // the current section: "forms", "outbox", "apikeys", "account"; "" for none
	UserEmail string // the logged-in user's; "" when logged out
	// Unverified: the logged-in user has not confirmed their address, and
	// every page says so (with a button to send the link again).
	Unverified bool
	Flash      flash
	Crumbs     []crumb // the trail above the heading; the last is the page itself
}

type crumb struct {
	Label string
	URL   string // "" for the current page
}

// base makes the layout's data for a page and takes the pending flash.
func (d *Dashboard) base(w http.ResponseWriter, r *http.Request, title, nav string, crumbs ...crumb) base {
	b := base{Title: title, Nav: nav, Flash: d.takeFlash(w, r), Crumbs: crumbs}
	if s := state(r).session; s != nil {
		b.UserEmail, b.Unverified = s.Email, !s.Verified
	}
	return b
}

// renderPage executes a page into a buffer first, so that a template error
// becomes a clean 500 instead of half a page under the wrong status.
func renderPage[V any](d *Dashboard, w http.ResponseWriter, r *http.Request, status int, t dashTemplate[V], v V) {
	var buf bytes.Buffer
	if err := d.pages.dash[t.file].ExecuteTemplate(&buf, dashLayoutFile, v); err != nil {
		if t.file == tmplError.file {
			d.logger(r).ErrorContext(r.Context(), "dashboard: render error page", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		d.error(w, r, fmt.Errorf("render %s: %w", t.file, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes()) // a failed write means the client is gone
	}
}

// Errors

// errNotFound is the dashboard's own "nothing here" (a bad id in a URL).
var errNotFound = intake.NotFoundError("not found")

// errorView is the data of the error page.
type errorView struct {
	base
	Status    int
	Heading   string
	Message   string
	Hint      string
	RequestID string // shown on 500s, to quote to support
	BackURL   string
	BackLabel string
}

// error renders err as the dashboard's error page: 404 for anything not
// found (another account's objects included: their existence is not
// told), 503 while the database is unreachable, else a logged 500 that
// shows the request id and never the error itself.
func (d *Dashboard) error(w http.ResponseWriter, r *http.Request, err error) {
	e := intake.Describe(err)
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The browser went away; nobody is left to answer.
		d.logger(r).DebugContext(r.Context(), "dashboard: request cancelled", "path", r.URL.Path)
	case e != nil && e.Kind == intake.NotFound:
		d.errorPage(w, r, http.StatusNotFound, errorView{
			Heading: "Not found",
			Message: "There is nothing here: it may have been deleted, or the link is not quite right.",
			BackURL: "/forms", BackLabel: "Go to your forms",
		})
	case e != nil && e.Kind != intake.Internal:
		// Said in the error's own words: a person reads them.
		p := httpedge.ProblemFor(err)
		if p.RetryAfter != "" {
			w.Header().Set("Retry-After", p.RetryAfter)
		}
		msg := p.Detail
		if p.Page != "" {
			msg = p.Page
		}
		d.errorPage(w, r, p.Status, errorView{Heading: p.Title, Message: msg, Hint: p.Hint})
	case httpedge.IsDependencyOutage(err):
		d.logger(r).WarnContext(r.Context(), "dashboard: database unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		d.errorPage(w, r, http.StatusServiceUnavailable, errorView{
			Heading: "Back in a moment",
			Message: "The database cannot be reached right now. Nothing you did was lost.",
			Hint:    "Wait a few seconds, then reload the page.",
		})
	default:
		d.logger(r).ErrorContext(r.Context(), "dashboard: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		d.errorPage(w, r, http.StatusInternalServerError, errorView{
			Heading:   "Something went wrong",
			Message:   "An internal error stopped this page. It has been logged.",
			Hint:      "Reload the page to try again. If it keeps happening, tell support the request id below.",
			RequestID: w.Header().Get("X-Request-Id"),
			BackURL:   "/forms", BackLabel: "Go to your forms",
		})
	}
}

func (d *Dashboard) errorPage(w http.ResponseWriter, r *http.Request, status int, v errorView) {
	v.Status = status
	title := v.Heading
	if title == "" {
		title = http.StatusText(status)
	}
	v.base = d.base(w, r, title, "")
	renderPage(d, w, r, status, tmplError, v)
}

// logger is the dashboard's logger with the request id the API edge gave
// the request (it sets X-Request-Id on the response before any handler).
func (d *Dashboard) logger(r *http.Request) *slog.Logger {
	if id := state(r).requestID; id != "" {
		return d.Logger.With("request_id", id)
	}
	return d.Logger
}

// Template functions

// dashFuncs are the dashboard templates' functions besides asset.
var dashFuncs = template.FuncMap{
	"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when":     formatWhen,
	"ago":      ago,
	"plural":   plural,
	"inc":      func(i int) int { return i + 1 },
	"ms":       func(d time.Duration) int64 { return d.Milliseconds() },
}

// formatWhen is an exact time for people: "22 Nov 2026, 10:34 UTC".
func formatWhen(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// ago is a time relative to now: "just now", "5 min ago", "3 days ago",
// then the date.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return formatWhen(t)
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return plural(int(d.Hours()), "hour", "hours") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d.Hours()/24), "day", "days") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

// plural is "1 submission", "3 submissions".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
