package submissions

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

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
// after waiting on the row lock (when the first committed, the second is
// answered from its row without sending a claim that would find it); it waits at most the lock wait, then gets
// ErrInFlight. When a group fails, each of its writes is tried again alone,
// so one write's failure (a lock held by another process, say) is its own.
//
// Fewer transactions at once make larger groups and less work for
// Postgres: pure ingest at 32 clients went ~15 % faster with 2 than with 4,
// and about as fast again with 1. Two are kept so that one transaction
// stuck on a lock (a twin in another process holds a key, for up to the
// lock wait) does not stop every other write.
//
// One account's writes must not make another's slow or fail (docs/SECURITY.md,
// "Group commit"). A group is bounded in bytes as well as in count
// (MaxGroupBytes of payload, files and stored answers; a write larger than
// that goes alone), so no transaction carries more than a few MiB for its
// group-mates to wait on. And writes with files — up to 10 MiB each, the
// slowest writes by far — have a lane of their own: their own queue and
// their own MaxGroups transactions, so an upload never holds a transaction
// that small writes are waiting for, and their groups hold the writes of
// one account only, so an upload that times out or fails takes no other
// account's submission with it. Files of one account still share a
// transaction up to the byte bound: a form taking many small attachments
// keeps the benefit of grouping. A free transaction in that lane serves an
// account whose uploads are not being written before more of one that is,
// so a stream of uploads to one account (a bot at its form) keeps another
// account's upload waiting one group at most, not behind all of it. Twins
// are kept apart across both lanes (one set of keys in flight).

// Defaults for the group commit.
const (
	DefaultMaxGroups    = 2  // transactions writing submissions at once, per Service
	DefaultMaxGroupSize = 64 // submissions per transaction
	// DefaultMaxGroupBytes bounds the bytes a transaction writes for its
	// group (payloads, files, stored answers, job arguments): 4 MiB, four
	// of the largest bodies without files, or under half of one upload.
	DefaultMaxGroupBytes = 4 << 20
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
	// account owns the form; size is the bytes written (writeSize); files
	// says which lane the write takes.
	account int64
	size    int
	files   bool

	done     chan struct{} // closed when the fields below are set
	written  bool          // the submission was written (its claim won)
	claimErr error         // the claim statement's error (a lock timeout: a twin holds a key)
	err      error         // the transaction failed; nothing of this write was stored
}

type claimKey struct {
	formID int64
	key    string
}

// committer is the queues of writes and the keys of the writes being
// written. Writes with files queue in their own lane (see above).
type committer struct {
	mu    sync.Mutex
	small lane // writes without files
	files lane // writes with files, grouped by account
	busy  map[claimKey]bool
}

// lane is a queue of writes and the transactions writing from it.
type lane struct {
	queue   []*write
	running int
	// writing counts the groups being written per account, in the files
	// lane: a free transaction there serves an account not being written
	// first, so one account's stream of uploads cannot keep another's
	// waiting behind all of it.
	writing map[int64]int
}

func (c *committer) laneOf(w *write) *lane {
	if w.files {
		return &c.files
	}
	return &c.small
}

