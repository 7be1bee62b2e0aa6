package submissions

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/database"
)

// ReplayCounter counts duplicates absorbed — per submission and per form and
// day — in memory and writes them every FlushEvery. The replay path stays a
// single read; what a crash can lose is a few seconds of a statistic, never
// a submission.
type ReplayCounter struct {
	DB     *pgxpool.Pool
	Logger *slog.Logger

	mu          sync.Mutex
	submissions map[uuid.UUID]int
	days        map[formDay]int
}

type formDay struct {
	formID int64
	day    time.Time
}

// FlushEvery is how often counted replays are written.
const FlushEvery = 2 * time.Second

// Add counts one replay of submission id of form formID at time at.
func (c *ReplayCounter) Add(formID int64, id uuid.UUID, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.submissions == nil {
		c.submissions, c.days = map[uuid.UUID]int{}, map[formDay]int{}
	}
	c.submissions[id]++
	c.days[formDay{formID, at.UTC().Truncate(24 * time.Hour)}]++
}

// Run flushes every FlushEvery until ctx ends, then flushes once more.
func (c *ReplayCounter) Run(ctx context.Context) {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			c.flushLogged(flushCtx)
			return
		case <-t.C:
			c.flushLogged(ctx)
		}
	}
}

func (c *ReplayCounter) flushLogged(ctx context.Context) {
	if err := c.Flush(ctx); err != nil {
		l := c.Logger
		if l == nil {
			l = slog.Default()
		}
		l.WarnContext(ctx, "replay counts not written; will retry", "err", err)
	}
}

// Flush writes the counts gathered so far. On failure they are kept for the
// next flush.
func (c *ReplayCounter) Flush(ctx context.Context) error {
	c.mu.Lock()
	subs, days := c.submissions, c.days
	c.submissions, c.days = nil, nil
	c.mu.Unlock()
	if len(subs) == 0 && len(days) == 0 {
		return nil
	}
	// Rows are updated in a sorted order: two replicas flushing the same
	// submissions would otherwise lock them in opposite orders and deadlock.
	ids := slices.SortedFunc(maps.Keys(subs), func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	counts := make([]int, len(ids))
	for i, id := range ids {
		counts[i] = subs[id]
	}
	keys := slices.SortedFunc(maps.Keys(days), func(a, b formDay) int {
		return cmp.Or(cmp.Compare(a.formID, b.formID), a.day.Compare(b.day))
	})
	forms := make([]int64, len(keys))
	dates := make([]time.Time, len(keys))
	dayCounts := make([]int, len(keys))
	for i, k := range keys {
		forms[i], dates[i], dayCounts[i] = k.formID, k.day, days[k]
	}
	err := database.WithTx(ctx, c.DB, pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL synchronous_commit = off"}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`UPDATE submissions s SET replays = s.replays + v.n
FROM unnest($1::uuid[], $2::int[]) AS v(id, n) WHERE s.id = v.id`, ids, counts)
		b.Queue(`INSERT INTO form_daily_replays (form_id, day, replays)
SELECT f, d, n FROM unnest($1::bigint[], $2::date[], $3::int[]) AS v(f, d, n)
ON CONFLICT (form_id, day) DO UPDATE SET replays = form_daily_replays.replays + EXCLUDED.replays`, forms, dates, dayCounts)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		// Put them back for the next attempt.
		c.mu.Lock()
		if c.submissions == nil {
			c.submissions, c.days = map[uuid.UUID]int{}, map[formDay]int{}
		}
		for id, n := range subs {
			c.submissions[id] += n
		}
		for k, n := range days {
			c.days[k] += n
		}
		c.mu.Unlock()
	}
	return err
}
