package submissions_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// The accept path against the local Postgres: a new submission per
// iteration, keyed and keyless (its key made from its content), alone and
// 16 at once, and a replay of a stored key. Results are in
// docs/BENCHMARKS.md.
func BenchmarkAccept(b *testing.B) {
	tb := setup(b)
	ctx := context.Background()
	// The path is measured in full (the quota is read and counted), but
	// b.N may exceed the free plan's quota.
	if err := accounts.SetPlan(ctx, tb.db, audit.System, tb.account, "unlimited"); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	run := func(b *testing.B, parallel, keyed bool) {
		one := func() {
			i := n.Add(1)
			key := ""
			if keyed {
				key = fmt.Sprintf("bench-%d", i)
			}
			// Keyless JSON gets a key from its content (idempotency.KeylessKey):
			// each iteration's content is new, so each is stored.
			res, err := tb.svc.Accept(ctx, tb.request(b, key, contact(int(i))))
			if err != nil {
				b.Fatal(err)
			}
			if res.Outcome != submissions.OutcomeCreated {
				b.Fatal(res.Outcome)
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
	// Keyed and keyless side by side, so their ratio is of one run.
	b.Run("sequential", func(b *testing.B) { run(b, false, true) })
	b.Run("keyless/sequential", func(b *testing.B) { run(b, false, false) })
	b.Run("clients=16", func(b *testing.B) { run(b, true, true) })
	b.Run("keyless/clients=16", func(b *testing.B) { run(b, true, false) })

	// A retry of a stored key: the claim conflicts, the stored answer is read.
	if _, err := tb.svc.Accept(ctx, tb.request(b, "replayed", contact(0))); err != nil {
		b.Fatal(err)
	}
	replay := func() {
		res, err := tb.svc.Accept(ctx, tb.request(b, "replayed", contact(0)))
		if err != nil {
			b.Fatal(err)
		}
		if res.Outcome != submissions.OutcomeReplayed {
			b.Fatal(res.Outcome)
		}
	}
	b.Run("replay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			replay()
		}
	})
	// Replays 16 at once, against "clients=16" above.
	b.Run("replay/clients=16", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				replay()
			}
		})
	})
}

// The cost of a form's unique value on the ingest path (README, "One
// answer per person"): the same new keyed submissions, 16 clients at once,
// to a form without the setting and to one that takes each email once
// (every submission a new email, so every one is stored and checked).
// Run together, so the ratio is of one run; docs/BENCHMARKS.md has it.
func BenchmarkAcceptUnique(b *testing.B) {
	tb := setup(b)
	ctx := context.Background()
	if err := accounts.SetPlan(ctx, tb.db, audit.System, tb.account, "unlimited"); err != nil {
		b.Fatal(err)
	}
	plain := tb.form
	unique := testfactory.NewForm(ctx, b, tb.db, tb.account, &testfactory.FormOpts{
		Settings: forms.Settings{Unique: forms.Unique{Fields: []string{"email"}}}})
	var n atomic.Int64
	for _, f := range []*forms.Form{plain, unique, plain, unique} {
		name := "unique=off"
		if f.Settings.Unique.On() {
			name = "unique=on"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					req := tb.request(b, fmt.Sprintf("u-%d", i), contact(int(i)))
					req.FormID = f.PublicID
					if res, err := tb.svc.Accept(ctx, req); err != nil || res.Outcome != submissions.OutcomeCreated {
						b.Fatalf("%v %v", res.Outcome, err)
					}
				}
			})
		})
	}
}
