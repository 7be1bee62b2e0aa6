package idempotency

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/database"
)

// SweepBatch is how many expired keys one DELETE removes: small enough that
// no statement holds many row locks or runs long.
const SweepBatch = 1000

// SweepInterval is how often the periodic sweep runs.
const SweepInterval = 10 * time.Minute

const sweepSQL = `
DELETE FROM idempotency_keys
WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2))`

// Sweep deletes every key expired at now, batch rows at a time, and returns
// how many it deleted. It stops early with ctx's error when ctx ends.
func Sweep(ctx context.Context, db *pgxpool.Pool, now time.Time, batch int) (int64, error) {
	var total int64
	for {
		tag, err := db.Exec(ctx, sweepSQL, now, batch)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}

// SweepArgs is the periodic job that deletes expired keys, and with them
// the expired rows of other owners (SweepWorker.Others).
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "idempotency.sweep" }

// SweepWorker runs SweepArgs jobs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	DB *pgxpool.Pool
	// Others are the sweeps of other tables' expired rows (sessions and
	// login challenges: accounts.SweepSessions; the autoresponse limit's
	// records: notify.SweepAutoresponses), run by the same periodic
	// job, so Intake has one sweeper; each owner's function writes its
	// own tables.
	Others []func(context.Context, database.Executor) (int64, error)
}

// Work deletes expired keys, then runs the other sweeps; one failing does
// not keep the others from running.
func (w *SweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	_, err := Sweep(ctx, w.DB, time.Now(), SweepBatch)
	errs := []error{err}
	for _, sweep := range w.Others {
		_, err := sweep(ctx, w.DB)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// PeriodicSweep is the sweep as a River periodic job: run on start and every
// SweepInterval, unique per period so a leader change cannot enqueue two.
func PeriodicSweep() *river.PeriodicJob {
	return river.NewPeriodicJob(
		river.PeriodicInterval(SweepInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			return SweepArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: SweepInterval}}
		},
		&river.PeriodicJobOpts{ID: "idempotency.sweep", RunOnStart: true},
	)
}
