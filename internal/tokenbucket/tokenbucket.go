// Package tokenbucket is a token bucket that can take a token back, which
// golang.org/x/time/rate's Limiter cannot (its Cancel restores nothing once
// a token was granted at once). The per-address limits of /f/ and of
// unknown API keys use it to give a replay's token back.
package tokenbucket

import "time"

// Bucket holds Tokens as of At. The caller holds the lock.
type Bucket struct {
	Tokens float64
	At     time.Time // when Tokens was last brought up to date
}

// Refill brings Tokens up to date at now.
func (b *Bucket) Refill(now time.Time, perSecond, burst float64) {
	if now.After(b.At) {
		b.Tokens = min(burst, b.Tokens+now.Sub(b.At).Seconds()*perSecond)
		b.At = now
	}
}

// Take takes a token, or says how long until there is one.
func (b *Bucket) Take(now time.Time, perSecond, burst float64) (time.Duration, bool) {
	b.Refill(now, perSecond, burst)
	if b.Tokens < 1 {
		return time.Duration((1 - b.Tokens) / perSecond * float64(time.Second)), false
	}
	b.Tokens--
	return 0, true
}

// Put gives a token back.
func (b *Bucket) Put(now time.Time, perSecond, burst float64) {
	b.Refill(now, perSecond, burst)
	b.Tokens = min(burst, b.Tokens+1)
}
