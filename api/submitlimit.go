package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/intakehq/intake/internal/httpedge"
)

// SubmitLimiter limits /f/ per client address with two token buckets.
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
// counted. Per process.
type SubmitLimiter struct {
	PerMinute int
	// PerAddress is the coarse limit, a minute; 0 means AddressFactor ×
	// PerMinute. A PerMinute of 0 turns both limits off.
	PerAddress int

	clock func() time.Time // nil: time.Now; tests freeze it

	mu        sync.Mutex
	buckets   map[submitKey]*bucket
	addresses map[string]*tokenBucket
	sweep     time.Time
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

// errSubmitLimited carries how long to wait, and which limit refused.
type errSubmitLimited struct {
	retryAfter int
	address    bool // the coarse limit over all forms, not one form's
}

func (e *errSubmitLimited) Error() string { return "too many submissions from this address" }

func (l *SubmitLimiter) off() bool { return l == nil || l.PerMinute <= 0 }

// now is the limiter's clock.
func (l *SubmitLimiter) now() time.Time {
	if l != nil && l.clock != nil {
		return l.clock()
	}
	return time.Now()
}

func (l *SubmitLimiter) perAddress() int {
	if l.PerAddress > 0 {
		return l.PerAddress
	}
	return AddressFactor * l.PerMinute
}

// sweepLocked forgets buckets idle long enough to be full again: they
// carry no state worth keeping.
func (l *SubmitLimiter) sweepLocked(now time.Time) {
	if l.buckets == nil {
		l.buckets = map[submitKey]*bucket{}
		l.addresses = map[string]*tokenBucket{}
	}
	if now.Sub(l.sweep) <= time.Minute {
		return
	}
	for k, b := range l.buckets {
		if now.Sub(b.seen) > 2*time.Minute {
			delete(l.buckets, k)
		}
	}
	for k, b := range l.addresses {
		if now.Sub(b.at) > 2*time.Minute {
			delete(l.addresses, k)
		}
	}
	l.sweep = now
}

// takeAddress takes a token from ip's bucket over all forms; it returns an
// *errSubmitLimited when there is none. A request that ends as a replay
// gives its token back with giveBack.
func (l *SubmitLimiter) takeAddress(ip string, now time.Time) error {
	if l.off() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	k := clientBucket(ip)
	b, ok := l.addresses[k]
	if !ok {
		b = &tokenBucket{tokens: float64(l.perAddress()), at: now}
		l.addresses[k] = b
	}
	perSecond := float64(l.perAddress()) / 60
	if wait, ok := b.take(now, perSecond, float64(l.perAddress())); !ok {
		return &errSubmitLimited{retryAfter: max(1, int(math.Ceil(wait.Seconds()))), address: true}
	}
	return nil
}

// giveBack returns the token takeAddress took for ip: the request was a
// replay, which is never counted.
func (l *SubmitLimiter) giveBack(ip string, now time.Time) {
	if l.off() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.addresses[clientBucket(ip)]; ok {
		b.put(now, float64(l.perAddress())/60, float64(l.perAddress()))
	}
}

// take takes a token for (ip, form); it returns an *errSubmitLimited when
// there is none.
func (l *SubmitLimiter) take(ip string, form int64, now time.Time) error {
	if l.off() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	k := submitKey{clientBucket(ip), form}
	b, ok := l.buckets[k]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.PerMinute)/60), l.PerMinute)}
		l.buckets[k] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return nil
	}
	wait := (1 - b.lim.TokensAt(now)) / (float64(l.PerMinute) / 60)
	return &errSubmitLimited{retryAfter: max(1, int(math.Ceil(wait)))}
}

// tokenBucket is a token bucket that can take a token back, which
// rate.Limiter cannot (its Cancel restores nothing once a token was
// granted at once). The caller holds the lock.
type tokenBucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func (b *tokenBucket) refill(now time.Time, perSecond, burst float64) {
	if now.After(b.at) {
		b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*perSecond)
		b.at = now
	}
}

// take takes a token, or says how long until there is one.
func (b *tokenBucket) take(now time.Time, perSecond, burst float64) (time.Duration, bool) {
	b.refill(now, perSecond, burst)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / perSecond * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

// put gives a token back.
func (b *tokenBucket) put(now time.Time, perSecond, burst float64) {
	b.refill(now, perSecond, burst)
	b.tokens = min(burst, b.tokens+1)
}

// clientBucket is the address a limit counts by (httpedge.ClientKey: an IPv6
// /64 counts as one).
func clientBucket(ip string) string { return httpedge.ClientKey(ip) }

func submitLimitedProblem(err error) (*Problem, bool) {
	var lim *errSubmitLimited
	if !errors.As(err, &lim) {
		return nil, false
	}
	wait := strconv.Itoa(lim.retryAfter)
	p := problem(http.StatusTooManyRequests, TypeRateLimited, "Too many submissions",
		"Too many submissions to this form from your address. Wait "+wait+" seconds and send it again; it will not be stored twice.")
	if lim.address {
		p = problem(http.StatusTooManyRequests, TypeRateLimited, "Too many requests",
			"Too many requests to forms from your address. Wait "+wait+" seconds and try again; a submission sent again is not stored twice.")
	}
	p.retryAfter = wait
	p.code = "RATE_LIMITED"
	p.hint = "Wait a moment and send the form again; it will not be stored twice."
	if lim.address {
		p.hint = "Wait a moment and try again; a form sent again is not stored twice."
	}
	return p, true
}
