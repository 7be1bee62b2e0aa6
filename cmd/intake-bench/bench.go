package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// bench is one run of the command: the server under test, its database
// and form, and, as the mode needs them, the Intake it supervises and the
// webhook receiver.
type bench struct {
	cfg      Config
	out      io.Writer
	pool     *pgxpool.Pool
	target   *target
	nodes    []*process // intake serve, with -intake: one, or -cluster of them
	worker   *process   // intake worker, with -separate-worker or -cluster
	balancer *process   // HAProxy in front of the nodes, with -cluster
	// balancerSocket is HAProxy's stats socket, with -cluster.
	balancerSocket string
	// rolled is when the rolling restart of the cluster ran (-cluster
	// -chaos): no request may fail then.
	rolled   [2]time.Time
	receiver *receiver // with -webhooks (and -chaos)
	log      *os.File  // the supervised processes' output

	rescueAfter string // the supervised Intake's INTAKE_RESCUE_STUCK_JOBS_AFTER, for the drain's hints
}

// stopGrace is how long a supervised process gets between SIGTERM and
// SIGKILL: above Intake's own 25 s drain.
const stopGrace = 35 * time.Second

// run prepares what the mode needs, runs it, prints the report and returns
// whether the verdict was good.
func run(ctx context.Context, cfg Config, out io.Writer) (bool, error) {
	b := &bench{cfg: cfg, out: out}
	defer b.close()
	if err := b.prepare(ctx); err != nil {
		return false, err
	}
	if len(cfg.Sweep) > 0 {
		return b.sweep(ctx)
	}
	return b.load(ctx)
}

// prepare starts the receiver and the supervised Intake when asked for,
// connects to the database and makes (or finds) the form under load.
func (b *bench) prepare(ctx context.Context) error {
	cfg := b.cfg
	if cfg.Webhooks {
		r, err := startReceiver()
		if err != nil {
			return err
		}
		b.receiver = r
	}
	if cfg.Intake != "" {
		if err := b.startIntake(ctx); err != nil {
			return err
		}
	} else if err := waitReady(ctx, cfg.URL+"/readyz", cfg.Wait); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	b.pool = pool
	if b.target, err = prepareForm(ctx, pool, cfg.Form); err != nil {
		return err
	}
	t := b.target
	if t.created {
		fmt.Fprintf(b.out, "created form %s (user %s, API key %s…)\n", t.publicID, t.email, t.keyPrefix)
	}
	if b.receiver == nil {
		return nil
	}
	if err := registerReceiver(ctx, cfg.URL, t, b.receiver); err != nil {
		return err
	}
	if err := recountJobs(ctx, pool, t); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "webhook receiver %s registered as the form's endpoint (%d jobs per submission)\n", b.receiver.url, t.jobs)
	return nil
}

// startIntake starts intake serve (and with -separate-worker intake
// worker) on -url's address and -database-url, and waits until it is ready.
func (b *bench) startIntake(ctx context.Context) error {
	cfg := b.cfg
	path := cfg.IntakeLog
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("intake-bench-%d.log", os.Getpid()))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("-intake-log: %w", err)
	}
	b.log = f
	env, settings := b.intakeEnv()
	if cfg.Cluster > 0 {
		return b.startCluster(ctx, env, settings, path)
	}
	serveArgs := []string{"serve"}
	if cfg.SeparateWorker {
		serveArgs = append(serveArgs, "--workers=false")
	}
	serve := &process{name: "intake serve", bin: cfg.Intake, args: serveArgs, env: env, log: f, ready: cfg.URL + "/readyz"}
	b.nodes = []*process{serve}
	if err := serve.start(ctx, max(cfg.Wait, restartWait)); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "started %s (pid %d) at %s with %s; its output in %s\n",
		strings.Join(append([]string{cfg.Intake}, serveArgs...), " "), serve.pid(), cfg.URL, settings, path)
	if !cfg.SeparateWorker {
		return nil
	}
	b.worker = &process{name: "intake worker", bin: cfg.Intake, args: []string{"worker"}, env: env, log: f}
	if err := b.worker.start(ctx, 0); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "started %s worker (pid %d): River's workers, which chaos leaves alone\n", cfg.Intake, b.worker.pid())
	return nil
}

