package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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
	Wait        time.Duration // wait this long for Intake's /readyz first
}

const usage = `intake-bench — load, duplicates and a verdict against a running Intake.

Usage: intake-bench [flags]

Intake must run with INTAKE_SUBMIT_RATE_LIMIT=0: every request comes from one
address, and the default limit (30 a minute per address and form) would turn
the load into 429s. Exit status: 0 good verdict, 1 bad verdict or error,
2 usage.

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
	good, err := run(ctx, cfg, stdout)
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
	fs.StringVar(&c.URL, "url", "http://localhost:8080", "Intake's base URL")
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
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("-url %q: want an absolute http(s) URL", c.URL))
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
	return c, errors.Join(errs...)
}

// run drives the load, prints the report and returns whether the verdict
// was good.
func run(ctx context.Context, cfg Config, out io.Writer) (bool, error) {
	if err := waitReady(ctx, cfg.URL+"/readyz", cfg.Wait); err != nil {
		return false, err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return false, fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	target, err := prepareForm(ctx, pool, cfg.Form)
	if err != nil {
		return false, err
	}
	if target.created {
		fmt.Fprintf(out, "created form %s (user %s, API key %s…)\n", target.publicID, target.email, target.keyPrefix)
	}

	fmt.Fprintf(out, "load: %s/f/%s, %d clients, %s, payload %d B, dup 0..%d, browser %.0f%%\n",
		cfg.URL, target.publicID, cfg.Concurrency, describeAmount(cfg), cfg.Payload, cfg.Dup, cfg.Browser*100)
	res, err := drive(ctx, cfg, target.publicID)
	if err != nil {
		return false, err
	}
	printLoad(out, res)

	v, err := Check(ctx, pool, target, res.intents, res.runID)
	if err != nil {
		return false, fmt.Errorf("verdict: %w", err)
	}
	printVerdict(out, v)

	if cfg.Ceiling {
		c, err := ceiling(ctx, pool, target, cfg, res.runID)
		if err != nil {
			return false, fmt.Errorf("ceiling: %w", err)
		}
		printCeiling(out, res, v, c)
	}
	return v.Good(), nil
}

// waitReady polls u until it answers 200, for up to d (0: not at all).
func waitReady(ctx context.Context, u string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready within %s", u, d)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func describeAmount(cfg Config) string {
	if cfg.Count > 0 {
		return fmt.Sprintf("%d intents", cfg.Count)
	}
	return cfg.Duration.String()
}
