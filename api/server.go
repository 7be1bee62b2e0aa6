// Package api is Intake's HTTP edge: the public form endpoint /f/, the JSON
// management API under /api/v1, health and metrics. Errors leave as RFC 9457
// problem+json from one place (httpedge.ProblemFor), or as an HTML page in browser mode.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/pages"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// Server holds the edge's dependencies.
type Server struct {
	DB          *pgxpool.Pool
	Submissions *submissions.Service
	Validator   *forms.Validator
	Pages       *pages.Pages
	Metrics     *Metrics
	Logger      *slog.Logger
	BaseURL     string
	RateLimit   *RateLimiter // per API key; nil: unlimited
	// AuthLimit limits unknown and revoked API keys per client address;
	// nil: unlimited.
	AuthLimit *AuthLimiter
	// River enqueues webhook redeliveries.
	River webhooks.Inserter
	// Recipients keeps each form's notification addresses and mails their
	// confirmation links when a form is saved; nil keeps none.
	Recipients *notify.RecipientSync
	// Sealer encrypts webhook secrets at rest; nil keeps them in clear.
	Sealer *seal.Sealer
	// WebhookURLs is what an endpoint URL must meet to be saved; its zero
	// value refuses private literals (INTAKE_WEBHOOK_ALLOW_PRIVATE allows).
	WebhookURLs webhooks.URLPolicy
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed (INTAKE_TRUSTED_PROXIES); empty: none.
	TrustedProxies []netip.Prefix
	// FileStore holds the files' bytes; nil reads them from Postgres
	// (submissions.PGFiles).
	FileStore submissions.FileStore
	// FileLinks signs and checks the file links that work without a key
	// (webhook payloads, emails); nil answers every such link not found.
	FileLinks *submissions.FileLinks
	// FileLinkLimit limits the signed file links per client address; nil:
	// unlimited.
	FileLinkLimit *FileLinkLimiter
	// Webhooks sends test events the way deliveries are sent; nil answers
	// them 503.
	Webhooks *webhooks.DeliveryWorker
	// Dashboard, when set, adds the owners' pages (package web) to the router.
	Dashboard interface{ Routes(chi.Router) }

	draining atomic.Bool // Drain was called: /readyz answers 503
}

// Handler returns the router with every route of the edge.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(httpedge.RequestID(s.Logger), httpedge.LogRequests(s.logRequest), httpedge.Recoverer(s.panicked))
	// HEAD on every GET route, answered by the GET handler: net/http drops
	// the body. RFC 9110 §9.1: a general-purpose server supports both.
	r.Use(middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errRouteNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		// chi's own 405 handler is the one that sets Allow; this one must too
		// (RFC 9110 §15.5.6).
		allowed := allowedMethods(r, req.URL.Path)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, req, methodNotAllowed(req.Method, strings.Join(allowed, ", ")))
	})

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get("/api/openapi.json", s.openAPI)
	r.Options("/api/openapi.json", openAPIPreflight)
	r.Get("/docs/agents", s.agentDocs)
	r.Get("/favicon.ico", s.Pages.Favicon)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))

	// The public endpoint: any site may post to it (CORS is answered here,
	// and a disallowed origin is stored as spam, not refused).
	r.Group(func(r chi.Router) {
		r.Use(cors)
		r.Options("/f/{formID}", preflight)
		r.Post("/f/{formID}", s.submit)
		r.Get("/f/{formID}", s.showForm)
		r.Get("/f/{formID}/thanks", s.thanks)
		r.Get("/f/{formID}/style.css", s.brandStyle)
	})
	// A signed file link: the link is the permission (api/files.go).
	r.Get("/files/{submissionID}/{fileID}", s.linkedFile)
	r.Handle("/js/*", s.Pages.Static())
	r.Handle("/static/*", s.Pages.Static())

	if s.Dashboard != nil {
		s.Dashboard.Routes(r)
	}

	// /mcp: the MCP edge for agents (api/mcp.go), behind the same key
	// authentication and limits as /api/v1; the tools check the key's
	// scope. Stateless, it has no GET stream and no session to DELETE.
	r.With(s.authenticate, s.rateLimit).Post("/mcp", s.mcpHandler().ServeHTTP)

	r.Route("/api/v1", func(r chi.Router) {
		// requireScope: a read_only key may only GET and HEAD (403 otherwise).
		r.Use(s.authenticate, s.rateLimit, s.requireScope)
		r.Post("/forms", s.createForm)
		r.Get("/forms", s.listForms)
		r.Get("/forms/{formID}", s.getForm)
		r.Patch("/forms/{formID}", s.updateForm)
		r.Delete("/forms/{formID}", s.deleteForm)
		r.Get("/forms/{formID}/submissions", s.listSubmissions)
		r.Get("/forms/{formID}/submissions.csv", s.exportSubmissions(submissions.CSV))
		r.Get("/forms/{formID}/submissions.ndjson", s.exportSubmissions(submissions.NDJSON))
		r.Get("/forms/{formID}/stats", s.formStats)
		r.Get("/forms/{formID}/sample", s.formSample)
		r.Get("/submissions/{submissionID}", s.getSubmission)
		r.Patch("/submissions/{submissionID}", s.updateSubmission)
		r.Delete("/submissions/{submissionID}", s.deleteSubmission)
		r.Post("/submissions/{submissionID}/merge", s.mergeSubmission)
		r.Delete("/submissions/{submissionID}/merge", s.unmergeSubmission)
		r.Get("/submissions/{submissionID}/files/{fileID}", s.downloadFile)
		r.Get("/apikeys", s.listAPIKeys)
		r.Post("/apikeys", s.createAPIKey)
		r.Delete("/apikeys/{keyID}", s.revokeAPIKey)
		r.Post("/forms/{formID}/webhooks", s.createWebhook)
		r.Get("/forms/{formID}/webhooks", s.listWebhooks)
		r.Get("/webhooks/{webhookID}", s.getWebhook)
		r.Patch("/webhooks/{webhookID}", s.updateWebhook)
		r.Delete("/webhooks/{webhookID}", s.deleteWebhook)
		r.Post("/webhooks/{webhookID}/rotate", s.rotateWebhookSecret)
		r.Post("/webhooks/{webhookID}/test", s.testWebhook)
		r.Get("/webhooks/{webhookID}/deliveries", s.listDeliveries)
		r.Get("/deliveries/{deliveryID}", s.getDelivery)
		r.Post("/deliveries/{deliveryID}/redeliver", s.redeliver)
		r.Get("/audit", s.listAudit)
		r.Get("/people", s.findPerson)
		r.Post("/erasures", s.erase)
	})
	return r
}

// allowedMethods lists the methods router has a route for at path, HEAD
// wherever GET is (GetHead answers it), for a 405's Allow.
func allowedMethods(router chi.Routes, path string) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if router.Match(chi.NewRouteContext(), m, path) || m == http.MethodHead && slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// logRequest counts an answered request for intake_http_requests_total.
func (s *Server) logRequest(route string, status int) {
	s.Metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

// panicked answers a handler's panic: an internal error as problem+json.
func (s *Server) panicked(w http.ResponseWriter, r *http.Request) {
	httpedge.WriteProblem(w, r, httpedge.ProblemFor(nil))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Drain makes /readyz answer 503 from now on: the server is shutting
// down and a balancer should send it nothing new, while it still answers
// what comes (serve's INTAKE_SHUTDOWN_DELAY).
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
}
