package submissions

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riverqueue/river/rivertype"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/idempotency"
)

// Concurrent submissions share transactions: group commit, done by Intake
// instead of left to Postgres. A submission's write waits in a queue while
// the service's transactions are all busy; each transaction takes everything
// queued (up to MaxGroupSize) and writes it with the one statement it would
// use for one submission (writeSQL): one claim of all the keys, one insert
// of all the submissions, one of all their jobs, one count. Postgres's work per
// statement and per commit is then shared by the group, which is what lets
// the full path beat the naive four statements per submission (see
// docs/BENCHMARKS.md). A submission alone is written at once, so nothing
// waits for company.
//
// Exactly once is unchanged: each row of a group is gated in SQL exactly as
// a lone one is (a submission only if its key row names it, its jobs and
// its count only if it was written), and the group commits or rolls back as
// one. Two writes with the same key never share a group: the second waits
// in the queue until the first's transaction has ended, then its claim
// finds the first's key row and it replays the stored answer, as it would
// after waiting on the row lock; it waits at most the lock wait, then gets
// ErrInFlight. When a group fails, each of its writes is tried again alone,
// so one write's failure (a lock held by another process, say) is its own.
//
// Fewer transactions at once make larger groups and less work for
// Postgres: pure ingest at 32 clients went ~15 % faster with 2 than with 4,
// and about as fast again with 1. Two are kept so that one transaction
// stuck on a lock (a twin in another process holds a key, for up to the
// lock wait) does not stop every other write.

// Defaults for the group commit.
const (
	DefaultMaxGroups    = 2  // transactions writing submissions at once, per Service
	DefaultMaxGroupSize = 64 // submissions per transaction
	// writeTimeout bounds a group's transaction beyond its lock wait. The
	// group does not run on any one request's context: a request that gives
	// up does not cancel the others' writes.
	writeTimeout = 30 * time.Second
)

// write is one submission's rows, queued to be written, and then what
// became of them.
type write struct {
	claim *idempotency.Claim // nil for a keyless submission
	row   submissionRow
	jobs  []*rivertype.JobInsertParams
	count *usageCount // nil: not counted (spam)

	done     chan struct{} // closed when the fields below are set
	written  bool          // the submission was written (its claim won)
	claimErr error         // the claim statement's error (a lock timeout: a twin holds a key)
	err      error         // the transaction failed; nothing of this write was stored
}

type claimKey struct {
	formID int64
	key    string
}

// committer is the queue of writes and the keys of the writes being written.
type committer struct {
	mu      sync.Mutex
	queue   []*write
	busy    map[claimKey]bool
	running int
}

// commit writes w, sharing a transaction with whatever else is queued, and
// returns when w's fate is known (in w's fields). It returns ErrInFlight when
// a twin with w's key held it back longer than the lock wait, and ctx's
// error when ctx ends before w was taken (nothing was written).
func (s *Service) commit(ctx context.Context, w *write) error {
	c := &s.committer
	w.done = make(chan struct{})
	c.mu.Lock()
	c.queue = append(c.queue, w)
	s.startLocked()
	c.mu.Unlock()

	var held <-chan time.Time
	if w.claim != nil {
		t := time.NewTimer(s.lockWait())
		defer t.Stop()
		held = t.C
	}
	cancelled := ctx.Done()
	for {
		select {
		case <-w.done:
			return nil
		case <-cancelled:
			if c.remove(w, false) {
				return ctx.Err()
			}
			cancelled = nil // being written: wait for it
		case <-held:
			if c.remove(w, true) {
				return idempotency.ErrInFlight
			}
			held = nil
		}
	}
}

// remove takes w out of the queue if it is still there (and, with onlyHeld,
// only if a twin holds its key) and reports whether it did.
func (c *committer) remove(w *write, onlyHeld bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if onlyHeld && !c.busy[keyOf(w)] {
		return false
	}
	for i, q := range c.queue {
		if q == w {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			return true
		}
	}
	return false
}