// intakeEnv is the supervised Intake's environment: the bench's own, what
// the bench needs, then -intake-env. It also returns the settings the
// bench made, for the report.
func (b *bench) intakeEnv() (env []string, settings string) {
	cfg := b.cfg
	u, _ := url.Parse(cfg.URL) // validated
	own := []string{"INTAKE_SUBMIT_RATE_LIMIT=0", "INTAKE_LOG_LEVEL=warn"}
	if cfg.Webhooks {
		own = append(own, "INTAKE_WEBHOOK_ALLOW_PRIVATE=true")
	}
	if cfg.Chaos {
		own = append(own, "INTAKE_RESCUE_STUCK_JOBS_AFTER="+chaosRescueAfter)
	}
	own = append(own, cfg.IntakeEnv...)
	b.rescueAfter = "2m (Intake's default)"
	for _, kv := range own {
		if v, ok := strings.CutPrefix(kv, "INTAKE_RESCUE_STUCK_JOBS_AFTER="); ok {
			b.rescueAfter = v
		}
	}
	// Later entries win (os/exec keeps the last of a duplicated key).
	env = append(os.Environ(), "DATABASE_URL="+cfg.DatabaseURL, "INTAKE_ADDR="+u.Host, "INTAKE_BASE_URL="+cfg.URL)
	return append(env, own...), strings.Join(own, " ")
}

// close stops what the bench started: Intake first (with SIGTERM, so its
// jobs end cleanly), then the receiver, the pool and the log.
func (b *bench) close() {
	for _, p := range append([]*process{b.balancer, b.worker}, b.nodes...) {
		if p == nil {
			continue
		}
		if err := p.stop(stopGrace); err != nil {
			fmt.Fprintf(b.out, "stopping %s: %v\n", p.name, err)
		}
	}
	if b.balancerSocket != "" {
		os.Remove(b.balancerSocket)
	}
	if b.receiver != nil {
		b.receiver.close()
	}
	if b.pool != nil {
		b.pool.Close()
	}
	if b.log != nil {
		b.log.Close()
	}
}

// load runs the load once (with -chaos, under faults), waits for River
// when the webhooks are checked, and prints the report and the verdict.
func (b *bench) load(ctx context.Context) (bool, error) {
	cfg := b.cfg
	fmt.Fprintf(b.out, "load: %s/f/%s, %d clients, %s, payload %d B, dup 0..%d, browser %.0f%%%s\n",
		cfg.URL, b.target.publicID, cfg.Concurrency, describeAmount(cfg), cfg.Payload, cfg.Dup, cfg.Browser*100, describeRetry(cfg))
	faults := make(chan error, 1)
	if cfg.Chaos {
		plan := b.chaosPlan()
		if len(plan) > 0 {
			fmt.Fprintf(b.out, "chaos: %d faults, the last at +%s\n", len(plan), plan[len(plan)-1].at.Round(100*time.Millisecond))
		}
		start := time.Now()
		go func() { faults <- b.runFaults(ctx, start, plan) }()
	} else {
		faults <- nil
	}
	cpuBefore := b.sampleCPU()
	res, err := drive(ctx, cfg, b.target.publicID)
	loadEnd := time.Now()
	faultErr := <-faults
	if err != nil {
		return false, err
	}
	printLoad(b.out, res)
	if cfg.Webhooks {
		b.drain(ctx, res.runID)
	}

	v, err := Check(ctx, b.pool, b.target, res.intents, res.runID)
	if err != nil {
		return false, fmt.Errorf("verdict: %w", err)
	}
	v.Drained = cfg.Webhooks
	if b.receiver != nil {
		v.CheckWebhooks(b.receiver.snapshot())
	}
	v.Crashes = b.crashes()
	v.RollingFailures, v.RollingTook, v.Rolled = b.rollingFailures(res)

	if cfg.Ceiling || cfg.CeilingMinimal {
		settled, done := b.settle(ctx)
		rates := ratesOf(res, v, settled, loadEnd, done)
		printSustained(b.out, rates)
		printCPU(b.out, cpuBefore, b.sampleCPU(), v.Submissions, done)
		if cfg.Ceiling {
			c, err := ceiling(ctx, b.pool, b.target, cfg, res.runID)
			if err != nil {
				return false, fmt.Errorf("ceiling: %w", err)
			}
			printCeiling(b.out, rates, c)
		}
		if cfg.CeilingMinimal {
			m, err := minimalCeiling(ctx, cfg.DatabaseURL, cfg.Concurrency, cfg.Duration)
			if err != nil {
				return false, fmt.Errorf("minimal ceiling: %w", err)
			}
			printMinimal(b.out, rates, m)
		}
	}
	b.printMemory()
	printVerdict(b.out, v)
	if faultErr != nil {
		return false, fmt.Errorf("chaos: %w", faultErr)
	}
	return v.Good(), nil
}

