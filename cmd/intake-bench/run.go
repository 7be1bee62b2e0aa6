package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake/database"
)

// Config is one run of the bench, as the flags give it.
type Config struct {
	URL         string        // Intake's base URL
	DatabaseURL string        // the database Intake uses, for the verdict
	Form        string        // a form's public id; "" makes one
	Concurrency int           // workers, each with one intent in flight
	Duration    time.Duration // how long new intents are started (when Count is 0)
	Count       int           // intents to send; 0: run for Duration
	Payload     int           // bytes of message text per intent
	Dup         int           // each intent is resent 0..Dup extra times
	Browser     float64       // share of intents sent as keyless browser posts
	Ceiling     bool          // also measure the naive SQL ceiling
	// CeilingMinimal also measures the naive transaction on the minimal
	// schema with pgbench (minimal.go).
	CeilingMinimal bool
	Wait           time.Duration // wait this long for Intake's /readyz first
	RetryFor       time.Duration // clients retry a failed send for this long (0: never)

	Intake         string   // an intake binary to start and supervise; "": Intake runs already
	IntakeEnv      []string // KEY=VALUE added to the supervised Intake's environment
	IntakeLog      string   // where the supervised Intake's output goes
	IntakePID      int      // an Intake started elsewhere, for its peak RSS
	SeparateWorker bool     // supervised: River's workers in their own intake worker, never killed
	Cluster        int      // supervised: this many intake serve behind HAProxy at URL, and one worker
	HAProxy        string   // the haproxy binary, with Cluster

	Webhooks bool          // register a loopback receiver and check every delivery
	Drain    time.Duration // wait this long for River to finish the run's jobs

	Chaos     bool          // SIGKILL and restart Intake, restart Postgres, stall the receiver
	Kills     int           // SIGKILLs of Intake during the load
	Stall     time.Duration // how long the receiver holds every delivery
	PGRestart string        // shell command that restarts Postgres; "": none

	Sweep []int         // concurrencies to run one after another
	Step  time.Duration // how long each of them runs
	Plot  string        // SVG file to draw the sweep in
}

const usage = `intake-bench — load, duplicates and a verdict against Intake.

Usage: intake-bench [flags]

Intake must run with INTAKE_SUBMIT_RATE_LIMIT=0: every request comes from one
address, and the default limit (30 a minute per address and form) would turn
the load into 429s. With -intake the bench starts Intake itself (with that
setting) at -url's address and stops it at the end.

Modes:
  (default)  load for -duration, then the verdict (and the ceiling with -ceiling)
  -sweep     the load at each concurrency in turn, a table and an SVG plot
  -chaos     the load while Intake is SIGKILLed and restarted, Postgres is
             restarted and the webhook receiver stalls; clients retry; then a
             wait for River and a verdict on submissions, jobs and webhooks

Exit status: 0 good verdict, 1 bad verdict or error, 2 usage.

Flags:
`

// Run runs the bench with args and returns the process exit code: 0 for a
// good verdict, 1 for a bad one or an error, 2 for a usage mistake.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "intake-bench: %v\n", err)
		return 2
	}
	good, err := run(ctx, cfg, &lockedWriter{w: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "intake-bench: %v\n", err)
		return 1
	}
	if !good {
		return 1
	}
	return 0
}

