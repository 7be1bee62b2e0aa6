package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
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
	"github.com/intakehq/intake/internal/tokenbucket"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/migrations"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/pages"
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
	b, err := setUp(ctx, cfg, logger, setUpOptions{migrate: *migrate, work: *workers, metrics: true})
	if err != nil {
		return err
	}
	defer b.close()
	pool, rc, sealer, links := b.pool, b.river, b.sealer, b.links
	public, err := pages.New()
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
		Pages:          public,
		Metrics:        b.metrics,
		Logger:         logger,
		BaseURL:        cfg.BaseURL,
		RateLimit:      &api.RateLimiter{PerMinute: cfg.APIRatePerMinute},
		AuthLimit:      &api.AuthLimiter{PerMinute: api.DefaultAuthFailuresPerMinute},
		TrustedProxies: cfg.TrustedProxies,
		Sealer:         sealer,
		FileLinks:      b.files,
		FileLinkLimit:  &api.FileLinkLimiter{PerMinute: api.DefaultFileLinksPerMinute},
		WebhookURLs:    webhooks.URLPolicy{AllowPrivate: cfg.WebhookAllowPrivate},
		River:          rc,
		Recipients:     &notify.RecipientSync{River: rc, Links: links},
		Submissions: &submissions.Service{DB: pool, Validator: val, BaseURL: cfg.BaseURL, Planner: notify.Planner{}, Replays: replays,
			Captcha: &captcha.Verifier{URLs: cfg.CaptchaVerifyURLs}, Secrets: sealer,
			Limiter: &submissions.Limiter{PerMinute: cfg.SubmitPerMinute}},
	}
	// The per-client limits are kept across the cluster: each node keeps
	// its share, the limit divided by the live nodes (database.Heartbeat).
	share := &tokenbucket.Share{}
	srv.RateLimit.Share, srv.AuthLimit.Share, srv.FileLinkLimit.Share, srv.Submissions.Limiter.Share = share, share, share, share
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	beatDone := make(chan struct{})
	go func() {
		database.Heartbeat(beatCtx, pool, nodeID(), share, logger)
		close(beatDone)
	}()
	defer func() { stopBeat(); <-beatDone }()
	// Test events are sent as deliveries are, by the same worker's code.
	srv.Webhooks = &webhooks.DeliveryWorker{DB: pool, Client: webhooks.NewHTTPClient(cfg.WebhookAllowPrivate), Sealer: sealer,
		FileLinks: b.files, BaseURL: cfg.BaseURL, Logger: logger}
	dash, err := web.NewDashboard(pool, rc, val, cfg.BaseURL, logger)
	if err != nil {
		return fmt.Errorf("dashboard templates: %w", err)
	}
	dash.TrustedProxies = cfg.TrustedProxies
	dash.Sealer = sealer
	dash.WebhookURLs = srv.WebhookURLs
	dash.Webhooks = srv.Webhooks
	dash.Recipients = &notify.RecipientSync{River: rc, Links: links}
	dash.Links = links
	dash.Submissions = srv.Submissions
	dash.ShareLimits(share)
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
	if err := b.startWorkers(ctx); err != nil {
		return err
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
	// SIGTERM: /readyz answers 503 at once, so a balancer stops sending
	// here; after INTAKE_SHUTDOWN_DELAY (its health check's time to
	// notice), stop accepting and drain HTTP, then let running jobs
	// finish, then close the pool (deferred).
	srv.Drain()
	if cfg.ShutdownDelay > 0 {
		logger.Info("shutting down: /readyz answers 503; still serving for INTAKE_SHUTDOWN_DELAY", "delay", cfg.ShutdownDelay)
		time.Sleep(cfg.ShutdownDelay)
	}
	logger.Info("shutting down: draining HTTP")
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	if err := httpServer.Shutdown(drainCtx); err != nil {
		logger.Warn("HTTP drain incomplete", "err", err)
	}
	stopReplays() // after the drain: the last replays are counted, then written
	<-replaysDone
	if err := b.stopWorkers(drainCtx); err != nil {
		logger.Warn("workers did not stop in time", "err", err)
	}
	logger.Info("stopped")
	return nil
}

func worker(ctx context.Context, cfg Config, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b, err := setUp(ctx, cfg, logger, setUpOptions{work: true})
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.startWorkers(ctx); err != nil {
		return err
	}
	logger.Info("intake worker running", "version", version)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	return b.stopWorkers(stopCtx)
}

