package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// chaosRescueAfter is INTAKE_RESCUE_STUCK_JOBS_AFTER for the Intake chaos
// starts: jobs a SIGKILL catches mid-run are run again after it (and
// River's rescuer tick, every 30 s), so the drain can see them complete.
const chaosRescueAfter = "1m"

// Chaos timing, as shares of -duration: the receiver stalls first, the
// kills follow, Postgres restarts last. The last fault is well before the
// end, so the jobs it fails are retried (5 s later) or rescued while the
// load runs on calmly: a job that failed twice would wait 5 minutes for its
// third attempt, longer than the run.
const (
	stallAt     = 0.10
	firstKillAt = 0.15
	lastKillAt  = 0.45
	pgRestartAt = 0.60

	// With -cluster: the kills end earlier, and the rolling restart
	// follows, before Postgres restarts.
	clusterLastKillAt = 0.25
	rollingAt         = 0.30
)

// Bounds on the faults' own steps.
const (
	restartWait    = time.Minute     // for a restarted Intake to be ready
	pgRestartLimit = 2 * time.Minute // for the -pg-restart command
)

// fault is one thing chaos does to the system, at a time into the load.
type fault struct {
	at time.Duration
	do func(ctx context.Context) (string, error) // what happened, for the report
}

// chaosPlan lays out the faults of cfg over the load.
func (b *bench) chaosPlan() []fault {
	d := b.cfg.Duration
	share := func(f float64) time.Duration { return time.Duration(f * float64(d)) }
	var plan []fault
	if b.cfg.Stall > 0 {
		plan = append(plan,
			fault{at: share(stallAt), do: b.stallReceiver},
			fault{at: share(stallAt) + b.cfg.Stall, do: b.releaseReceiver})
	}
	first, last := firstKillAt, lastKillAt
	if b.cfg.Cluster > 0 {
		// The kills first, then the rolling restart, each on its own.
		last = clusterLastKillAt
		plan = append(plan, fault{at: share(rollingAt), do: b.rollingRestart})
	}
	for i := range b.cfg.Kills {
		at := share(first)
		if b.cfg.Kills > 1 {
			at += time.Duration(float64(i) / float64(b.cfg.Kills-1) * float64(share(last-first)))
		}
		node := b.nodes[i%len(b.nodes)]
		plan = append(plan, fault{at: at, do: func(ctx context.Context) (string, error) { return b.killNode(ctx, node) }})
	}
	if b.cfg.PGRestart != "" {
		plan = append(plan, fault{at: share(pgRestartAt), do: b.restartPostgres})
	}
	slices.SortStableFunc(plan, func(x, y fault) int { return int(x.at - y.at) })
	return plan
}

// runFaults runs plan, timed from start, printing each fault as it
// happens. A fault that fails (Intake does not come back, the Postgres
// command fails) is reported and the rest still run; the errors come back
// together.
func (b *bench) runFaults(ctx context.Context, start time.Time, plan []fault) error {
	var errs []error
	for _, f := range plan {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(start.Add(f.at))):
		}
		at := time.Since(start).Round(100 * time.Millisecond)
		what, err := f.do(ctx)
		if err != nil {
			errs = append(errs, err)
			what = "FAILED: " + err.Error()
		}
		fmt.Fprintf(b.out, "chaos +%-6s %s\n", at, what)
	}
	return errors.Join(errs...)
}

func (b *bench) stallReceiver(context.Context) (string, error) {
	b.receiver.stall()
	return "webhook receiver stalls: it holds every delivery unanswered", nil
}

func (b *bench) releaseReceiver(context.Context) (string, error) {
	n := b.receiver.release()
	return fmt.Sprintf("webhook receiver released: answered the %d deliveries it held", n), nil
}

// killNode SIGKILLs an intake serve and starts it again at once, as a
// supervisor would.
func (b *bench) killNode(ctx context.Context, node *process) (string, error) {
	pid, peak, err := node.kill()
	if err != nil {
		return "", err
	}
	start := time.Now()
	if err := node.start(ctx, restartWait); err != nil {
		return "", fmt.Errorf("restart after SIGKILL of pid %d: %w", pid, err)
	}
	return fmt.Sprintf("SIGKILL %s pid %d (peak RSS %s); pid %d ready after %s",
		node.name, pid, mib(peak), node.pid(), since(start)), nil
}

// rollingRestart restarts every node in turn as a deploy does: SIGTERM
// (its /readyz turns 503, the balancer takes it out, it drains), then
// start it again and wait until it is ready and the balancer sends to it
// again before the next. No request
// may fail meanwhile: the verdict counts those that did.
func (b *bench) rollingRestart(ctx context.Context) (string, error) {
	b.rolled[0] = time.Now()
	defer func() { b.rolled[1] = time.Now() }()
	var steps []string
	for i, node := range b.nodes {
		start := time.Now()
		pid := node.pid()
		if err := node.stop(stopGrace); err != nil {
			return "", err
		}
		stopped := since(start)
		if err := node.start(ctx, restartWait); err != nil {
			return "", fmt.Errorf("rolling restart: %w", err)
		}
		if err := b.balancerSees(ctx, i); err != nil {
			return "", fmt.Errorf("rolling restart: %w", err)
		}
		steps = append(steps, fmt.Sprintf("%s pid %d → %d (stopped in %s, ready after %s)", node.name, pid, node.pid(), stopped, since(start)))
	}
	return "rolling restart: " + strings.Join(steps, "; "), nil
}

// restartPostgres runs -pg-restart and waits for Intake to find the
// database again (its /readyz checks it).
func (b *bench) restartPostgres(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, pgRestartLimit)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(cctx, "sh", "-c", b.cfg.PGRestart).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("-pg-restart %q: %v: %s (is it the right command for this machine, and may this user run it?)",
			b.cfg.PGRestart, err, strings.TrimSpace(string(out)))
	}
	took := since(start)
	start = time.Now()
	rctx, cancel := context.WithTimeout(ctx, restartWait)
	defer cancel()
	for !isReady(rctx, b.cfg.URL+"/readyz") {
		select {
		case <-rctx.Done():
			return "", fmt.Errorf("Postgres restarted, but Intake's /readyz did not answer 200 within %s", restartWait)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Sprintf("Postgres restarted (%s, %s); intake ready again after %s", b.cfg.PGRestart, took, since(start)), nil
}
