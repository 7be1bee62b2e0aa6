package submissions_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
)

// The accept path against the local Postgres: a new keyed submission per
// iteration (form lookup, BEGIN, the claim+insert batch, the River insert,
// COMMIT). Results are in docs/BENCHMARKS.md.
func BenchmarkAccept(b *testing.B) {
	tb := setup(b)
	ctx := context.Background()
	// The path is measured in full (the quota is read and counted), but
	// b.N may exceed the free plan's quota.
	if err := accounts.SetPlan(ctx, tb.db, audit.System, tb.account, "unlimited"); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	run := func(b *testing.B, parallel bool) {
		one := func() {
			i := n.Add(1)
			if _, err := tb.svc.Accept(ctx, tb.request(b, fmt.Sprintf("bench-%d", i), contact(int(i)))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		if !parallel {
			for b.Loop() {
				one()
			}
			return
		}
		// 16 concurrent clients whatever GOMAXPROCS is.
		b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one()
			}
		})
	}
	b.Run("sequential", func(b *testing.B) { run(b, false) })
	b.Run("clients=16", func(b *testing.B) { run(b, true) })

	// A retry of a stored key: the claim conflicts, the stored answer is read.
	if _, err := tb.svc.Accept(ctx, tb.request(b, "replayed", contact(0))); err != nil {
		b.Fatal(err)
	}
	b.Run("replay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tb.svc.Accept(ctx, tb.request(b, "replayed", contact(0))); err != nil {
				b.Fatal(err)
			}
		}
	})
}
