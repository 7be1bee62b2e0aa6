package database

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
)

// River's job rows, written by hand. A job enqueued by the statement that
// writes what it is about (the submissions' group write) cannot go through
// River's InsertManyTx, which sends a statement of its own: River builds
// each row (JobRows) and JobsSQL inserts it as River's own batch insert
// would, as a part of the larger statement.

// jobBuilder builds each job's row — its encoded args, queue, attempts and
// unique key — exactly as River's own InsertManyTx would. It is an
// insert-only client with no database whose one middleware takes the
// finished rows and stops there.
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
		return nil, errors.New("database: the job builder was used without a destination")
	}
	*out = rows
	return make([]*rivertype.JobInsertResult, len(rows)), nil
}

// JobRows returns River's rows for jobs, as its InsertManyTx would write
// them, for JobColumns. It returns River's error for jobs it refuses.
func JobRows(jobs []river.InsertManyParams) ([]*rivertype.JobInsertParams, error) {
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

// jobsSQL is River's own batch insert (riverpgxv5's JobInsertFastMany,
// River 0.51) plus a gate: a job row is written only if its parent — the
// row it is about — was, as the ids returned by the CTE named at %[1]s say.
// It reads that CTE, never the parent's table, so its plan stays a join
// over the statement's own rows. TestJobRowsMatchRiver (submissions)
// compares its rows with River's.
const jobsSQL = `INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
SELECT j.args, j.kind, j.max_attempts, j.metadata, j.priority, j.queue,
	coalesce(j.scheduled_at, now()), j.state::river_job_state,
	string_to_array(j.tags, ',')::varchar(255)[],
	nullif(j.unique_key, '')::bytea, nullif(j.unique_states, 0)::bit(8)
FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::smallint[], $5::jsonb[], $6::smallint[], $7::text[],
	$8::timestamptz[], $9::text[], $10::text[], $11::bytea[], $12::integer[])
	AS j(parent_id, args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
WHERE j.parent_id IN (SELECT id FROM %[1]s)
ON CONFLICT (unique_key)
	WHERE unique_key IS NOT NULL AND unique_states IS NOT NULL AND river_job_state_in_bitmask(unique_states, state)
	DO NOTHING
RETURNING 1`

// JobsSQL returns the insert of the job rows in JobColumns' arguments, as
// a part of a larger statement: its placeholders follow the offset
// arguments before them, and a row is written only if its parent's id is
// among those the CTE named parents returns. It returns a row per job
// written (a unique job already there is not).
func JobsSQL(offset int, parents string) string {
	return Renumber(fmt.Sprintf(jobsSQL, parents), offset)
}

// JobColumns are job rows as JobsSQL's arguments: an array per column.
type JobColumns struct {
	parents                     []uuid.UUID
	args, metadata              [][]byte
	kinds, queues, states, tags []string
	maxAttempts, priority       []int16
	scheduledAt                 []*time.Time
	uniqueKeys                  [][]byte
	uniqueStates                []int32
}

// Add appends r, a row of JobRows, to be written only with its parent.
func (c *JobColumns) Add(parent uuid.UUID, r *rivertype.JobInsertParams) {
	c.parents = append(c.parents, parent)
	c.args, c.metadata = append(c.args, r.EncodedArgs), append(c.metadata, r.Metadata)
	c.kinds, c.queues, c.states = append(c.kinds, r.Kind), append(c.queues, r.Queue), append(c.states, string(r.State))
	c.tags = append(c.tags, strings.Join(r.Tags, ","))
	c.maxAttempts, c.priority = append(c.maxAttempts, int16(r.MaxAttempts)), append(c.priority, int16(r.Priority))
	c.scheduledAt = append(c.scheduledAt, r.ScheduledAt)
	c.uniqueKeys, c.uniqueStates = append(c.uniqueKeys, r.UniqueKey), append(c.uniqueStates, int32(r.UniqueStates))
}

// Args returns the arrays for JobsSQL's placeholders, in their order.
func (c *JobColumns) Args() []any {
	return []any{c.parents, c.args, c.kinds, c.maxAttempts, c.metadata, c.priority, c.queues, c.scheduledAt, c.states, c.tags,
		c.uniqueKeys, c.uniqueStates}
}
