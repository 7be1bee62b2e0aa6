package submissions

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
)

// The reads before a submission are grouped like its write (commit.go): a
// request's read waits in a queue while the service's reads are all busy,
// and each batch of reads takes everything queued. A batch reads each form
// in it once — its settings, its account's usage, its planner's data — and
// every stored answer asked for in one statement, so under load a popular
// form is read once per batch instead of once per request. A read alone is
// sent at once. Grouping changes no answer: each read is sent after its
// request arrived, and reads have no effects to share.

// readTimeout bounds a batch of reads, which runs on no request's context.
const readTimeout = 30 * time.Second

// readBatches is how many batches of reads run at once. One makes the
// largest batches; reads wait on no lock, so one slow batch means a slow
// database, which would slow the others as much.
const readBatches = 1

// load is one request's read, queued, and then what it found.
type load struct {
	formID, key string
	now         time.Time

	done   chan struct{} // closed when the fields below are set
	form   *forms.Form
	usage  *accounts.Usage
	plan   planFunc
	stored *idempotency.Record
	err    error
}

type loader struct {
	mu      sync.Mutex
	queue   []*load
	running int
}

// load reads, sharing a round trip with the reads queued with it, the form
// formID, its account's quota usage in the month of now, the reads its
// planner needs and, when key is not empty, the live answer stored for
// (form, key). plan is nil without a planner.
func (s *Service) load(ctx context.Context, formID, key string, now time.Time) (*forms.Form, *idempotency.Record, *accounts.Usage, planFunc, error) {
	if !forms.ValidPublicID(formID) {
		return nil, nil, nil, nil, forms.ErrNotFound
	}
	l := &load{formID: formID, key: key, now: now, done: make(chan struct{})}
	c := &s.loader
	c.mu.Lock()
	c.queue = append(c.queue, l)
	for c.running < readBatches && len(c.queue) > 0 {
		c.running++
		go s.readLoads(c.takeLocked(s.maxGroupSize()))
	}
	c.mu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
		return nil, nil, nil, nil, ctx.Err() // the read goes on; nobody waits for it
	}
	return l.form, l.stored, l.usage, l.plan, l.err
}

func (c *loader) takeLocked(n int) []*load {
	n = min(n, len(c.queue))
	g := append([]*load(nil), c.queue[:n]...)
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	return g
}

// readLoads reads g and then whatever is queued, until the queue is empty.
func (s *Service) readLoads(g []*load) {
	c := &s.loader
	for len(g) > 0 {
		s.read(g)
		for _, l := range g {
			close(l.done)
		}
		c.mu.Lock()
		g = c.takeLocked(s.maxGroupSize())
		if len(g) == 0 {
			c.running--
		}
		c.mu.Unlock()
	}
}

// read reads g in one batch: each form (and month) once, every key in one
// statement. A form's error (there is no such form) is its requests' own.
func (s *Service) read(g []*load) {
	type formMonth struct {
		id    string
		month time.Time
	}
	type formRead struct {
		form  *forms.Form
		usage *accounts.Usage
		plan  planFunc
		err   error
	}
	b := &pgx.Batch{}
	reads := map[formMonth]*formRead{}
	for _, l := range g {
		fm := formMonth{l.formID, accounts.MonthOf(l.now)}
		if reads[fm] != nil {
			continue
		}
		r := &formRead{}
		reads[fm] = r
		from := len(b.QueuedQueries)
		if err := forms.QueueByPublicID(b, l.formID, &r.form); err != nil {
			r.err = err
			continue
		}
		accounts.QueueUsageByForm(b, l.formID, l.now, &r.usage)
		if s.Planner != nil {
			r.plan = s.Planner.Prepare(b, l.formID)
		}
		ownErrors(b.QueuedQueries[from:], &r.err)
	}
	var keys []idempotency.LookupKey
	var keyed []*load
	for _, l := range g {
		if l.key != "" {
			keys = append(keys, idempotency.LookupKey{FormPublicID: l.formID, Key: l.key, Now: l.now})
			keyed = append(keyed, l)
		}
	}
	stored := make([]*idempotency.Record, len(keys))
	if len(keys) > 0 {
		idempotency.QueueLookups(b, keys, stored) // last: it turns sequential scans off
	}

	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	err := s.DB.SendBatch(ctx, b).Close()
	for _, l := range g {
		r := reads[formMonth{l.formID, accounts.MonthOf(l.now)}]
		switch {
		case err != nil:
			l.err = err
		case r.err != nil:
			l.err = r.err
		default:
			// Copies: the requests of one form must not share what they
			// may change (the form's Settings and Contract.Fields are
			// shared already and read-only, see forms.QueueByPublicID).
			form := *r.form
			l.form, l.plan = &form, r.plan
			if r.usage != nil {
				usage := *r.usage
				l.usage = &usage
			}
		}
	}
	for i, l := range keyed {
		l.stored = stored[i]
	}
}

// ownErrors makes the errors of queued queries qs (a form that is not
// there) theirs: the first goes to *errp, and the batch reads on for the
// other requests.
func ownErrors(qs []*pgx.QueuedQuery, errp *error) {
	for _, q := range qs {
		fn := q.Fn
		if fn == nil {
			continue
		}
		q.Fn = func(br pgx.BatchResults) error {
			if err := fn(br); err != nil && *errp == nil {
				*errp = err
			}
			return nil
		}
	}
}
