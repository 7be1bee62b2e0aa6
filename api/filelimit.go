package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/tokenbucket"
)

// FileLinkLimiter limits, per client address, requests to the signed file
// links (GET /files/…, README "Files"): PerMinute a minute on average, in
// bursts of up to PerMinute; an IPv6 /64 counts as one address (see
// tokenbucket.AddressKey). Every request counts, a good link or a guessed
// one, and the token is taken before the signature is checked: an address
// over the limit costs neither a query nor a read of a file. Kept across
// the serve nodes by Share, like the other limits.
type FileLinkLimiter struct {
	PerMinute int
	// Share divides the limit among the live serve nodes (each keeps its
	// share); nil: this process alone.
	Share *tokenbucket.Share

	clock func() time.Time // nil: time.Now

	mu        sync.Mutex
	addresses tokenbucket.Addresses
	sweep     time.Time
}

// DefaultFileLinksPerMinute lets a webhook's receiver fetch a busy form's
// files as they arrive and stops an address from pulling them in a loop.
const DefaultFileLinksPerMinute = 120

// allow takes a token of ip's bucket; without one, wait is the seconds
// until there is one and reset the seconds until the bucket is full.
func (l *FileLinkLimiter) allow(ip string) (ok bool, wait, reset int) {
	if l == nil || l.PerMinute <= 0 {
		return true, 0, 0
	}
	now := time.Now()
	if l.clock != nil {
		now = l.clock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		l.addresses.Sweep(now, 2*time.Minute)
		l.sweep = now
	}
	untilToken, untilFull, ok := l.addresses.Take(ip, now, l.Share.Of(l.PerMinute))
	if ok {
		return true, 0, 0
	}
	return false, max(1, int(math.Ceil(untilToken.Seconds()))), int(math.Ceil(untilFull.Seconds()))
}

// limitFileLinks answers 429 rate-limited to an address over
// s.FileLinkLimit, with Retry-After and the RateLimit headers.
func (s *Server) limitFileLinks(w http.ResponseWriter, r *http.Request) bool {
	ok, wait, reset := s.FileLinkLimit.allow(s.clientIP(r))
	if ok {
		return true
	}
	per := s.FileLinkLimit.PerMinute
	setRateLimitHeaders(w.Header(), s.FileLinkLimit.Share.Of(per), 0, reset)
	s.writeError(w, r, &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Title: "Too many requests",
		Detail:     "This address has fetched more than " + strconv.Itoa(per) + " file links in a minute. Retry after Retry-After seconds.",
		RetryAfter: time.Duration(wait) * time.Second})
	return false
}