// backend is what serve and worker both stand on: the pool, the keys, and
// the River client with Intake's workers.
type backend struct {
	logger  *slog.Logger
	pool    *pgxpool.Pool
	sealer  *seal.Sealer
	links   *notify.Links
	files   *submissions.FileLinks
	metrics *api.Metrics // nil unless asked for
	river   *river.Client[pgx.Tx]
	work    bool
}

// schemaPoll is how often a process that does not migrate checks whether
// the schema has caught up with it.
const schemaPoll = 2 * time.Second

// setUpOptions says what a command needs beyond the common set-up.
type setUpOptions struct {
	migrate bool // apply pending migrations first (serve --migrate)
	work    bool // this process works jobs (serve --workers, worker)
	metrics bool // Prometheus metrics, which the workers report to
}

// setUp opens the pool (migrating it when asked), makes the keys and the
// River client: the one set-up of serve and worker. On an error nothing is
// left open.
func setUp(ctx context.Context, cfg Config, logger *slog.Logger, opts setUpOptions) (_ *backend, err error) {
	b := &backend{logger: logger, work: opts.work}
	if b.pool, err = openDB(ctx, cfg, logger); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.pool.Close()
		}
	}()
	if opts.migrate {
		n, err := migrations.Up(ctx, b.pool, nil)
		if err != nil {
			return nil, err
		}
		logger.Info("migrations applied", "count", n)
	} else if err := migrations.AwaitApplied(ctx, b.pool, logger, schemaPoll); err != nil {
		return nil, err
	}
	if b.sealer, b.links, b.files, err = newKeys(ctx, b.pool, cfg); err != nil {
		return nil, err
	}
	if opts.metrics {
		b.metrics = api.NewMetrics(b.pool)
	}
	if b.river, err = newRiver(b.pool, cfg, b, logger, opts.work); err != nil {
		return nil, err
	}
	return b, nil
}

// startWorkers starts River's workers, when this process works jobs.
func (b *backend) startWorkers(ctx context.Context) error {
	if !b.work {
		return nil
	}
	if err := b.river.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	return nil
}

// stopWorkers lets running jobs finish, until ctx is done.
func (b *backend) stopWorkers(ctx context.Context) error {
	if !b.work {
		return nil
	}
	b.logger.Info("shutting down: stopping workers")
	return b.river.Stop(ctx)
}

// close closes the pool: last, once HTTP and the workers have stopped.
func (b *backend) close() { b.pool.Close() }

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
func newRiver(pool *pgxpool.Pool, cfg Config, keys *backend, logger *slog.Logger, work bool) (*river.Client[pgx.Tx], error) {
	deps := notify.Deps{DB: pool, From: cfg.MailFrom, BaseURL: cfg.BaseURL, Logger: logger, Sealer: keys.sealer, Links: keys.links,
		FileLinks: keys.files, HTTPClient: webhooks.NewHTTPClient(cfg.WebhookAllowPrivate)}
	if keys.metrics != nil {
		deps.Observer = keys.metrics
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
		// again after this (INTAKE_RESCUE_STUCK_JOBS_AFTER, 2 min by
		// default; intake-bench -chaos shortens it to see every job finish).
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		// River waits FetchCooldown (100 ms by default) between fetches,
		// each of at most a queue's free workers: 25 email workers drained
		// at most 250 emails a second, and a 15 s load's notifications
		// took 80 s more (docs/BENCHMARKS.md, "Jobs keep pace").
		FetchCooldown: 20 * time.Millisecond,
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

// newKeys makes the webhook-secret sealer, the signer of confirmation
// and unsubscribe links and the signer of file links from
// INTAKE_SECRET_KEY, or from the key generated once and kept in the
// database when it is not set; each derives its own key from it.
func newKeys(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*seal.Sealer, *notify.Links, *submissions.FileLinks, error) {
	key := cfg.SecretKey
	if key == "" {
		var err error
		if key, err = database.InstanceSecret(ctx, pool); err != nil {
			return nil, nil, nil, fmt.Errorf("instance secret key: %w", err)
		}
	}
	sealer, err := seal.New(key)
	if err != nil {
		return nil, nil, nil, err
	}
	links, err := notify.NewLinks(key)
	if err != nil {
		return nil, nil, nil, err
	}
	files, err := submissions.NewFileLinks(key, cfg.BaseURL)
	return sealer, links, files, err
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

// nodeID names this serve process in serve_nodes: host, process id and a
// random part, so a restarted process is a new node.
func nodeID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
}