func keyOf(w *write) claimKey {
	if w.claim == nil {
		return claimKey{}
	}
	return claimKey{w.claim.FormID, w.claim.Key}
}

// startLocked starts transactions for the queue while fewer than MaxGroups
// run. c.mu must be held.
func (s *Service) startLocked() {
	c := &s.committer
	for c.running < s.maxGroups() {
		g := c.takeLocked(s.maxGroupSize())
		if len(g) == 0 {
			return
		}
		c.running++
		go s.run(g)
	}
}

// takeLocked takes from the queue, in order, up to n writes whose keys are
// not being written and are not repeated among them, and marks their keys
// busy. c.mu must be held.
func (c *committer) takeLocked(n int) []*write {
	if c.busy == nil {
		c.busy = map[claimKey]bool{}
	}
	var g []*write
	rest := c.queue[:0]
	for _, w := range c.queue {
		k := keyOf(w)
		if len(g) == n || (w.claim != nil && c.busy[k]) {
			rest = append(rest, w)
			continue
		}
		if w.claim != nil {
			c.busy[k] = true
		}
		g = append(g, w)
	}
	clear(c.queue[len(rest):])
	c.queue = rest
	return g
}

// run writes group g and then whatever is queued, until the queue has
// nothing it may take.
func (s *Service) run(g []*write) {
	c := &s.committer
	for len(g) > 0 {
		s.writeGroup(g)
		c.mu.Lock()
		for _, w := range g {
			if w.claim != nil {
				delete(c.busy, keyOf(w))
			}
			close(w.done)
		}
		g = c.takeLocked(s.maxGroupSize())
		if len(g) == 0 {
			c.running--
		}
		c.mu.Unlock()
	}
}

// writeGroup writes g in one transaction. When that fails, each write is
// tried alone, so that only the writes that fail by themselves fail.
func (s *Service) writeGroup(g []*write) {
	err := s.send(g)
	if err == nil || len(g) == 1 || database.IsUnavailable(err) {
		for _, w := range g {
			w.err = err
		}
		return
	}
	var wg sync.WaitGroup
	for _, w := range g {
		wg.Go(func() { w.err = s.send([]*write{w}) })
	}
	wg.Wait()
}

// send writes g as one batch, one implicit transaction, one round trip:
// writeSQL, and the test hook AfterInsert after it. It sets each write's
// written and claimErr.
func (s *Service) send(g []*write) error {
	b := database.AtomicBatch(s.lockWait())
	written := make(map[uuid.UUID]bool, len(g))
	unwake, err := s.queueWrite(b, g, written)
	if err != nil {
		return err
	}
	if s.AfterInsert != nil {
		s.AfterInsert(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.lockWait()+writeTimeout)
	defer cancel()
	err = s.DB.SendBatch(ctx, b).Close()
	claimErr := err
	if !isClaimWait(err) {
		claimErr = nil
	}
	woke := false
	for _, w := range g {
		w.written = err == nil && written[w.row.sub.ID]
		if w.claim != nil {
			w.claimErr = claimErr
		}
		woke = woke || (w.written && len(w.jobs) > 0)
	}
	if !woke {
		unwake() // the wake-up was not sent
	}
	return err
}

// isClaimWait reports whether err is a lock timeout on a key row: another
// transaction holds a key of the group. (A lock timeout elsewhere — a
// migration holding a table — is not.)
func isClaimWait(err error) bool {
	var pgErr *pgconn.PgError
	return database.IsLockTimeout(err) && errors.As(err, &pgErr) && strings.Contains(pgErr.Where, `"idempotency_keys`)
}

func (s *Service) maxGroups() int {
	if s.MaxGroups > 0 {
		return s.MaxGroups
	}
	return DefaultMaxGroups
}

func (s *Service) maxGroupSize() int {
	if s.MaxGroupSize > 0 {
		return s.MaxGroupSize
	}
	return DefaultMaxGroupSize
}
