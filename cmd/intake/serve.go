package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/migrations"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/web"
	"github.com/intakehq/intake/webhooks"
)

// Timeouts of the HTTP server: slow clients cannot hold connections open.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	drainTimeout      = 25 * time.Second
)

func serve(ctx context.Context, cfg Config, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	migrate := fs.Bool("migrate", true, "apply pending migrations before serving")
	workers := fs.Bool("workers", true, "run River workers in this process")
	addr := fs.String("addr", cfg.Addr, "listen address (INTAKE_ADDR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *migrate {
		n, err := migrations.Up(ctx, pool, nil)
		if err != nil {
			return err
		}
		logger.Info("migrations applied", "count", n)
	}
	sealer, links, err := newKeys(ctx, pool, cfg)
	if err != nil {
		return err
	}
	metrics := api.NewMetrics(pool)
	rc, err := newRiver(pool, cfg, sealer, links, logger, metrics, *workers)
	if err != nil {
		return err
	}
	pages, err := web.New()
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	val := forms.NewValidator()
	replays := &submissions.ReplayCounter{DB: pool, Logger: logger}
	replaysCtx, stopReplays := context.WithCancel(context.WithoutCancel(ctx))
	defer stopReplays()
	replaysDone := make(chan struct{})
	go func() { replays.Run(replaysCtx); close(replaysDone) }()
	srv := &api.Server{
		DB:             pool,
		Validator:      val,
		Pages:          pages,
		Metrics:        metrics,
		Logger:         logger,
		BaseURL:        cfg.BaseURL,
		RateLimit:      &api.RateLimiter{PerMinute: cfg.APIRatePerMinute},
		AuthLimit:      &api.AuthLimiter{PerMinute: api.DefaultAuthFailuresPerMinute},
		TrustedProxies: cfg.TrustedProxies,
		Sealer:         sealer,
		WebhookURLs:    webhooks.URLPolicy{AllowPrivate: cfg.WebhookAllowPrivate},
		River:          rc,
		Recipients:     &notify.RecipientSync{River: rc, Links: links},
		Submissions: &submissions.Service{DB: pool, Validator: val, BaseURL: cfg.BaseURL, Planner: notify.Planner{}, Replays: replays,
			Captcha: &captcha.Verifier{URLs: cfg.CaptchaVerifyURLs}, Secrets: sealer,
			Limiter: &submissions.Limiter{PerMinute: cfg.SubmitPerMinute}},
	}
	dash, err := web.NewDashboard(pool, rc, val, cfg.BaseURL, logger)
	if err != nil {
		return fmt.Errorf("dashboard templates: %w", err)
	}
	dash.TrustedProxies = cfg.TrustedProxies
	dash.Sealer = sealer
	dash.WebhookURLs = srv.WebhookURLs
	dash.Recipients = &notify.RecipientSync{River: rc, Links: links}
	dash.Links = links
	srv.Dashboard = dash
	httpServer := &http.Server{
		Addr:              *addr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10, // headers are small; a 1 MiB default invites abuse
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *workers {
		if err := rc.Start(ctx); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
	}
	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, logger)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	logger.Info("intake serving", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "workers", *workers, "version", version)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// SIGTERM: stop accepting and drain HTTP, then let running jobs finish,
	// then close the pool (deferred).
	logger.Info("shutting down: draining HTTP")
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	if err := httpServer.Shutdown(drainCtx); err != nil {
		logger.Warn("HTTP drain incomplete", "err", err)
	}
	stopReplays() // after the drain: the last replays are counted, then written
	<-replaysDone
	if *workers {
		logger.Info("shutting down: stopping workers")
		if err := rc.Stop(drainCtx); err != nil {
			logger.Warn("workers did not stop in time", "err", err)
		}
	}
	logger.Info("stopped")
	return nil
}

func worker(ctx context.Context, cfg Config, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	sealer, links, err := newKeys(ctx, pool, cfg)
	if err != nil {
		return err
	}
	rc, err := newRiver(pool, cfg, sealer, links, logger, nil, true)
	if err != nil {
		return err
	}
	if err := rc.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	logger.Info("intake worker running", "version", version)
	<-ctx.Done()
	logger.Info("shutting down: stopping workers")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	return rc.Stop(stopCtx)
}

// openDB opens the pool, creating the database if needed, and waits up to
// a minute for a server that is still starting (docker compose, a reboot).
func openDB(ctx context.Context, cfg Config, logger *slog.Logger) (*pgxpool.Pool, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		pool, err := database.Open(ctx, cfg.DatabaseURL)
		if err == nil {
			return pool, nil
		}
		if !database.IsUnavailable(err) || time.Now().After(deadline) {
			return nil, fmt.Errorf("database: %w", err)
		}
		logger.Warn("waiting for the database", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// newRiver makes the River client. Only processes that work jobs get
// queues and the periodic jobs (River's elected leader enqueues those).
func newRiver(pool *pgxpool.Pool, cfg Config, sealer *seal.Sealer, links *notify.Links, logger *slog.Logger, metrics *api.Metrics, work bool) (*river.Client[pgx.Tx], error) {
	deps := notify.Deps{DB: pool, From: cfg.MailFrom, BaseURL: cfg.BaseURL, Logger: logger, Sealer: sealer, Links: links,
		HTTPClient: webhooks.NewHTTPClient(cfg.WebhookAllowPrivate)}
	if metrics != nil {
		deps.Observer = metrics
	}
	if cfg.SMTPURL != "" {
		m, err := mail.NewSMTP(cfg.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("INTAKE_SMTP_URL: %w", err)
		}
		deps.Mailer = m
	}
	rcfg := &river.Config{
		Workers: notify.Workers(deps),
		Logger:  logger.With("component", "river"),
		// A job whose process died mid-run (SIGKILL, a lost machine) runs
		// again after this (INTAKE_RESCUE_STUCK_JOBS_AFTER, 5 min by
		// default; intake-bench -chaos shortens it to see every job finish).
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
	}
	if work {
		rcfg.Queues = notify.Queues()
		rcfg.PeriodicJobs = notify.PeriodicJobs()
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), rcfg)
	if err != nil {
		return nil, errors.Join(errors.New("river client"), err)
	}
	return rc, nil
}

// newKeys makes the webhook-secret sealer and the signer of confirmation
// and unsubscribe links from INTAKE_SECRET_KEY, or from the key generated
// once and kept in the database when it is not set; each derives its own
// key from it.
func newKeys(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*seal.Sealer, *notify.Links, error) {
	key := cfg.SecretKey
	if key == "" {
		var err error
		if key, err = database.InstanceSecret(ctx, pool); err != nil {
			return nil, nil, fmt.Errorf("instance secret key: %w", err)
		}
	}
	sealer, err := seal.New(key)
	if err != nil {
		return nil, nil, err
	}
	links, err := notify.NewLinks(key)
	return sealer, links, err
}

// serveDebug serves Go's profiler on addr (INTAKE_DEBUG_ADDR), apart from
// the public listener: `go tool pprof http://addr/debug/pprof/profile`.
func serveDebug(addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	logger.Info("profiler serving", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("profiler stopped", "err", err)
	}
}
