package api

import (
	"crypto/sha256"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/tokenbucket"
)

// AuthLimiter limits, per client address, requests to /api/v1 whose API
// key is unknown or revoked: PerMinute such failures a minute on average,
// in bursts of up to PerMinute; an IPv6 /64 counts as one address (see
// tokenbucket.AddressKey). A token is taken before the key is looked up, in one step
// with the check, and given back when the key authenticates: an address
// that is over the limit costs no database query per guess, and a burst of
// concurrent guesses no more than PerMinute.
//
// Only failures count: a key that authenticates never takes a token, and a
// request without an Authorization header guesses nothing. A key that
// authenticated recently (by its SHA-256, kept in memory for
// knownKeyMemory) is still looked up from an address over the limit: a
// valid key is not guessing, and a person behind the same NAT as a
// guesser keeps working. Any other key from that address is answered 429
// without a lookup. Kept across the serve nodes by Share, like the other
// limits.
type AuthLimiter struct {
	PerMinute int
	// Share divides the limit among the live serve nodes (each keeps its
	// share); nil: this process alone.
	Share *tokenbucket.Share

	clock func() time.Time // nil: time.Now; tests freeze it

	mu        sync.Mutex
	addresses tokenbucket.Addresses
	known     map[[sha256.Size]byte]time.Time // keys that authenticated, when last
	sweep     time.Time
}

// DefaultAuthFailuresPerMinute is generous to a person who mistypes a key
// and stops a script that guesses them.
const DefaultAuthFailuresPerMinute = 20

// knownKeyMemory is how long a key that authenticated passes a limited
// address's gate without a new lookup being refused.
const knownKeyMemory = 10 * time.Minute

func (l *AuthLimiter) off() bool { return l == nil || l.PerMinute <= 0 }

func (l *AuthLimiter) now() time.Time {
	if l != nil && l.clock != nil {
		return l.clock()
	}
	return time.Now()
}

func (l *AuthLimiter) perSecond() float64 { return float64(l.per()) / 60 }

// per is this node's share of PerMinute.
func (l *AuthLimiter) per() int { return l.Share.Of(l.PerMinute) }

// sweepLocked forgets full buckets and keys not seen for knownKeyMemory.
func (l *AuthLimiter) sweepLocked(now time.Time) {
	if l.known == nil {
		l.known = map[[sha256.Size]byte]time.Time{}
	}
	if now.Sub(l.sweep) <= time.Minute {
		return
	}
	l.addresses.Sweep(now, 2*time.Minute)
	for k, at := range l.known {
		if now.Sub(at) > knownKeyMemory {
			delete(l.known, k)
		}
	}
	l.sweep = now
}

// check says whether key, sent from ip, may be looked up, and takes ip's
// token for it in the same step: a burst of concurrent guesses from a
// fresh address cannot all pass before the first of them is counted, so
// at most PerMinute of them cost a lookup. A key that turns out to
// authenticate gives the token back (giveBack); so does a lookup that
// fails for another reason than the key. With no token left, key may still
// be looked up if it authenticated recently (took is then false). When it
// may not, wait is the seconds until ip has a token again and reset the
// seconds until its bucket is full.
func (l *AuthLimiter) check(ip, key string) (ok, took bool, wait, reset int) {
	if l.off() {
		return true, false, 0, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	untilToken, untilFull, taken := l.addresses.Take(ip, now, l.per())
	if taken {
		return true, true, 0, 0
	}
	if _, known := l.known[sha256.Sum256([]byte(key))]; known {
		return true, false, 0, 0
	}
	wait = max(1, int(math.Ceil(untilToken.Seconds())))
	reset = int(math.Ceil(untilFull.Seconds()))
	return false, false, wait, reset
}

// giveBack returns the token check took for ip: the key was not a failure.
func (l *AuthLimiter) giveBack(ip string) {
	if l.off() {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addresses.Put(ip, now, l.per())
}

// succeeded remembers a key that authenticated.
func (l *AuthLimiter) succeeded(key string) {
	if l.off() {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	l.known[sha256.Sum256([]byte(key))] = now
}

// limited sets the RateLimit headers of this limit (setRateLimitHeaders)
// and returns the 429 of an address over it.
func (l *AuthLimiter) limited(w http.ResponseWriter, wait, reset int) error {
	setRateLimitHeaders(w.Header(), l.per(), 0, reset)
	return &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Title: "Too many failed API keys",
		Detail: "Your address sent more than " + strconv.Itoa(l.PerMinute) + " unknown or revoked API keys in a minute. Wait " + strconv.Itoa(wait) +
			" seconds and send a valid key (Authorization: Bearer <key>); a key that works is never counted.",
		RetryAfter: time.Duration(wait) * time.Second}
}
