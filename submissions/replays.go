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

// ReplayCounter counts duplicates absorbed — per submission, by how each
// was recognised, and per form and day — in memory and writes them every
// FlushEvery. The replay path stays a single read; what a crash can lose is
// a few seconds of a statistic, never a submission.
type ReplayCounter struct {
	DB     *pgxpool.Pool
	Logger *slog.Logger

	mu          sync.Mutex
	submissions map[uuid.UUID]*dupCounts
	days        map[formDay]int
}

// How says how a duplicate was recognised.
type How int

// The ways a duplicate is recognised, in the order of Duplicates' members.
const (
	HowKey      How = iota // a retry with the submission's Idempotency-Key
	HowImplicit            // a browser's repeat within the implicit window (no key)
	HowUnique              // a repeat of the form's unique value
	HowKeyless             // identical keyless JSON within keyless_json_window
	hows
)

// String is how's name, as the metrics label it.
func (h How) String() string { return [...]string{"key", "implicit", "unique", "keyless"}[h] }

// dupCounts are one submission's duplicates counted since the last flush.
type dupCounts struct {
	n    [hows]int
	last time.Time
}

type formDay struct {
	formID int64
	day    time.Time
}

// FlushEvery is how often counted replays are written.
const FlushEvery = 2 * time.Second

// Add counts one duplicate of submission id of form formID, recognised
// how, at time at.
func (c *ReplayCounter) Add(formID int64, id uuid.UUID, how How, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(id, func(d *dupCounts) {
		d.n[how]++
		if at.After(d.last) {
			d.last = at
		}
	})
	c.days[formDay{formID, at.UTC().Truncate(24 * time.Hour)}]++
}

// addLocked applies fn to id's counts. c.mu must be held.
func (c *ReplayCounter) addLocked(id uuid.UUID, fn func(*dupCounts)) {
	if c.submissions == nil {
		c.submissions, c.days = map[uuid.UUID]*dupCounts{}, map[formDay]int{}
	}
	d := c.submissions[id]
	if d == nil {
		d = &dupCounts{}
		c.submissions[id] = d
	}
	fn(d)
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
	var counts [hows][]int
	lasts := make([]time.Time, len(ids))
	for i, id := range ids {
		for h := range hows {
			counts[h] = append(counts[h], subs[id].n[h])
		}
		lasts[i] = subs[id].last
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
		b.Queue(`UPDATE submissions s SET replays = s.replays + v.k + v.i + v.u + v.j,
	duplicates_key = s.duplicates_key + v.k, duplicates_implicit = s.duplicates_implicit + v.i,
	duplicates_unique = s.duplicates_unique + v.u, duplicates_keyless = s.duplicates_keyless + v.j,
	last_duplicate_at = greatest(s.last_duplicate_at, v.at)
FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[], $6::timestamptz[]) AS v(id, k, i, u, j, at) WHERE s.id = v.id`,
			ids, counts[HowKey], counts[HowImplicit], counts[HowUnique], counts[HowKeyless], lasts)
		b.Queue(`INSERT INTO form_daily_replays (form_id, day, replays)
SELECT f, d, n FROM unnest($1::bigint[], $2::date[], $3::int[]) AS v(f, d, n)
ON CONFLICT (form_id, day) DO UPDATE SET replays = form_daily_replays.replays + EXCLUDED.replays`, forms, dates, dayCounts)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		// Put them back for the next attempt.
		c.mu.Lock()
		if c.days == nil {
			c.submissions, c.days = map[uuid.UUID]*dupCounts{}, map[formDay]int{}
		}
		for id, d := range subs {
			c.addLocked(id, func(into *dupCounts) {
				for h := range hows {
					into.n[h] += d.n[h]
				}
				if d.last.After(into.last) {
					into.last = d.last
				}
			})
		}
		for k, n := range days {
			c.days[k] += n
		}
		c.mu.Unlock()
	}
	return err
}
