package main

import (
	"context"
	"fmt"

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

	Jobs         int      // River jobs of the run's submissions
	JobsExpected int      // what the form's notifications make of them
	JobsWrong    []string // submissions with another number of jobs (must be none)
}

// Good reports whether every acknowledged intent is stored exactly once,
// no intent twice, each with its expected jobs, and every client saw one
// answer per intent.
func (v *Verdict) Good() bool {
	return len(v.Missing) == 0 && len(v.Duplicated) == 0 && len(v.Unknown) == 0 &&
		len(v.Inconsistent) == 0 && len(v.JobsWrong) == 0
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
	SELECT args->>'submission_id' AS submission_id, count(*) AS n
	FROM river_job
	WHERE args ? 'submission_id'
	GROUP BY 1
)
SELECT s.token, s.spam, coalesce(j.n, 0)
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
	v := &Verdict{Intents: len(intents)}
	for rows.Next() {
		var token *string
		var spam bool
		var jobs int
		if err := rows.Scan(&token, &spam, &jobs); err != nil {
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
		v.Submissions++
		v.Jobs += jobs
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
	return v, nil
}