func parseConfig(args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("intake-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", "http://localhost:8080", "Intake's base URL (with -intake: the address it is started on)")
	fs.StringVar(&c.DatabaseURL, "database-url", database.DefaultURL, "the database Intake uses (read for the verdict)")
	fs.StringVar(&c.Form, "form", "", "public id of an existing form; empty: create a user, an API key and a contact form in the database")
	fs.IntVar(&c.Concurrency, "concurrency", 32, "concurrent clients")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long to start new intents (ignored with -count)")
	fs.IntVar(&c.Count, "count", 0, "number of intents to send (0: run for -duration)")
	fs.IntVar(&c.Payload, "payload", 200, "bytes of message text per intent")
	fs.IntVar(&c.Dup, "dup", 2, "each intent is resent 0..dup extra times: some concurrently, some after a delay, some with the key in the body")
	fs.Float64Var(&c.Browser, "browser", 0.1, "share (0..1) of intents sent as keyless urlencoded browser posts, deduplicated by the implicit key")
	fs.DurationVar(&c.Wait, "wait", 0, "wait up to this long for Intake's /readyz before starting (for scripts that have just started it)")
	fs.BoolVar(&c.Ceiling, "ceiling", false, "also run the naive SQL of one submission straight through pgx and print Intake's rate as a fraction of it")
	fs.BoolVar(&c.CeilingMinimal, "ceiling-minimal", false, "also run the naive transaction on a minimal schema with pgbench, in a scratch database beside -database-url's, and print Intake's rate as a fraction of it")
	fs.DurationVar(&c.RetryFor, "retry-for", 0, "clients retry a send that failed (connection error, timeout, 5xx, 408, 409, 425, 429) with the same key, backing off, for up to this long (default 0: never; 1m with -chaos)")

	fs.StringVar(&c.Intake, "intake", "", "path of an intake binary: start \"intake serve\" at -url's address on -database-url, supervise it, report its peak RSS and stop it at the end")
	fs.Func("intake-env", "`KEY=VALUE` added to the started Intake's environment (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return errors.New("want KEY=VALUE")
		}
		c.IntakeEnv = append(c.IntakeEnv, v)
		return nil
	})
	fs.StringVar(&c.IntakeLog, "intake-log", "", "file the started Intake's output is appended to (default: a file in the temporary directory, named in the report)")
	fs.IntVar(&c.IntakePID, "intake-pid", 0, "pid of an Intake started elsewhere (on this machine): its peak RSS is in the report")
	fs.BoolVar(&c.SeparateWorker, "separate-worker", false, "with -intake: run River's workers in their own \"intake worker\", which chaos never kills (serve runs --workers=false)")

	fs.IntVar(&c.Cluster, "cluster", 0, "with -intake: start this many \"intake serve --workers=false\" on free ports, one \"intake worker\" and HAProxy at -url in front of them; with -chaos, the SIGKILLs go to the nodes in turn and a rolling restart of every node follows, during which no request may fail")
	fs.StringVar(&c.HAProxy, "haproxy", "haproxy", "with -cluster: the HAProxy binary (Debian: apt-get install haproxy)")
	fs.BoolVar(&c.Webhooks, "webhooks", false, "register a loopback receiver as the form's webhook endpoint (Intake needs INTAKE_WEBHOOK_ALLOW_PRIVATE=true), wait for River after the load and check every delivery")
	fs.DurationVar(&c.Drain, "drain", 3*time.Minute, "with -webhooks or -chaos: wait up to this long for River to finish the run's jobs")

	fs.BoolVar(&c.Chaos, "chaos", false, "chaos mode (needs -intake): SIGKILL and restart Intake -kills times, restart Postgres with -pg-restart, stall the webhook receiver for -stall; implies -webhooks")
	fs.IntVar(&c.Kills, "kills", 3, "with -chaos: SIGKILLs of Intake (each restarted at once), spread from 15 % to 45 % of -duration")
	fs.DurationVar(&c.Stall, "stall", 10*time.Second, "with -chaos: how long the receiver holds every delivery before it answers (0: no stall); above Intake's 15 s webhook timeout attempts fail, and a second failure waits 5 min")
	fs.StringVar(&c.PGRestart, "pg-restart", "", "with -chaos: shell command that restarts Postgres, run at 60 % of -duration, e.g. 'pg_ctlcluster --skip-systemctl-redirect 15 main restart' (default: no restart)")

	fs.Func("sweep", "`LIST` of concurrencies, e.g. 1,2,4,8,16,32,64,128: the load at each in turn for -step against the same server, then a table", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("%q: want positive whole numbers separated by commas", f)
			}
			c.Sweep = append(c.Sweep, n)
		}
		return nil
	})
	fs.DurationVar(&c.Step, "step", 10*time.Second, "with -sweep: how long each concurrency runs")
	fs.StringVar(&c.Plot, "plot", "", "with -sweep: write an SVG plot of throughput and p99 against concurrency to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.Chaos {
		c.Webhooks = true
		if !set["retry-for"] {
			c.RetryFor = time.Minute
		}
	}
	return c, c.validate(set)
}

