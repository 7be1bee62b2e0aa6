package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// sweepRow is the load at one concurrency.
type sweepRow struct {
	clients  int
	intents  float64       // acknowledged intents per second
	p50, p99 time.Duration // of requests that made a submission
	ceiling  float64       // naive SQL submissions per second at the same concurrency; 0 without -ceiling
	good     bool          // the verdict of this step
}

// sweep runs the load at each -sweep concurrency for -step against the
// same server and form, each step judged on its own, then prints a table
// and draws the plot.
func (b *bench) sweep(ctx context.Context) (bool, error) {
	cfg := b.cfg
	fmt.Fprintf(b.out, "sweep: %s/f/%s, clients %s, %s each, payload %d B, dup 0..%d, browser %.0f%%%s\n",
		cfg.URL, b.target.publicID, joinInts(cfg.Sweep), cfg.Step, cfg.Payload, cfg.Dup, cfg.Browser*100, describeRetry(cfg))
	var rows []sweepRow
	good := true
	for _, n := range cfg.Sweep {
		row, err := b.sweepStep(ctx, n)
		if err != nil {
			return false, fmt.Errorf("sweep at %d clients: %w", n, err)
		}
		good = good && row.good
		rows = append(rows, row)
	}
	printSweep(b.out, rows, cfg.Ceiling)
	if cfg.Plot != "" {
		caption := fmt.Sprintf("intake-bench -sweep %s -step %s; payload %d B, dup 0..%d, browser %.0f%%; %s, %d CPUs",
			joinInts(cfg.Sweep), cfg.Step, cfg.Payload, cfg.Dup, cfg.Browser*100, time.Now().Format(time.DateOnly), runtime.NumCPU())
		if err := os.WriteFile(cfg.Plot, plotSVG(rows, caption), 0o644); err != nil {
			return false, fmt.Errorf("-plot: %w", err)
		}
		fmt.Fprintf(b.out, "plot: %s\n", cfg.Plot)
	}
	b.printMemory()
	fmt.Fprintln(b.out)
	if good {
		fmt.Fprintln(b.out, "VERDICT: GOOD — at every concurrency, every acknowledged intent stored exactly once, none twice, with its jobs")
	} else {
		fmt.Fprintln(b.out, "VERDICT: BAD — see the steps marked BAD above")
	}
	return good, nil
}

// sweepStep runs one concurrency (and its ceiling) and says how it went.
func (b *bench) sweepStep(ctx context.Context, clients int) (sweepRow, error) {
	cfg := b.cfg
	cfg.Concurrency, cfg.Duration = clients, cfg.Step
	b.settle(ctx) // the last step's jobs are not this step's load
	res, err := drive(ctx, cfg, b.target.publicID)
	if err != nil {
		return sweepRow{}, err
	}
	v, err := Check(ctx, b.pool, b.target, res.intents, res.runID)
	if err != nil {
		return sweepRow{}, fmt.Errorf("verdict: %w", err)
	}
	row := sweepRow{clients: clients, intents: float64(res.acknowledged()) / res.elapsed.Seconds(), good: v.Good()}
	if made := slices.Sorted(slices.Values(res.latency[classNew])); len(made) > 0 {
		row.p50, row.p99 = pct(made, 50), pct(made, 99)
	}
	verdict := "GOOD"
	if !row.good {
		verdict = "BAD"
	}
	line := fmt.Sprintf("%4d clients: %.0f intents/s, p50 %s, p99 %s", clients, row.intents, ms(row.p50), ms(row.p99))
	if cfg.Ceiling {
		b.settle(ctx)
		c, err := ceiling(ctx, b.pool, b.target, cfg, res.runID)
		if err != nil {
			return sweepRow{}, fmt.Errorf("ceiling: %w", err)
		}
		row.ceiling = c.rate()
		line += fmt.Sprintf(", ceiling %.0f/s", row.ceiling)
	}
	fmt.Fprintf(b.out, "%s; verdict %s\n", line, verdict)
	if !row.good {
		printVerdict(b.out, v)
	}
	return row, nil
}

func printSweep(out io.Writer, rows []sweepRow, withCeiling bool) {
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "clients\tintents/s\tp50 new\tp99 new\t"
	if withCeiling {
		head += "ceiling/s\t× ceiling\t"
	}
	fmt.Fprintln(w, head+"verdict\t")
	for _, r := range rows {
		line := fmt.Sprintf("%d\t%.0f\t%s\t%s\t", r.clients, r.intents, ms(r.p50), ms(r.p99))
		if withCeiling {
			line += fmt.Sprintf("%.0f\t%.2f\t", r.ceiling, r.intents/r.ceiling)
		}
		verdict := "GOOD"
		if !r.good {
			verdict = "BAD"
		}
		fmt.Fprintln(w, line+verdict+"\t")
	}
	w.Flush()
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
