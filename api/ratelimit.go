package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/tokenbucket"
)

// RateLimiter is a token bucket per API key: PerMinute requests a minute on
// average, in bursts of up to PerMinute, kept across the serve nodes by
// Share.
type RateLimiter struct {
	PerMinute int
	// Share divides the limit among the live serve nodes (each keeps its
	// share); nil: this process alone.
	Share *tokenbucket.Share

	mu      sync.Mutex
	buckets map[int64]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	per  int // the share of PerMinute it was made with
	seen time.Time
}

// DefaultRatePerMinute is generous: a script or an agent paging through an
// export never meets it; a runaway loop does.
const DefaultRatePerMinute = 600

// allow takes a token for key and returns the headers' numbers: whether the
// request may go on, the tokens left, the seconds until the bucket is full
// again (RateLimit-Reset) and, when refused, the seconds until the next
// token (Retry-After).
func (l *RateLimiter) allow(key int64, now time.Time) (ok bool, remaining, reset, wait int) {
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
	per := l.Share.Of(l.PerMinute)
	b, found := l.buckets[key]
	if !found {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(per)/60), per), per: per}
		l.buckets[key] = b
	} else if b.per != per { // the cluster grew or shrank
		b.lim.SetLimitAt(now, rate.Limit(float64(per)/60))
		b.lim.SetBurstAt(now, per)
		b.per = per
	}
	b.seen = now
	ok = b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	perSecond := float64(per) / 60
	reset = int(math.Ceil((float64(per) - tokens) / perSecond))
	if ok {
		return true, int(math.Floor(tokens)), reset, 0
	}
	return false, 0, reset, max(1, int(math.Ceil((1-tokens)/perSecond)))
}

// rateLimit applies the limiter to authenticated requests and sets the
// RateLimit headers on every answer.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.RateLimit == nil || s.RateLimit.PerMinute <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, remaining, reset, wait := s.RateLimit.allow(principal(r).KeyID, time.Now())
		setRateLimitHeaders(w.Header(), s.RateLimit.Share.Of(s.RateLimit.PerMinute), remaining, reset)
		if !ok {
			s.writeError(w, r, &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Title: "Too many requests",
				Detail:     "This API key is over its rate limit of " + strconv.Itoa(s.RateLimit.PerMinute) + " requests a minute. Retry after Retry-After seconds.",
				RetryAfter: time.Duration(wait) * time.Second})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// setRateLimitHeaders sets the RateLimit fields of the IETF draft
// (draft-ietf-httpapi-ratelimit-headers, the versions with
// RateLimit-Policy) for a token bucket of perMinute tokens a minute in
// bursts of perMinute. Every limiter that sends them sends them through
// here, so each means one thing (docs/errors.md, rate-limited):
// RateLimit-Reset is the delta-seconds until the quota is whole again
// (the bucket full, RateLimit-Remaining back at RateLimit-Limit), on a
// 429 as on a 200; how long to wait for the next request is Retry-After.
func setRateLimitHeaders(h http.Header, perMinute, remaining, reset int) {
	h.Set("RateLimit-Policy", strconv.Itoa(perMinute)+";w=60")
	h.Set("RateLimit-Limit", strconv.Itoa(perMinute))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(max(reset, 0)))
}