func (c *Config) validate(set map[string]bool) error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("-url %q: want an absolute http(s) URL", c.URL))
	} else if c.Intake != "" && (u.Scheme != "http" || u.Port() == "") {
		errs = append(errs, fmt.Errorf("-url %q: with -intake, want http://host:port, the address Intake is started on", c.URL))
	}
	c.URL = strings.TrimSuffix(c.URL, "/")
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("-concurrency: want at least 1"))
	}
	if c.Count < 0 || (c.Count == 0 && c.Duration <= 0) {
		errs = append(errs, errors.New("want a positive -count or -duration"))
	}
	if c.Payload < 0 || c.Payload > 1800 {
		// The contact contract allows 2000 characters of message.
		errs = append(errs, errors.New("-payload: want 0..1800 bytes"))
	}
	if c.Dup < 0 {
		errs = append(errs, errors.New("-dup: want 0 or more"))
	}
	if c.Browser < 0 || c.Browser > 1 {
		errs = append(errs, errors.New("-browser: want a share between 0 and 1"))
	}
	if c.RetryFor < 0 || c.Drain <= 0 {
		errs = append(errs, errors.New("-retry-for: want 0 or more; -drain: want more than 0"))
	}
	if c.Intake != "" && c.IntakePID != 0 {
		errs = append(errs, errors.New("-intake starts Intake, -intake-pid names one started elsewhere: give one of them"))
	}
	if c.Cluster < 0 || c.Cluster > 9 {
		errs = append(errs, errors.New("-cluster: want 0 (none) to 9 nodes"))
	}
	if c.Cluster > 0 {
		c.SeparateWorker = true
	}
	for _, name := range []string{"intake-env", "intake-log", "separate-worker", "cluster"} {
		if set[name] && c.Intake == "" {
			errs = append(errs, fmt.Errorf("-%s: only with -intake", name))
		}
	}
	if c.Webhooks && c.Form != "" {
		errs = append(errs, errors.New("-webhooks and -chaos register the receiver with an API key the bench makes for its own form: leave -form empty"))
	}
	if c.Chaos {
		if c.Intake == "" {
			errs = append(errs, errors.New("-chaos: needs -intake (the bench must start Intake to SIGKILL and restart it), e.g. -intake bin/intake"))
		}
		if c.Count > 0 {
			errs = append(errs, errors.New("-chaos: the faults are timed against -duration; use it instead of -count"))
		}
		if c.Kills < 0 || c.Stall < 0 {
			errs = append(errs, errors.New("-kills, -stall: want 0 or more"))
		}
	}
	for _, name := range []string{"kills", "stall", "pg-restart"} {
		if set[name] && !c.Chaos {
			errs = append(errs, fmt.Errorf("-%s: only with -chaos", name))
		}
	}
	if len(c.Sweep) > 0 {
		if c.Chaos || c.Webhooks || c.Count > 0 {
			errs = append(errs, errors.New("-sweep: runs plain load for -step at each concurrency; not with -chaos, -webhooks or -count"))
		}
		if c.Step <= 0 {
			errs = append(errs, errors.New("-step: want a positive duration"))
		}
	}
	for _, name := range []string{"step", "plot"} {
		if set[name] && len(c.Sweep) == 0 {
			errs = append(errs, fmt.Errorf("-%s: only with -sweep", name))
		}
	}
	return errors.Join(errs...)
}

// waitReady polls u until it answers 200, for up to d (0: not at all).
func waitReady(ctx context.Context, u string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for !isReady(ctx, u) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready within %s", u, d)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// isReady reports whether u answers 200 now.
func isReady(ctx context.Context, u string) bool {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func describeAmount(cfg Config) string {
	if cfg.Count > 0 {
		return fmt.Sprintf("%d intents", cfg.Count)
	}
	return cfg.Duration.String()
}

// lockedWriter lets the chaos faults report while the rest of the run does.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
