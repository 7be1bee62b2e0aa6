// Package retry is the one retry policy of Intake's workers: webhook
// deliveries and emails wait out an outage on the same multi-day schedule,
// the one the README promises receivers ("Notifications: webhooks and
// email"); River's default would give up after about four hours.
package retry

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/intakehq/intake/database"
	"github.com/riverqueue/river/rivertype"
)

// Standard is Standard Webhooks' retry schedule: the wait after each failed
// attempt (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h — ten
// attempts over about three days).
var Standard = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// Policy waits, after a job's nth failed attempt, the nth wait of its
// Schedule (the last one past its end), give or take 10 % so that jobs
// failed together do not all come back together. It implements River's
// ClientRetryPolicy, so a worker's NextRetry is one call to it.
type Policy struct {
	// Schedule is the wait after each failed attempt; nil is Standard.
	Schedule []time.Duration
}

// Delay is the wait after the attempt-th failed attempt (counting from 1),
// jitter included.
func (p Policy) Delay(attempt int) time.Duration {
	s := p.Schedule
	if s == nil {
		s = Standard
	}
	d := s[min(max(attempt-1, 0), len(s)-1)]
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// NextRetry implements river.ClientRetryPolicy: when the job's latest
// failed attempt is tried again.
func (p Policy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.Delay(job.Attempt))
}

// RecordWait is how long a worker keeps trying to record an outcome that
// already happened — a webhook answered 2xx, an email the server took —
// while the database cannot take it (a restart takes seconds): a record
// lost would make the job's next attempt send it again.
const RecordWait = 30 * time.Second

// Record runs record until it succeeds, ctx ends or limit passes (from
// now, whatever ctx's own deadline: the outcome is real even when the job
// is being stopped), backing off from 100 ms to 2 s; failed is told of
// each failure but the last. A statement the database refuses for what it
// is (database.IsRefused) is not tried again: it cannot succeed. It
// returns record's last error.
func Record(ctx context.Context, limit time.Duration, record func(context.Context) error, failed func(error)) error {
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	backoff := 100 * time.Millisecond
	for {
		err := record(rec)
		if err == nil || rec.Err() != nil || database.IsRefused(err) {
			return err
		}
		if failed != nil {
			failed(err)
		}
		select {
		case <-rec.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
