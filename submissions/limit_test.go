package submissions

import (
	"strconv"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/tokenbucket"
)

func TestSubmitLimitCountsIPv6ByPrefix(t *testing.T) {
	t.Parallel()
	l := &Limiter{PerMinute: 2}
	now := time.Now()
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::ffff", "2001:db8:1:2:abcd::9"} {
		err := l.take(ip, 1, now)
		if (err != nil) != (i == 2) {
			t.Errorf("%s: %v (one /64 shares one bucket of 2)", ip, err)
		}
	}
	if err := l.take("2001:db8:1:3::1", 1, now); err != nil {
		t.Errorf("another /64: %v", err)
	}
}

func TestSubmitLimitPerAddressBucket(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := &Limiter{PerMinute: 3} // 30 a minute over all forms: one token every 2 s
	for i := range 3 * AddressFactor {
		if err := l.takeAddress("192.0.2.1", now); err != nil {
			t.Fatalf("take %d of %d: %v", i+1, 3*AddressFactor, err)
		}
	}
	if err := l.takeAddress("192.0.2.1", now); err == nil {
		t.Fatal("the bucket does not run out")
	}
	// A token given back (the request was a replay) can be taken again;
	// a second cannot until one has come back in.
	l.giveBack("192.0.2.1", now)
	if err := l.takeAddress("192.0.2.1", now); err != nil {
		t.Errorf("the token given back: %v", err)
	}
	if err := l.takeAddress("192.0.2.1", now.Add(time.Second)); err == nil {
		t.Error("a token came back in 1 s, want 2 s")
	}
	if err := l.takeAddress("192.0.2.1", now.Add(2*time.Second)); err != nil {
		t.Errorf("no token back after 2 s: %v", err)
	}
	// Giving back never fills the bucket past its size.
	for range 5 {
		l.giveBack("192.0.2.2", now)
	}
	for i := range 3*AddressFactor + 1 {
		if err := l.takeAddress("192.0.2.2", now); (err != nil) != (i == 3*AddressFactor) {
			t.Fatalf("take %d: %v", i+1, err)
		}
	}

	// One IPv6 /64 is one address; PerAddress overrides the factor.
	l = &Limiter{PerMinute: 3, PerAddress: 1}
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::ffff", "2001:db8:1:3::1"} {
		if err := l.takeAddress(ip, now); (err != nil) != (i == 1) {
			t.Errorf("%s: %v", ip, err)
		}
	}
	// A PerMinute of 0 turns both limits off.
	l = &Limiter{PerMinute: 0, PerAddress: 1}
	for range 5 {
		if err := l.takeAddress("192.0.2.1", now); err != nil {
			t.Fatalf("with the limit off: %v", err)
		}
	}
}

// Three nodes sharing the limits (tokenbucket.Share) let one address
// through no more than the limit between them, per form and over all
// forms; when two of them stop, the one left takes the whole limit again
// (its bucket holds what it had, then fills to the whole limit).
func TestSubmitLimitSharedByNodes(t *testing.T) {
	t.Parallel()
	now := time.Now()
	share := &tokenbucket.Share{}
	share.Set(3)
	nodes := []*Limiter{{PerMinute: 30, Share: share}, {PerMinute: 30, Share: share}, {PerMinute: 30, Share: share}}
	taken := 0
	for i := range 90 { // a balancer's round robin
		if nodes[i%3].take("192.0.2.7", 1, now) == nil {
			taken++
		}
	}
	if taken != 30 {
		t.Errorf("three nodes took %d submissions of one address to one form, want the limit, 30", taken)
	}
	addressTaken := 0
	for i := range 3 * 300 {
		if nodes[i%3].takeAddress("192.0.2.8", now) == nil {
			addressTaken++
		}
	}
	if addressTaken != 300 {
		t.Errorf("three nodes took %d requests of one address, want its limit, 300", addressTaken)
	}
	share.Set(1)
	_ = nodes[0].take("192.0.2.7", 1, now.Add(time.Minute)) // the bucket learns the new share
	later := now.Add(2 * time.Minute)
	taken = 0
	for range 40 {
		if nodes[0].take("192.0.2.7", 1, later) == nil {
			taken++
		}
	}
	if taken != 30 {
		t.Errorf("one node left took %d, want the whole limit, 30", taken)
	}
}

// What keeping the limit across nodes costs a request: the share is read
// from an atomic, no round trip.
func BenchmarkLimiterTake(b *testing.B) {
	for _, tc := range []struct {
		name  string
		share *tokenbucket.Share
	}{{"alone", nil}, {"shared by 3 nodes", func() *tokenbucket.Share { s := &tokenbucket.Share{}; s.Set(3); return s }()}} {
		b.Run(tc.name, func(b *testing.B) {
			l := &Limiter{PerMinute: 1 << 30, Share: tc.share}
			now := time.Now()
			for i := 0; b.Loop(); i++ {
				ip := "192.0.2." + strconv.Itoa(i%200)
				_ = l.takeAddress(ip, now)
				_ = l.take(ip, int64(i%7), now)
			}
		})
	}
}
