package submissions

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/tokenbucket"
)

// Limiter limits /f/ per client address with two token buckets.
//
// The coarse one counts an address's requests to every form together and
// is asked first, before the body is read or the database is asked
// anything, so a flood of made-up form ids from one address costs no
// database reads once it is over: PerAddress requests a minute on
// average, in bursts of up to PerAddress. The fine one counts
// submissions per (address, form) once the form is read: PerMinute a
// minute, in bursts of up to PerMinute.
//
// Replays of a stored key count in neither (they store nothing): the fine
// bucket is asked only once a request is known not to be one, and the
// coarse bucket's token is given back when the answer turns out to be a
// replay. A client that only retries a submission already taken is never
// counted. With Share, each serve node of a cluster keeps its share of
// both limits, so that together they keep them.
type Limiter struct {
	PerMinute int
	// PerAddress is the coarse limit, a minute; 0 means AddressFactor ×
	// PerMinute. A PerMinute of 0 turns both limits off.
	PerAddress int

	// Clock is the limiter's clock; nil: time.Now. Tests freeze it, so no
	// token comes back while a slow test runs.
	Clock func() time.Time
	// Share divides the limits among the live serve nodes; nil: this
	// process alone.
	Share *tokenbucket.Share

	mu        sync.Mutex
	buckets   map[submitKey]*formBucket
	addresses tokenbucket.Addresses
	sweep     time.Time
}

// formBucket is an (address, form)'s bucket, when it was last asked, and
// the share of PerMinute it was made with.
type formBucket struct {
	lim  *rate.Limiter
	seen time.Time
	per  int
}

type submitKey struct {
	ip   string
	form int64
}

// DefaultSubmitPerMinute holds a flood from one address to one form while
// people behind one office NAT filling a form together pass.
const DefaultSubmitPerMinute = 30

// AddressFactor is how many times the per-form limit one address may use
// over all forms together: an office behind one NAT filling in ten forms
// at once, at the per-form limit each, still passes.
const AddressFactor = 10

// LimitedError is a Limiter's refusal: how long to wait, and which limit
// refused.
type LimitedError struct {
	retryAfter int
	address    bool // the coarse limit over all forms, not one form's
}

// Error says a limit refused, for logs.
func (e *LimitedError) Error() string { return "too many submissions from this address" }

// Describe says which limit refused and how long to wait.
func (e *LimitedError) Describe() *intake.Error {
	wait := strconv.Itoa(e.retryAfter)
	if e.address {
		return &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Msg: e.Error(), Title: "Too many requests",
			Detail:     "Too many requests to forms from your address. Wait " + wait + " seconds and try again; a submission sent again is not stored twice.",
			RetryAfter: time.Duration(e.retryAfter) * time.Second, Code: "RATE_LIMITED",
			Hint: "Wait a moment and try again; a form sent again is not stored twice."}
	}
	return &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Msg: e.Error(), Title: "Too many submissions",
		Detail:     "Too many submissions to this form from your address. Wait " + wait + " seconds and send it again; it will not be stored twice.",
		RetryAfter: time.Duration(e.retryAfter) * time.Second, Code: "RATE_LIMITED",
		Hint: "Wait a moment and send the form again; it will not be stored twice."}
}

func (l *Limiter) off() bool { return l == nil || l.PerMinute <= 0 }

// now is the limiter's clock.
func (l *Limiter) now() time.Time {
	if l != nil && l.Clock != nil {
		return l.Clock()
	}
	return time.Now()
}

func (l *Limiter) perAddress() int {
	if l.PerAddress > 0 {
		return l.Share.Of(l.PerAddress)
	}
	return l.Share.Of(AddressFactor * l.PerMinute)
}

// sweepLocked forgets buckets idle long enough to be full again: they
// carry no state worth keeping.
func (l *Limiter) sweepLocked(now time.Time) {
	if l.buckets == nil {
		l.buckets = map[submitKey]*formBucket{}
	}
	if now.Sub(l.sweep) <= time.Minute {
		return
	}
	for k, b := range l.buckets {
		if now.Sub(b.seen) > 2*time.Minute {
			delete(l.buckets, k)
		}
	}
	l.addresses.Sweep(now, 2*time.Minute)
	l.sweep = now
}

// takeAddress takes a token from ip's bucket over all forms; it returns an
// *LimitedError when there is none. A request that ends as a replay
// gives its token back with giveBack.
func (l *Limiter) takeAddress(ip string, now time.Time) error {
	if l.off() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	if wait, _, ok := l.addresses.Take(ip, now, l.perAddress()); !ok {
		return &LimitedError{retryAfter: max(1, int(math.Ceil(wait.Seconds()))), address: true}
	}
	return nil
}

// giveBack returns the token takeAddress took for ip: the request was a
// replay, which is never counted.
func (l *Limiter) giveBack(ip string, now time.Time) {
	if l.off() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addresses.Put(ip, now, l.perAddress())
}

// take takes a token for (ip, form); it returns a *LimitedError when
// there is none.
func (l *Limiter) take(ip string, form int64, now time.Time) error {
	if l.off() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	k := submitKey{tokenbucket.AddressKey(ip), form}
	per := l.Share.Of(l.PerMinute)
	b, ok := l.buckets[k]
	if !ok {
		b = &formBucket{lim: rate.NewLimiter(rate.Limit(float64(per)/60), per), per: per}
		l.buckets[k] = b
	} else if b.per != per { // the cluster grew or shrank
		b.lim.SetLimitAt(now, rate.Limit(float64(per)/60))
		b.lim.SetBurstAt(now, per)
		b.per = per
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return nil
	}
	wait := (1 - b.lim.TokensAt(now)) / (float64(per) / 60)
	return &LimitedError{retryAfter: max(1, int(math.Ceil(wait)))}
}
