package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func printLoad(out io.Writer, r *loadResult) {
	secs := r.elapsed.Seconds()
	fmt.Fprintf(out, "\nrequests  %d in %s = %.0f/s\n", r.requests(), r.elapsed.Round(time.Millisecond), float64(r.requests())/secs)
	fmt.Fprintf(out, "intents   %d = %.0f/s (%d acknowledged = %.0f/s)\n", len(r.intents), float64(len(r.intents))/secs,
		r.acknowledged(), float64(r.acknowledged())/secs)
	keys := make([]string, 0, len(r.statuses))
	for k := range r.statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, r.statuses[k]))
	}
	fmt.Fprintf(out, "statuses  %s\n", strings.Join(parts, ", "))
	if r.retries > 0 || r.gaveUp > 0 {
		fmt.Fprintf(out, "retries   %d requests repeated a failed one; %d sends gave up\n", r.retries, r.gaveUp)
	}
	if r.limited {
		fmt.Fprintln(out, "          429s: start Intake with INTAKE_SUBMIT_RATE_LIMIT=0, or the numbers measure its rate limit")
	}

	fmt.Fprintln(out, "\nlatency")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\tn\tp50\tp90\tp99\tmax\t")
	var all []time.Duration
	for _, l := range r.latency {
		all = append(all, l...)
	}
	row := func(name string, l []time.Duration) {
		if len(l) == 0 {
			return
		}
		slices.Sort(l)
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t\n", name, len(l), ms(pct(l, 50)), ms(pct(l, 90)), ms(pct(l, 99)), ms(l[len(l)-1]))
	}
	row("all requests", all)
	for c, l := range r.latency {
		row(classNames[c], l)
	}
	w.Flush()
}

// pct is the p-th percentile of sorted l, by nearest rank.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func printVerdict(out io.Writer, v *Verdict) {
	fmt.Fprintln(out)
	if v.Good() {
		fmt.Fprintf(out, "VERDICT: GOOD — %s\n", strings.Join(v.promises(), "; "))
	} else {
		fmt.Fprintln(out, "VERDICT: BAD")
	}
	fmt.Fprintf(out, "  intents %d, acknowledged %d, stored %d, submissions %d\n", v.Intents, v.Acknowledged, v.Stored, v.Submissions)
	problem(out, "acknowledged but missing", v.Missing)
	problem(out, "stored more than once", v.Duplicated)
	problem(out, "submissions of no intent", v.Unknown)
	problem(out, "different answers to one intent", v.Inconsistent)
	fmt.Fprintf(out, "  River jobs: %d for %d submissions, expected %d", v.Jobs, v.Submissions, v.JobsExpected)
	if v.Drained {
		fmt.Fprintf(out, "; %d completed", v.JobsCompleted)
	}
	fmt.Fprintln(out)
	problem(out, "submissions with the wrong number of jobs", v.JobsWrong)
	if v.Drained {
		problem(out, "jobs not completed after the wait", v.JobsOpen)
	}
	if w := v.Webhooks; w != nil {
		fmt.Fprintf(out, "  webhooks: %d of %d non-spam submissions arrived, in %d requests (%d submissions more than once)\n",
			w.Delivered, w.Expected, w.Arrivals, w.Repeated)
		problem(out, "submissions that never arrived", w.Missing)
		problem(out, "submissions under more than one webhook-id", w.Unstable)
		problem(out, "webhook-ids of more than one submission", w.Shared)
		problem(out, "requests whose signature, timestamp or body failed", w.BadRequest)
		problem(out, "requests of no stored non-spam submission", w.Unexpected)
	}
	if v.Crashes != nil || v.Drained {
		problem(out, "intake exits nobody asked for", v.Crashes)
	}
	if v.Rolled {
		fmt.Fprintf(out, "  rolling restart of every node (%s): %d requests failed meanwhile\n", v.RollingTook.Round(100*time.Millisecond), v.RollingFailures)
	}
}

// promises lists what a good verdict has shown.
func (v *Verdict) promises() []string {
	p := []string{"every acknowledged intent stored exactly once, none twice, with its jobs"}
	if v.Drained {
		p = append(p, "every job completed")
	}
	if v.Webhooks != nil {
		p = append(p, "every webhook arrived under one stable webhook-id, signed")
	}
	return p
}

func problem(out io.Writer, what string, list []string) {
	fmt.Fprintf(out, "  %s: %d", what, len(list))
	if len(list) > 0 {
		shown := list[:min(len(list), 5)]
		fmt.Fprintf(out, " (%s", strings.Join(shown, "; "))
		if len(list) > len(shown) {
			fmt.Fprint(out, "; …")
		}
		fmt.Fprint(out, ")")
	}
	fmt.Fprintln(out)
}

// rates are a load's two rates: during it, and sustained — its
// submissions over its duration plus the time until every job it caused
// was done.
type rates struct {
	submissions     int
	load, untilDone time.Duration
	done            bool // every job was done; else there is no sustained rate
}

func ratesOf(r *loadResult, v *Verdict, settled, loadEnd time.Time, done bool) rates {
	return rates{submissions: v.Submissions, load: r.elapsed, untilDone: max(0, settled.Sub(loadEnd)), done: done}
}

func (r rates) during() float64    { return float64(r.submissions) / r.load.Seconds() }
func (r rates) sustained() float64 { return float64(r.submissions) / (r.load + r.untilDone).Seconds() }

func printSustained(out io.Writer, r rates) {
	if !r.done {
		fmt.Fprintf(out, "\nintake %.0f/s during the load (%d submissions in %s); no sustained rate: their jobs were not all done\n",
			r.during(), r.submissions, r.load.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(out, "\nintake %.0f/s during the load, %.0f/s sustained (%d submissions in %s, every job they caused done %s later)\n",
		r.during(), r.sustained(), r.submissions, r.load.Round(time.Millisecond), r.untilDone.Round(100*time.Millisecond))
}

func printCeiling(out io.Writer, r rates, c ceilingResult) {
	fmt.Fprintf(out, "\nceiling: %d naive submissions in %s (%d errors)\n", c.submissions, c.elapsed.Round(time.Millisecond), c.errors)
	fmt.Fprintf(out, "intake %.0f/s = %.2f× the naive SQL ceiling of %.0f/s%s\n", r.during(), r.during()/c.rate(), c.rate(), r.sustainedRatio(c.rate()))
}

func printMinimal(out io.Writer, r rates, m minimalResult) {
	fmt.Fprintf(out, "\nminimal ceiling: pgbench, %d clients, the naive transaction on the minimal schema: %.0f/s\n", m.clients, m.tps)
	fmt.Fprintf(out, "intake %.0f/s = %.2f× the minimal ceiling of %.0f/s%s\n", r.during(), r.during()/m.tps, m.tps, r.sustainedRatio(m.tps))
}

// sustainedRatio is ", sustained R/s = X×" of ceiling, or "" without
// a sustained rate.
func (r rates) sustainedRatio(ceiling float64) string {
	if !r.done {
		return ""
	}
	return fmt.Sprintf(" (sustained %.0f/s = %.2f×)", r.sustained(), r.sustained()/ceiling)
}
