package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/intakehq/intake"
)

// RateLimiter is a token bucket per API key: PerMinute requests a minute on
// average, in bursts of up to PerMinute. It is per process; behind N
// replicas a key gets up to N times as much.
type RateLimiter struct {
	PerMinute int

	mu      sync.Mutex
	buckets map[int64]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// DefaultRatePerMinute is generous: a script or an agent paging through an
// export never meets it; a runaway loop does.
const DefaultRatePerMinute = 600

// allow takes a token for key and returns the headers' numbers: whether the
// request may go on, the tokens left, and the seconds until the bucket is
// full again (or, when refused, until the next token).
func (l *RateLimiter) allow(key int64, now time.Time) (ok bool, remaining int, reset int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[int64]*bucket{}
	}
	// Buckets idle long enough to be full again carry no state worth keeping.
	if now.Sub(l.sweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 2*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, found := l.buckets[key]
	if !found {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.PerMinute)/60), l.PerMinute)}
		l.buckets[key] = b
	}
	b.seen = now
	ok = b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	perSecond := float64(l.PerMinute) / 60
	if ok {
		return true, int(math.Floor(tokens)), int(math.Ceil((float64(l.PerMinute) - tokens) / perSecond))
	}
	return false, 0, int(math.Ceil((1 - tokens) / perSecond))
}

// rateLimit applies the limiter to authenticated requests and sets the
// RateLimit headers (draft-ietf-httpapi-ratelimit-headers) on every answer.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.RateLimit == nil || s.RateLimit.PerMinute <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, remaining, reset := s.RateLimit.allow(principal(r).KeyID, time.Now())
		h := w.Header()
		h.Set("RateLimit-Policy", strconv.Itoa(s.RateLimit.PerMinute)+";w=60")
		h.Set("RateLimit-Limit", strconv.Itoa(s.RateLimit.PerMinute))
		h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(max(reset, 0)))
		if !ok {
			s.writeError(w, r, &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Title: "Too many requests",
				Detail:     "This API key is over its rate limit of " + strconv.Itoa(s.RateLimit.PerMinute) + " requests a minute. Retry after Retry-After seconds.",
				RetryAfter: time.Duration(max(reset, 1)) * time.Second})
			return
		}
		next.ServeHTTP(w, r)
	})
}
