package web

import (
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake/internal/tokenbucket"
)

// loginThrottle counts failed log-ins (and other password checks, and
// sign-ups) in a sliding window, in memory, under two keys: the pair of
// account email and client address, and the client address alone. No key
// is the email alone: a stranger's failures, from their address, must
// never lock the owner out of their own account from another (ten wrong
// passwords from anyone used to do that for 15 minutes). So a guesser gets
// perPair tries an account from each address they hold, each a full
// argon2id check, against a password of at least 8 characters.
//
// Behind N serve nodes each keeps its share of the limits (share), so
// that together they keep them.
type loginThrottle struct {
	window  time.Duration
	perPair int // failures of one account email from one address
	perIP   int // failures from one address, over every account
	share   *tokenbucket.Share

	mu    sync.Mutex
	fails map[string][]time.Time // by pairKey or "ip:<address>", oldest first
	swept time.Time
}

// Throttle defaults: 10 failures an account from one address, 50 from an
// address, in 15 minutes.
func newLoginThrottle() *loginThrottle {
	return &loginThrottle{window: 15 * time.Minute, perPair: 10, perIP: 50, fails: map[string][]time.Time{}}
}

// newForgotThrottle limits password-reset requests per client address: 10
// an hour, whatever the addresses asked for, so one client cannot make
// Intake mail many people (each address is limited apart, in the database).
func newForgotThrottle() *loginThrottle {
	return &loginThrottle{window: time.Hour, perIP: 10, fails: map[string][]time.Time{}}
}

func pairKey(email, ip string) string {
	return "pair:" + strings.ToLower(strings.TrimSpace(email)) + "\x00" + tokenbucket.AddressKey(ip)
}

// wait returns how long email (may be "") from ip must wait before the
// next attempt; 0 when it may try now.
func (t *loginThrottle) wait(email, ip string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waitLocked(email, ip, now)
}

func (t *loginThrottle) waitLocked(email, ip string, now time.Time) time.Duration {
	w := t.keyWait("ip:"+tokenbucket.AddressKey(ip), t.share.Of(t.perIP), now)
	if email != "" {
		w = max(w, t.keyWait(pairKey(email, ip), t.share.Of(t.perPair), now))
	}
	return w
}

func (t *loginThrottle) keyWait(key string, limit int, now time.Time) time.Duration {
	ts := t.recent(key, now)
	if len(ts) < limit {
		return 0
	}
	return max(ts[len(ts)-limit].Add(t.window).Sub(now), time.Second)
}

// recent returns key's failures within the window, dropping older ones.
func (t *loginThrottle) recent(key string, now time.Time) []time.Time {
	ts := t.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= t.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(t.fails, key)
	} else {
		t.fails[key] = ts
	}
	return ts
}

// attempt checks whether email (may be "") from ip may try now and, if so,
// counts this try as a failure at once (succeeded takes the pair's back),
// in one step under the lock: parallel guesses cannot all slip in under
// the limit while the first are still hashing. It returns how long to
// wait, 0 when the try may go on.
func (t *loginThrottle) attempt(email, ip string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w := t.waitLocked(email, ip, now); w > 0 {
		return w
	}
	t.addLocked(email, ip, now)
	return 0
}

// failed records a failure of email (may be "") from ip.
func (t *loginThrottle) failed(email, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(email, ip, now)
}

func (t *loginThrottle) addLocked(email, ip string, now time.Time) {
	if now.Sub(t.swept) > t.window {
		for k := range t.fails {
			t.recent(k, now)
		}
		t.swept = now
	}
	t.add("ip:"+tokenbucket.AddressKey(ip), t.share.Of(t.perIP), now)
	if email != "" {
		t.add(pairKey(email, ip), t.share.Of(t.perPair), now)
	}
}

func (t *loginThrottle) add(key string, limit int, now time.Time) {
	ts := append(t.recent(key, now), now)
	if len(ts) > limit {
		ts = ts[len(ts)-limit:]
	}
	t.fails[key] = ts
}

// succeeded forgets the failures of email from ip: whoever is there just
// proved the password.
func (t *loginThrottle) succeeded(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, pairKey(email, ip))
}
