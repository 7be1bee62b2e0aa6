package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// runJobStatesSQL counts the River jobs of a run's submissions by state.
const runJobStatesSQL = `
SELECT state::text, count(*)
FROM river_job
WHERE args ? 'submission_id' AND args->>'submission_id' IN (
	SELECT id::text FROM submissions WHERE form_id = $1 AND strpos(data->>'message', $2) > 0)
GROUP BY 1`

// finalStates are the River job states nothing moves a job out of by itself.
var finalStates = map[string]bool{"completed": true, "cancelled": true, "discarded": true}

// jobStates counts the run's jobs by state.
func jobStates(ctx context.Context, db *pgxpool.Pool, formID int64, runID string) (map[string]int, error) {
	rows, err := db.Query(ctx, runJobStatesSQL, formID, "ib"+runID+"-")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	states := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		states[state] = n
	}
	return states, rows.Err()
}

// describeStates is "running 3, retryable 1" for the states not final.
func describeStates(states map[string]int) (open int, desc string) {
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(states)) {
		if !finalStates[s] {
			open += states[s]
			parts = append(parts, fmt.Sprintf("%s %d", s, states[s]))
		}
	}
	return open, strings.Join(parts, ", ")
}

// drainProgressEvery is how often the wait for River says where it is.
const drainProgressEvery = 5 * time.Second

// drain waits, up to -drain, until every job of the run is in a final
// state, saying every few seconds how many are left. It gives up early
// when the supervised Intake is not running (nothing would work the jobs).
// Whatever is left is for the verdict to judge.
func (b *bench) drain(ctx context.Context, runID string) {
	start := time.Now()
	fmt.Fprintf(b.out, "\ndrain: waiting up to %s for River to finish the run's jobs\n", b.cfg.Drain)
	var lastSaid time.Time
	var lastErr error
	for {
		states, err := jobStates(ctx, b.pool, b.target.id, runID)
		if err == nil {
			open, desc := describeStates(states)
			total := 0
			for _, n := range states {
				total += n
			}
			if open == 0 {
				fmt.Fprintf(b.out, "drain: all %d jobs done after %s\n", total, since(start))
				return
			}
			if time.Since(lastSaid) >= drainProgressEvery {
				fmt.Fprintf(b.out, "drain: %s: %d of %d jobs not done (%s)%s\n", since(start), open, total, desc, b.rescueHint(states))
				lastSaid = time.Now()
			}
		} else if lastErr == nil || err.Error() != lastErr.Error() {
			fmt.Fprintf(b.out, "drain: cannot read the jobs (yet): %v\n", err)
		}
		lastErr = err
		if p := b.jobRunner(); p != nil && !p.running() {
			fmt.Fprintf(b.out, "drain: %s is not running, so nothing works the jobs: stopped waiting (see its log %s)\n", p.name, p.log.Name())
			return
		}
		if time.Since(start) > b.cfg.Drain {
			fmt.Fprintf(b.out, "drain: gave up after %s\n", b.cfg.Drain)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// rescueHint explains jobs left running when nothing else is left after
// a SIGKILL: they belong to a dead process until River's rescuer (on the
// leader, every 30 s) gives them back.
func (b *bench) rescueHint(states map[string]int) string {
	open, _ := describeStates(states)
	if !b.cfg.Chaos || b.cfg.Kills == 0 || b.cfg.SeparateWorker || states["running"] == 0 || open != states["running"] {
		return ""
	}
	return fmt.Sprintf("; jobs a SIGKILL caught mid-run wait for River's rescue: INTAKE_RESCUE_STUCK_JOBS_AFTER (%s) after they started, plus up to 30 s", b.rescueAfter)
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
