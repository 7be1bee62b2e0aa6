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

// Verdict is what the database says, after the load, about the intents of
// one run. Good reports whether Intake kept its promise.
type Verdict struct {
	Intents      int // intents sent
	Acknowledged int // intents that got a 2xx or 303 at least once
	Stored       int // intents with at least one submission
	Submissions  int // submissions carrying one of the run's tokens

	Missing      []string // acknowledged intents stored nowhere (must be none)
	Duplicated   []string // intents stored more than once (must be none)
	Unknown      []string // submissions whose token no intent has (must be none)
	Inconsistent []string // intents whose acknowledged answers differed (must be none)

	Jobs          int      // River jobs of the run's submissions
	JobsExpected  int      // what the form's notifications make of them
	JobsWrong     []string // submissions with another number of jobs (must be none)
	JobsCompleted int      // of Jobs, those River completed
	JobsOpen      []string // the others: "token: kind state (attempt n)"

	// Drained says the run waited for River: then every job must be
	// completed (JobsOpen must be empty).
	Drained bool
	// Webhooks judges what the receiver got; nil when no receiver ran.
	Webhooks *WebhookVerdict
	// Crashes are exits of a supervised Intake nobody asked for (must be none).
	Crashes []string
	// Rolled says a rolling restart of the cluster ran; RollingFailures
	// counts the requests that failed meanwhile (must be none).
	Rolled          bool
	RollingFailures int
	RollingTook     time.Duration

	spam map[string]bool // each stored token: whether it was stored as spam
}

// WebhookVerdict is what the webhook receiver got, judged against the
// run's submissions: every non-spam one arrived at least once, each under
// one webhook-id of its own, every request signed.
type WebhookVerdict struct {
	Expected  int // non-spam submissions of the run
	Delivered int // of them, those that arrived at least once
	Arrivals  int // requests the receiver took
	Repeated  int // submissions that arrived more than once (at-least-once at work)

	Missing    []string // non-spam submissions that never arrived (must be none)
	Unstable   []string // submissions that arrived under several webhook-ids (must be none)
	Shared     []string // webhook-ids that several submissions arrived under (must be none)
	BadRequest []string // requests whose signature, timestamp or body did not check out (must be none)
	Unexpected []string // arrivals of no stored non-spam submission of the run (must be none)
}

// Good reports whether every non-spam submission arrived, each under one
// webhook-id of its own, and every request checked out.
func (w *WebhookVerdict) Good() bool {
	return len(w.Missing) == 0 && len(w.Unstable) == 0 && len(w.Shared) == 0 &&
		len(w.BadRequest) == 0 && len(w.Unexpected) == 0
}

// Good reports whether every acknowledged intent is stored exactly once,
// no intent twice, each with its expected jobs, and every client saw one
// answer per intent; after a drain also whether every job completed; with
// a receiver whether the webhooks are good; and whether a supervised
// Intake only stopped when told to.
func (v *Verdict) Good() bool {
	return len(v.Missing) == 0 && len(v.Duplicated) == 0 && len(v.Unknown) == 0 &&
		len(v.Inconsistent) == 0 && len(v.JobsWrong) == 0 &&
		(!v.Drained || len(v.JobsOpen) == 0) &&
		(v.Webhooks == nil || v.Webhooks.Good()) && len(v.Crashes) == 0 && v.RollingFailures == 0
}

// The run's submissions with their River jobs. An intent's token is the
// first word of its message; strpos keeps to the run, the regular
// expression picks the token out. River's jobs name their submission in
// args.submission_id (emails and webhook deliveries alike).
const verdictSQL = `
WITH s AS (
	SELECT id, spam, substring(data->>'message' from $2) AS token
	FROM submissions
	WHERE form_id = $1 AND strpos(data->>'message', $3) > 0
), j AS (
	SELECT args->>'submission_id' AS submission_id, count(*) AS n,
		count(*) FILTER (WHERE state = 'completed') AS completed,
		array_agg(kind || ' ' || state || ' (attempt ' || attempt || ')') FILTER (WHERE state <> 'completed') AS open
	FROM river_job
	WHERE args ? 'submission_id'
	GROUP BY 1
)
SELECT s.token, s.spam, coalesce(j.n, 0), coalesce(j.completed, 0), coalesce(j.open, '{}')
FROM s LEFT JOIN j ON j.submission_id = s.id::text`

