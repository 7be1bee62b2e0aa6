package submissions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
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
// are then written by insertJobsSQL in the submission's own batch instead of
// in a round trip of their own. The builder is an insert-only client with no
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

// insertJobsSQL is River's own batch insert (riverpgxv5's JobInsertFastMany,
// River 0.51) with a condition: the jobs are written only if their
// submission is. TestJobRowsMatchRiver compares its rows with River's.
const insertJobsSQL = `
INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
SELECT j.args, j.kind, j.max_attempts, j.metadata, j.priority, j.queue,
	coalesce(j.scheduled_at, now()), j.state::river_job_state,
	string_to_array(j.tags, ',')::varchar(255)[],
	nullif(j.unique_key, '')::bytea, nullif(j.unique_states, 0)::bit(8)
FROM unnest($2::jsonb[], $3::text[], $4::smallint[], $5::jsonb[], $6::smallint[], $7::text[],
	$8::timestamptz[], $9::text[], $10::text[], $11::bytea[], $12::integer[])
	AS j(args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
WHERE EXISTS (SELECT 1 FROM submissions WHERE id = $1)
ON CONFLICT (unique_key)
	WHERE unique_key IS NOT NULL AND unique_states IS NOT NULL AND river_job_state_in_bitmask(unique_states, state)
	DO NOTHING`

// notifySQL wakes River's workers for new jobs the way River's own insert
// does (a notification per queue on the insert topic), when the submission
// was written.
const notifySQL = `
SELECT pg_notify(current_schema() || '.river_insert', q)
FROM unnest($2::text[]) AS q
WHERE EXISTS (SELECT 1 FROM submissions WHERE id = $1)`

// queueJobs adds to b the insert of jobs, to be written only if submission
// subID is (both in b's transaction), and a wake-up for their queues. Call
// the returned unwake when b writes nothing (an error, a lost claim): the
// wake-up was not sent, and the next write must send it.
func (s *Service) queueJobs(b *pgx.Batch, subID uuid.UUID, jobs []river.InsertManyParams) (unwake func(), err error) {
	unwake = func() {}
	if len(jobs) == 0 {
		return unwake, nil
	}
	rows, err := jobRows(jobs)
	if err != nil {
		return unwake, err
	}
	n := len(rows)
	var (
		args, metadata        = make([][]byte, n), make([][]byte, n)
		kinds, queues, states = make([]string, n), make([]string, n), make([]string, n)
		tags                  = make([]string, n)
		maxAttempts, priority = make([]int16, n), make([]int16, n)
		scheduledAt           = make([]*time.Time, n)
		uniqueKeys            = make([][]byte, n)
		uniqueStates          = make([]int32, n)
	)
	for i, r := range rows {
		args[i], metadata[i] = r.EncodedArgs, r.Metadata
		kinds[i], queues[i], states[i] = r.Kind, r.Queue, string(r.State)
		tags[i] = strings.Join(r.Tags, ",")
		maxAttempts[i], priority[i] = int16(r.MaxAttempts), int16(r.Priority)
		scheduledAt[i] = r.ScheduledAt
		uniqueKeys[i], uniqueStates[i] = r.UniqueKey, int32(r.UniqueStates)
	}
	b.Queue(insertJobsSQL, subID, args, kinds, maxAttempts, metadata, priority, queues, scheduledAt, states, tags, uniqueKeys, uniqueStates)
	now := time.Now()
	if wake := s.wakeups.due(queues, now); len(wake) > 0 {
		b.Queue(notifySQL, subID, wake)
		unwake = func() { s.wakeups.forget(queues, now) }
	}
	return unwake, nil
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