// commit writes w, sharing a transaction with whatever else is queued, and
// returns when w's fate is known (in w's fields). It returns ErrInFlight when
// a twin with w's key held it back longer than the lock wait, and ctx's
// error when ctx ends before w was taken (nothing was written).
func (s *Service) commit(ctx context.Context, w *write) error {
	c := &s.committer
	w.done = make(chan struct{})
	w.size, w.files = writeSize(w), len(w.row.files) > 0
	c.mu.Lock()
	l := c.laneOf(w)
	l.queue = append(l.queue, w)
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
	l := c.laneOf(w)
	for i, q := range l.queue {
		if q == w {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
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

// startLocked starts transactions for both lanes' queues while fewer than
// MaxGroups run in each. c.mu must be held.
func (s *Service) startLocked() {
	c := &s.committer
	for _, l := range []*lane{&c.small, &c.files} {
		for l.running < s.maxGroups() {
			g := c.takeLocked(l, s.maxGroupSize(), s.maxGroupBytes())
			if len(g) == 0 {
				break
			}
			l.running++
			go s.run(l, g)
		}
	}
}

// takeLocked takes from l's queue, in order, up to n writes and maxBytes
// (but at least one write, however large) whose keys are not being written
// and are not repeated among them, and marks their keys busy. In the files
// lane it takes only writes of one account: the first queued (and free to
// go) of an account not being written, else the first queued. c.mu must be
// held.
func (c *committer) takeLocked(l *lane, n, maxBytes int) []*write {
	if c.busy == nil {
		c.busy = map[claimKey]bool{}
	}
	free := func(w *write) bool { return w.claim == nil || !c.busy[keyOf(w)] }
	account, files := int64(0), l == &c.files
	if files {
		if l.writing == nil {
			l.writing = map[int64]int{}
		}
		found := false
		for _, w := range l.queue {
			if free(w) && (!found || l.writing[w.account] == 0) {
				account, found = w.account, true
				if l.writing[w.account] == 0 {
					break
				}
			}
		}
	}
	var g []*write
	size := 0
	rest := l.queue[:0]
	for _, w := range l.queue {
		if len(g) == n || !free(w) || (files && w.account != account) || (len(g) > 0 && size+w.size > maxBytes) {
			rest = append(rest, w)
			continue
		}
		if w.claim != nil {
			c.busy[keyOf(w)] = true
		}
		g = append(g, w)
		size += w.size
	}
	clear(l.queue[len(rest):])
	l.queue = rest
	if files && len(g) > 0 {
		l.writing[account]++
	}
	return g
}

// run writes group g from lane l and then whatever l has queued, until it
// has nothing it may take. A group's end frees keys that writes in the
// other lane may be waiting for, so that lane is started too.
func (s *Service) run(l *lane, g []*write) {
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
		c.settleTwinsLocked(g)
		if l == &c.files {
			if l.writing[g[0].account]--; l.writing[g[0].account] == 0 {
				delete(l.writing, g[0].account)
			}
		}
		g = c.takeLocked(l, s.maxGroupSize(), s.maxGroupBytes())
		if len(g) == 0 {
			l.running--
		}
		s.startLocked()
		c.mu.Unlock()
	}
}

// settleTwinsLocked ends, without a transaction of their own, the queued
// writes whose key g has just committed: their claims would find the key's
// row and write nothing, so each is left unwritten, as such a claim leaves
// it, and its request replays the stored answer (Accept). Fifty twins then
// cost two transactions, not fifty one after another, which under load
// kept the last of them queued past the lock wait (409). c.mu must be held.
func (c *committer) settleTwinsLocked(g []*write) {
	var committed map[claimKey]bool
	for _, w := range g {
		if w.claim != nil && w.written && w.err == nil {
			if committed == nil {
				committed = map[claimKey]bool{}
			}
			committed[keyOf(w)] = true
		}
	}
	if committed == nil {
		return
	}
	for _, l := range []*lane{&c.small, &c.files} {
		rest := l.queue[:0]
		for _, q := range l.queue {
			if q.claim != nil && committed[keyOf(q)] {
				close(q.done) // not written, no error
				continue
			}
			rest = append(rest, q)
		}
		clear(l.queue[len(rest):])
		l.queue = rest
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
	if !idempotency.IsClaimWait(err) { // another transaction holds a key of the group
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

func (s *Service) maxGroupBytes() int {
	if s.MaxGroupBytes > 0 {
		return s.MaxGroupBytes
	}
	return DefaultMaxGroupBytes
}

// writeSize is the bytes w sends to be written: what a group's byte bound
// counts.
func writeSize(w *write) int {
	n := len(w.row.data) + len(w.row.meta)
	for _, f := range w.row.files {
		n += len(f.file.Content) + len(f.file.Name)
	}
	if w.claim != nil {
		n += len(w.claim.Response.Body)
	}
	for _, j := range w.jobs {
		n += len(j.EncodedArgs) + len(j.Metadata)
	}
	return n
}