// Check reads the run's submissions and their jobs from the database and
// judges them against what the clients saw. It returns an error only when
// the database cannot be read.
func Check(ctx context.Context, db *pgxpool.Pool, t *target, intents []*intent, runID string) (*Verdict, error) {
	prefix := "ib" + runID + "-"
	rows, err := db.Query(ctx, verdictSQL, t.id, prefix+"[0-9]+", prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := map[string]int{}
	v := &Verdict{Intents: len(intents), spam: map[string]bool{}}
	for rows.Next() {
		var token *string
		var spam bool
		var jobs, completed int
		var open []string
		if err := rows.Scan(&token, &spam, &jobs, &completed, &open); err != nil {
			return nil, err
		}
		want := t.jobs
		if spam {
			want = t.spamJobs
		}
		name := "?"
		if token != nil {
			name = *token
		}
		stored[name]++
		v.spam[name] = spam
		v.Submissions++
		v.Jobs += jobs
		v.JobsCompleted += completed
		for _, o := range open {
			v.JobsOpen = append(v.JobsOpen, name+": "+o)
		}
		v.JobsExpected += want
		if jobs != want {
			v.JobsWrong = append(v.JobsWrong, fmt.Sprintf("%s: %d jobs, want %d", name, jobs, want))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	known := make(map[string]bool, len(intents))
	for _, in := range intents {
		known[in.token] = true
		n := stored[in.token]
		if in.acked {
			v.Acknowledged++
		}
		if n > 0 {
			v.Stored++
		}
		switch {
		case n == 0 && in.acked:
			v.Missing = append(v.Missing, in.token)
		case n > 1:
			v.Duplicated = append(v.Duplicated, fmt.Sprintf("%s: %d submissions", in.token, n))
		}
		if in.inconsistent {
			v.Inconsistent = append(v.Inconsistent, in.token)
		}
	}
	for token, n := range stored {
		if !known[token] {
			v.Unknown = append(v.Unknown, fmt.Sprintf("%s: %d submissions", token, n))
		}
	}
	slices.Sort(v.JobsOpen)
	slices.Sort(v.Unknown)
	return v, nil
}

// CheckWebhooks judges the receiver's arrivals against the run's stored
// submissions (Check must have read them) and sets v.Webhooks.
func (v *Verdict) CheckWebhooks(arrivals []arrival) {
	w := &WebhookVerdict{Arrivals: len(arrivals)}
	idsOf := map[string]map[string]bool{}    // token → webhook-ids
	tokensOf := map[string]map[string]bool{} // webhook-id → tokens
	add := func(m map[string]map[string]bool, k, v string) {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][v] = true
	}
	count := map[string]int{}
	for _, a := range arrivals {
		if a.problem != "" {
			w.BadRequest = append(w.BadRequest, fmt.Sprintf("%s (%s): %s", a.id, a.token, a.problem))
		}
		if spam, ok := v.spam[a.token]; !ok || spam {
			w.Unexpected = append(w.Unexpected, fmt.Sprintf("%s (token %q)", a.id, a.token))
			continue
		}
		count[a.token]++
		add(idsOf, a.token, a.id)
		add(tokensOf, a.id, a.token)
	}
	for token, spam := range v.spam {
		if spam {
			continue
		}
		w.Expected++
		switch n := count[token]; {
		case n == 0:
			w.Missing = append(w.Missing, token)
			continue
		case n > 1:
			w.Repeated++
		}
		w.Delivered++
		if ids := idsOf[token]; len(ids) > 1 {
			w.Unstable = append(w.Unstable, fmt.Sprintf("%s: %s", token, strings.Join(slices.Sorted(maps.Keys(ids)), ", ")))
		}
	}
	for id, tokens := range tokensOf {
		if len(tokens) > 1 {
			w.Shared = append(w.Shared, fmt.Sprintf("%s: %s", id, strings.Join(slices.Sorted(maps.Keys(tokens)), ", ")))
		}
	}
	for _, l := range [][]string{w.Missing, w.Unstable, w.Shared, w.BadRequest, w.Unexpected} {
		slices.Sort(l)
	}
	v.Webhooks = w
}