func describeRetry(cfg Config) string {
	if cfg.RetryFor <= 0 {
		return ""
	}
	return fmt.Sprintf(", clients retry for up to %s", cfg.RetryFor)
}

// processes are the processes the bench supervises: the nodes, the
// worker, the balancer.
func (b *bench) processes() []*process {
	var all []*process
	for _, p := range append(append([]*process{}, b.nodes...), b.worker, b.balancer) {
		if p != nil {
			all = append(all, p)
		}
	}
	return all
}

// jobRunner is the process that works River's jobs: the worker, or the
// only node.
func (b *bench) jobRunner() *process {
	if b.worker != nil {
		return b.worker
	}
	if len(b.nodes) > 0 {
		return b.nodes[0]
	}
	return nil
}

// crashes are the supervised processes' exits nobody asked for.
func (b *bench) crashes() []string {
	var all []string
	for _, p := range b.processes() {
		all = append(all, p.unplannedExits()...)
	}
	return all
}

// printMemory reports the peak RSS of the supervised Intake (every run of
// it) or of -intake-pid.
func (b *bench) printMemory() {
	switch {
	case len(b.nodes) > 0:
		fmt.Fprintln(b.out)
		for _, p := range b.processes() {
			fmt.Fprintf(b.out, "memory: %s peak RSS (VmHWM) %s\n", p.name, describePeaks(p.peakRSSes()))
		}
	case b.cfg.IntakePID != 0:
		peak, err := peakRSS(b.cfg.IntakePID)
		if err != nil {
			fmt.Fprintf(b.out, "\nmemory: no peak RSS for pid %d (-intake-pid wants an Intake running on this machine): %v\n", b.cfg.IntakePID, err)
			return
		}
		fmt.Fprintf(b.out, "\nmemory: intake (pid %d) peak RSS (VmHWM) %s\n", b.cfg.IntakePID, mib(peak))
	}
}

// describePeaks is the highest peak, and each run's when there were several.
func describePeaks(peaks []int64) string {
	if len(peaks) == 0 {
		return "unknown"
	}
	top := peaks[0]
	parts := make([]string, len(peaks))
	for i, p := range peaks {
		top = max(top, p)
		parts[i] = mib(p)
	}
	if len(peaks) == 1 {
		return mib(top)
	}
	return fmt.Sprintf("%s, the highest of its %d runs (%s)", mib(top), len(peaks), strings.Join(parts, ", "))
}

func mib(bytes int64) string {
	if bytes <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20))
}

// settleFor bounds the wait for Intake's workers before a measurement.
const settleFor = 4 * time.Minute

// settle waits (at most settleFor) until Intake's workers have worked
// every job the load made: the ceiling, or the next sweep step, must not
// share the database with the email backlog of the run before it, which
// would lower its rate (and flatter Intake's ratio to it).
//
// It returns when it found no open job, and true; or when it gave up, and
// false.
func (b *bench) settle(ctx context.Context) (time.Time, bool) {
	const q = `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable') AND queue <> $1`
	start, moved := time.Now(), time.Now()
	said, last := false, -1
	for {
		var open int
		if err := b.pool.QueryRow(ctx, q, ceilingQueue).Scan(&open); err != nil || open == 0 {
			if said {
				fmt.Fprintf(b.out, "settled after %s\n", time.Since(start).Round(100*time.Millisecond))
			}
			return time.Now(), err == nil
		}
		if !said {
			fmt.Fprintf(b.out, "waiting for Intake's workers to finish the run's %d open jobs (at most %s) before measuring on\n", open, settleFor)
			said = true
		}
		if open != last {
			last, moved = open, time.Now()
		}
		if time.Since(moved) > 3*time.Second {
			fmt.Fprintf(b.out, "%d open jobs, none worked for 3 s (intake serve --workers=false?); measuring on\n", open)
			return time.Now(), false
		}
		if time.Since(start) > settleFor || ctx.Err() != nil {
			fmt.Fprintf(b.out, "still %d open jobs after %s; measuring anyway\n", open, settleFor)
			return time.Now(), false
		}
		time.Sleep(250 * time.Millisecond)
	}
}
