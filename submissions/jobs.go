package submissions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

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

// River builds each job's row — its encoded args, queue, attempts and
// unique key — exactly as its own InsertManyTx would. The submission's jobs
// are then written by writeSQL, in the submission's own statement, instead
// of in a round trip of their own. The builder is an insert-only client with no
// database whose one middleware takes the finished rows and stops there.
var jobBuilder = sync.OnceValues(func() (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(nil), &river.Config{Middleware: []rivertype.Middleware{&captureRows{}}})
})

type capturedRowsKey struct{}

// captureRows is River insert middleware that hands the rows River built to
// the caller instead of inserting them (it deliberately never calls
// doInner: there is no database behind the builder).
type captureRows struct{ river.MiddlewareDefaults }

func (*captureRows) InsertMany(ctx context.Context, rows []*rivertype.JobInsertParams, _ func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	out, ok := ctx.Value(capturedRowsKey{}).(*[]*rivertype.JobInsertParams)
	if !ok {
		return nil, errors.New("submissions: the job builder was used without a destination")
	}
	*out = rows
	return make([]*rivertype.JobInsertResult, len(rows)), nil
}

// jobRows returns River's rows for jobs.
func jobRows(jobs []river.InsertManyParams) ([]*rivertype.JobInsertParams, error) {
	client, err := jobBuilder()
	if err != nil {
		return nil, fmt.Errorf("river job builder: %w", err)
	}
	var rows []*rivertype.JobInsertParams
	ctx := context.WithValue(context.Background(), capturedRowsKey{}, &rows)
	if _, err := client.InsertManyTx(ctx, nil, jobs); err != nil {
		return nil, err
	}
	return rows, nil
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
