package submissions

import (
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/forms"
)

// Planner decides which jobs a submission enqueues — its webhook deliveries
// and emails. The jobs are written with the submission, in its one
// transaction, so a submission exists if and only if its jobs do.
type Planner interface {
	// Prepare queues on b — the batch that reads the form named by its
	// public id, before the submission is written — the reads the plan
	// needs. The function it returns runs after b has been read and returns
	// the jobs of one submission to that form.
	Prepare(b *pgx.Batch, formPublicID string) func(form *forms.Form, sub *Submission) ([]river.InsertManyParams, error)
}

// wakeups limits the notifications to one per queue per wakeInterval, as
// River's own insert does: a notifying transaction takes a lock shared by
// all of them at commit, and the workers need only one nudge to fetch.
type wakeups struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// wakeInterval is River's default FetchCooldown, the limit it uses.
const wakeInterval = 100 * time.Millisecond

// due returns the payloads of the queues among queues not notified in the
// last wakeInterval, and marks them notified at now.
func (w *wakeups) due(queues []string, now time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[string]time.Time{}
	}
	var payloads []string
	for _, q := range queues {
		if now.Sub(w.last[q]) < wakeInterval {
			continue
		}
		w.last[q] = now
		payloads = append(payloads, fmt.Sprintf(`{"queue": %q}`, q))
	}
	return payloads
}

// forget undoes due's marks made at now, for a wake-up that was not sent.
func (w *wakeups) forget(queues []string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, q := range queues {
		if w.last[q].Equal(now) {
			delete(w.last, q)
		}
	}
}
