// Package tokenbucket holds what Intake's per-client limits share: the
// key a client address counts by (AddressKey), and a token bucket that can
// take a token back, which golang.org/x/time/rate's Limiter cannot (its
// Cancel restores nothing once a token was granted at once). The
// per-address limits of /f/ and of unknown API keys use it to give a
// replay's token back.
package tokenbucket

import (
	"net/netip"
	"sync/atomic"
	"time"
)

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

// Addresses is a bucket per client address (AddressKey: an IPv6 /64
// is one address), each made full on first use and refilled at perMinute
// a minute up to perMinute. The zero value is ready; the caller holds the
// lock.
type Addresses struct {
	m map[string]*Bucket
}

// Take takes a token from ip's bucket, or says how long until there is
// one; full is how long until the bucket is full.
func (a *Addresses) Take(ip string, now time.Time, perMinute int) (wait, full time.Duration, ok bool) {
	if a.m == nil {
		a.m = map[string]*Bucket{}
	}
	k := AddressKey(ip)
	b, ok := a.m[k]
	if !ok {
		b = &Bucket{Tokens: float64(perMinute), At: now}
		a.m[k] = b
	}
	perSecond := float64(perMinute) / 60
	wait, ok = b.Take(now, perSecond, float64(perMinute))
	return wait, time.Duration((float64(perMinute) - b.Tokens) / perSecond * float64(time.Second)), ok
}

// Put gives ip a token back.
func (a *Addresses) Put(ip string, now time.Time, perMinute int) {
	if b, ok := a.m[AddressKey(ip)]; ok {
		b.Put(now, float64(perMinute)/60, float64(perMinute))
	}
}

// Sweep forgets the buckets not brought up to date for idle: full again
// by then, they hold nothing worth keeping.
func (a *Addresses) Sweep(now time.Time, idle time.Duration) {
	for k, b := range a.m {
		if now.Sub(b.At) > idle {
			delete(a.m, k)
		}
	}
}

// AddressKey is the address a per-client limit counts by: an IPv6 client
// usually holds a whole /64 and can rotate through it at will, so a /64
// counts as one client; an IPv4-mapped address counts as its IPv4 address.
// A string that is not an address is its own key.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// Share is this process's share of the limits kept across a cluster of
// serve nodes: each limit divided by the nodes alive (database.Heartbeat
// counts them), rounded down but at least 1. With a balancer that spreads
// a client's requests over the nodes, the nodes together let a client
// through at most the limit, with no round trip per request; a balancer
// that keeps a client on one node gives it less (its node's share). The
// zero value, and nil, count one node: the whole limit.
type Share struct{ nodes atomic.Int64 }

// Set records that n nodes are alive.
func (s *Share) Set(n int) { s.nodes.Store(int64(max(1, n))) }

// Nodes is how many nodes the limits are shared by.
func (s *Share) Nodes() int {
	if s == nil {
		return 1
	}
	return max(1, int(s.nodes.Load()))
}

// Of is this node's share of perMinute.
func (s *Share) Of(perMinute int) int {
	if perMinute <= 0 {
		return perMinute
	}
	return max(1, perMinute/s.Nodes())
}
