package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/tokenbucket"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
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
	// Webhooks sends test events as deliveries are sent (the API's); nil
	// sends none.
	Webhooks *webhooks.DeliveryWorker
	// Recipients keeps each form's notification addresses and mails their
	// confirmation links when a form is saved; nil keeps none.
	Recipients *notify.RecipientSync
	// Links checks the unsubscribe links of notifications; nil: every
	// such link is refused.
	Links *notify.Links
	// Submissions takes the test submissions a member sends from a form's
	// page, as the public endpoint takes any (the API's); nil takes none.
	Submissions *submissions.Service

	templates map[string]*template.Template // the pages, by file name
	secure    bool
	cop       *http.CrossOriginProtection
	throttle  *loginThrottle
	resets    *loginThrottle // reset requests per client address
	// hashSlots bounds concurrent argon2id hashes (64 MiB each).
	hashSlots chan struct{}
	// flashKey seals the flash messages of logged-out visitors. Those of a
	// session are signed with a key derived from its token, which every
	// replica can derive; this one is per process, and a logged-out flash
	// that lands on another replica is merely not shown.
	flashKey []byte
}

// ShareLimits divides the dashboard's per-client limits (failed log-ins,
// reset requests) among the live serve nodes, as the API's are.
func (d *Dashboard) ShareLimits(s *tokenbucket.Share) {
	d.throttle.share, d.resets.share = s, s
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

// newDashboard is NewDashboard over fsys, which holds templates/.
func newDashboard(fsys fs.FS, db *pgxpool.Pool, river webhooks.Inserter, val *forms.Validator, baseURL string, logger *slog.Logger) (*Dashboard, error) {
	tmpls, err := parseTemplates(fsys)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	baseURL = strings.TrimSuffix(baseURL, "/")
	d := &Dashboard{
		DB: db, River: river, Validator: val, BaseURL: baseURL, Logger: logger,
		templates: tmpls,
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
		// The second step of a log-in: its cookie, not a session, is the
		// authority (dash_two_factor.go).
		r.Get("/login/two-factor", d.secondStepPage)
		r.Post("/login/two-factor", d.secondStep)
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
		// An invitation's link: public, the token is the authority; what
		// it offers depends on who opens it (dash_invite.go).
		r.Get(notify.InvitePath+"{token}", d.invitePage)
		r.Post(notify.InvitePath+"{token}", d.acceptInvite)

		r.Group(func(r chi.Router) {
			r.Use(d.requireLogin)
			// Each route names the least role that may use it
			// (docs/SECURITY.md, "Members and roles"; roles.go); a route
			// without one fails TestRolesEveryDashboardRoute.
			user := r.With(d.least(anyUser)) // the user's own: in an account or not
			viewer := r.With(d.least(accounts.RoleViewer))
			member := r.With(d.least(accounts.RoleMember))
			admin := r.With(d.least(accounts.RoleAdmin))
			owner := r.With(d.least(accounts.RoleOwner))

			user.Get("/account", d.accountPage)
			user.Post("/account/password", d.changePassword)
			user.Post("/account/verify-email", d.resendVerification)
			user.Get("/account/two-factor", d.enrolPage)
			user.Post("/account/two-factor", d.enrol)
			user.Post("/account/two-factor/disable", d.disableTwoFactor)
			user.Post("/account/two-factor/recovery-codes", d.newRecoveryCodes)
			owner.Post("/account/two-factor/require", d.requireTwoFactor)
			user.Post("/account/switch", d.switchAccount)
			viewer.Post("/account/leave", d.leave)
			admin.Get("/account/members", d.membersPage)
			admin.Post("/account/members/invite", d.invite)
			admin.Post("/account/members/invites/{invite_id}/resend", d.resendInvite)
			admin.Post("/account/members/invites/{invite_id}/revoke", d.revokeInvite)
			admin.Post("/account/members/{user_id}/role", d.changeRole)
			admin.Get("/account/members/{user_id}/remove", d.confirmRemoveMember)
			admin.Post("/account/members/{user_id}/remove", d.removeMember)
			owner.Get("/account/transfer", d.transferPage)
			owner.Post("/account/transfer", d.transfer)
			// A person's data (dash_people.go): owners and admins.
			admin.Get("/account/people", d.peoplePage)
			admin.Post("/account/people", d.findPerson)
			admin.Post("/account/people/export", d.exportPerson)
			admin.Post("/account/people/erase/confirm", d.confirmErasePerson)
			admin.Post("/account/people/erase", d.erasePerson)

			viewer.Get("/forms", d.formsPage)
			member.Get("/forms/new", d.newFormPage)
			member.Post("/forms/new", d.createForm)
			viewer.Get("/forms/{form_id}", d.formPage)
			member.Get("/forms/{form_id}/edit", d.editFormPage)
			member.Post("/forms/{form_id}/edit", d.updateForm)
			member.Get("/forms/{form_id}/archive", d.confirmArchiveForm)
			member.Post("/forms/{form_id}/archive", d.archiveForm)
			member.Post("/forms/{form_id}/restore", d.restoreForm)
			viewer.Get("/forms/{form_id}/schema.json", d.formSchema)
			member.Post("/forms/{form_id}/notifications/resume", d.resubscribe)
			member.Post("/forms/{form_id}/test", d.sendTestSubmission)
			viewer.Get("/forms/{form_id}/email", d.notifyEmailPage)
			member.Post("/forms/{form_id}/email", d.saveNotifyEmail)
			viewer.Get("/forms/{form_id}/look", d.brandingPage)
			member.Post("/forms/{form_id}/look", d.saveBranding)

			viewer.Get("/forms/{form_id}/submissions", d.submissionsPage)
			viewer.Get("/forms/{form_id}/submissions.csv", d.exportList(submissions.CSV))
			viewer.Get("/forms/{form_id}/submissions.json", d.exportList(submissions.JSONArray))
			viewer.Post("/forms/{form_id}/submissions/export", d.exportSelected)
			member.Post("/forms/{form_id}/submissions/bulk", d.bulkSubmissions)
			viewer.Get("/forms/{form_id}/submissions/{sub_id}", d.submissionPage)
			viewer.Get("/forms/{form_id}/submissions/{sub_id}/files/{file_id}", d.submissionFile)
			member.Post("/forms/{form_id}/submissions/{sub_id}/spam", d.markSpam(true))
			member.Post("/forms/{form_id}/submissions/{sub_id}/not-spam", d.markSpam(false))
			member.Get("/forms/{form_id}/submissions/{sub_id}/delete", d.confirmDeleteSubmission)
			member.Post("/forms/{form_id}/submissions/{sub_id}/delete", d.deleteSubmission)
			member.Post("/forms/{form_id}/submissions/{sub_id}/unmerge", d.unmergeSubmission)
			viewer.Get("/forms/{form_id}/duplicates", d.duplicatesPage)
			member.Post("/forms/{form_id}/duplicates/merge", d.mergeGroup)

			viewer.Get("/forms/{form_id}/webhooks", d.webhooksPage)
			member.Post("/forms/{form_id}/webhooks", d.createWebhook)
			viewer.Get("/webhooks/{wh_id}", d.webhookPage)
			member.Post("/webhooks/{wh_id}", d.updateWebhook)
			member.Post("/webhooks/{wh_id}/enable", d.setWebhookEnabled(true))
			member.Post("/webhooks/{wh_id}/test", d.testWebhook)
			member.Post("/webhooks/{wh_id}/disable", d.setWebhookEnabled(false))
			// A member, not only an admin: members make webhooks and rotate
			// their secrets, and both show the secret, so refusing this
			// would only push them to a rotation that breaks the receiver.
			// Not a viewer: the secret signs what the receiver trusts as
			// Intake's, a power to write, not to read.
			member.Post("/webhooks/{wh_id}/secret", d.revealSecret)
			member.Get("/webhooks/{wh_id}/rotate", d.confirmRotate)
			member.Post("/webhooks/{wh_id}/rotate", d.rotateSecret)
			member.Get("/webhooks/{wh_id}/delete", d.confirmDeleteWebhook)
			member.Post("/webhooks/{wh_id}/delete", d.deleteWebhook)
			viewer.Get("/deliveries/{dlv_id}", d.deliveryPage)
			member.Post("/deliveries/{dlv_id}/redeliver", d.redeliver)

			viewer.Get("/outbox", d.outboxPage)
			viewer.Get("/outbox/{email_id}", d.emailPage)

			admin.Get("/audit", d.auditPage)

			admin.Get("/apikeys", d.apiKeysPage)
			admin.Post("/apikeys", d.createAPIKey)
			admin.Get("/apikeys/{key_id}/revoke", d.confirmRevokeAPIKey)
			admin.Post("/apikeys/{key_id}/revoke", d.revokeAPIKey)
		})
	})
}

// contentSecurityPolicy allows nothing inline: behaviour is in
// dashboard.js, style in intake.css. Images may be data: URLs: the QR
// code of a two-factor enrolment is one, made on the server (it holds the
// secret, so it is never a file a cache could keep).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

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
		d.logger(r).DebugContext(r.Context(), "dashboard: request cancelled", "path", httpedge.LogPath(r))
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
		d.logger(r).WarnContext(r.Context(), "dashboard: database unavailable", "path", httpedge.LogPath(r), "err", err)
		w.Header().Set("Retry-After", "5")
		d.errorPage(w, r, http.StatusServiceUnavailable, errorView{
			Heading: "Back in a moment",
			Message: "The database cannot be reached right now. Nothing you did was lost.",
			Hint:    "Wait a few seconds, then reload the page.",
		})
	default:
		d.logger(r).ErrorContext(r.Context(), "dashboard: internal error", "method", r.Method, "path", httpedge.LogPath(r), "err", err)
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
// the request (httpedge.RequestID, before any handler).
func (d *Dashboard) logger(r *http.Request) *slog.Logger {
	if id := httpedge.RequestIDFrom(r.Context()); id != "" {
		return d.Logger.With("request_id", id)
	}
	return d.Logger
}
