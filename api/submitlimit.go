package api

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// SubmitLimiter is a token bucket per (client address, form) on /f/:
// PerMinute submissions a minute on average, in bursts of up to PerMinute.
// Replays of a stored key are not counted (they store nothing), so a
// client retrying the same submission is never refused. Per process.
type SubmitLimiter struct {
	PerMinute int

	mu      sync.Mutex
	buckets map[submitKey]*bucket
	sweep   time.Time
}

type submitKey struct {
	ip   string
	form int64
}

// DefaultSubmitPerMinute holds a flood from one address to one form while
// people behind one office NAT filling a form together pass.
const DefaultSubmitPerMinute = 30

// errSubmitLimited carries how long to wait.
type errSubmitLimited struct{ retryAfter int }

func (e *errSubmitLimited) Error() string { return "too many submissions from this address" }

// take takes a token for (ip, form); it returns an *errSubmitLimited when
// there is none.
func (l *SubmitLimiter) take(ip string, form int64, now time.Time) error {
	if l == nil || l.PerMinute <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[submitKey]*bucket{}
	}
	if now.Sub(l.sweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 2*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
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

// clientBucket is the address a limit counts by: an IPv6 client usually
// holds a whole /64, so it counts as one.
func clientBucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

func submitLimitedProblem(err error) (*Problem, bool) {
	var lim *errSubmitLimited
	if !errors.As(err, &lim) {
		return nil, false
	}
	p := problem(http.StatusTooManyRequests, TypeRateLimited, "Too many submissions",
		"Too many submissions to this form from your address. Wait "+strconv.Itoa(lim.retryAfter)+" seconds and send it again; it will not be stored twice.")
	p.retryAfter = strconv.Itoa(lim.retryAfter)
	p.code = "RATE_LIMITED"
	p.hint = "Wait a moment and send the form again; it will not be stored twice."
	return p, true
}
