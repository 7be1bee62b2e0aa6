package submissions_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// withQuota puts the bundle's account on a fresh plan of n submissions a
// month.
func (b *testBundle) withQuota(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("test-%d", n)
	if _, err := b.db.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ($1, 'Test', $2) ON CONFLICT DO NOTHING`, id, n); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.db, audit.System, b.account, id); err != nil {
		t.Fatal(err)
	}
}

func (b *testBundle) usage(t *testing.T) int64 {
	t.Helper()
	u, err := accounts.UsageOf(context.Background(), b.db, b.account, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return u.Used
}

func TestNewAccountsStartOnTheFreePlan(t *testing.T) {
	b := setup(t)
	u, err := accounts.UsageOf(context.Background(), b.db, b.account, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if u.Plan.ID != "free" || u.Plan.MonthlySubmissions != 1000 || u.Used != 0 {
		t.Fatalf("new account's usage = %+v, want the free plan (1000 a month), none used", u)
	}
}

func TestQuotaRefusesOnlyNewSubmissions(t *testing.T) {
	b := setup(t)
	b.withQuota(t, 3)
	ctx := context.Background()
	for i := range 3 {
		if _, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("k%d", i), contact(i))); err != nil {
			t.Fatalf("submission %d under the quota: %v", i, err)
		}
	}
	_, err := b.svc.Accept(ctx, b.request(t, "k3", contact(3)))
	var quota *accounts.QuotaError
	if !errors.As(err, &quota) {
		t.Fatalf("4th submission on a quota of 3: err = %v, want *accounts.QuotaError", err)
	}
	if quota.Usage.Used != 3 || quota.Usage.Plan.MonthlySubmissions != 3 || !quota.Usage.Resets().After(time.Now()) {
		t.Fatalf("quota error carries %+v", quota.Usage)
	}
	// A retry of an accepted submission still gets its answer: the quota
	// refuses new work, never what was taken.
	res, err := b.svc.Accept(ctx, b.request(t, "k1", contact(1)))
	if err != nil || res.Outcome != submissions.OutcomeReplayed {
		t.Fatalf("replay over the quota = %v, %+v; want the stored answer", err, res)
	}
	if n := b.count(t, "submissions"); n != 3 {
		t.Fatalf("%d submissions stored, want 3", n)
	}
	if u := b.usage(t); u != 3 {
		t.Fatalf("usage = %d, want 3", u)
	}
	// A bigger plan takes submissions again at once.
	if err := accounts.SetPlan(ctx, b.db, audit.System, b.account, "pro"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Accept(ctx, b.request(t, "k3", contact(3))); err != nil {
		t.Fatalf("after an upgrade: %v", err)
	}
}

func TestSpamDoesNotCount(t *testing.T) {
	b := setup(t)
	b.withQuota(t, 2)
	ctx := context.Background()
	for i := range 5 {
		bot := map[string]any{"email": "bot@example.com", "_gotcha": fmt.Sprint("http://spam.example/", i)}
		res, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("bot%d", i), bot))
		if err != nil || res.Outcome != submissions.OutcomeSpam {
			t.Fatalf("honeypot submission %d = %v %+v, want spam", i, err, res)
		}
	}
	if u := b.usage(t); u != 0 {
		t.Fatalf("usage after 5 spam = %d, want 0", u)
	}
	for i := range 2 {
		if _, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("k%d", i), contact(i))); err != nil {
			t.Fatalf("real submission %d after spam: %v", i, err)
		}
	}
}

// The count is written in the submission's transaction: a submission that
// rolls back is not counted, and concurrent ones are each counted once.
func TestQuotaCountIsExactUnderConcurrencyAndFaults(t *testing.T) {
	b := setup(t)
	b.withQuota(t, 1000)
	ctx := context.Background()

	b.svc.AfterInsert = testfactory.FailWrite
	if _, err := b.svc.Accept(ctx, b.request(t, "doomed", contact(0))); !testfactory.IsInjectedFault(err) {
		t.Fatal("the injected fault did not fail the submission")
	}
	b.svc.AfterInsert = nil
	if u := b.usage(t); u != 0 {
		t.Fatalf("usage after a rolled-back submission = %d, want 0", u)
	}

	const clients, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, clients*each*2)
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				n := c*each + i
				// Every intent twice: the replay must not count.
				for range 2 {
					if _, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("c%d", n), contact(n))); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, u := b.count(t, "submissions"), b.usage(t); n != clients*each || u != clients*each {
		t.Fatalf("%d submissions stored, usage %d; want %d of each", n, u, clients*each)
	}
}

// Racing the last places of a quota: every refusal is a quota error, the
// usage equals what was stored, and the quota is never exceeded by more
// than the submissions in flight when it ran out.
func TestQuotaEdgeUnderRace(t *testing.T) {
	b := setup(t)
	const quota, clients = 5, 20
	b.withQuota(t, quota)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			_, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("r%d", c), contact(c)))
			results <- err
		})
	}
	wg.Wait()
	close(results)
	accepted := 0
	for err := range results {
		var q *accounts.QuotaError
		switch {
		case err == nil:
			accepted++
		case !errors.As(err, &q):
			t.Fatalf("a racing submission failed with %v, want success or a quota error", err)
		}
	}
	n, u := b.count(t, "submissions"), b.usage(t)
	if accepted < quota || accepted > clients || int64(n) != u || n != accepted {
		t.Fatalf("accepted %d, stored %d, usage %d (quota %d)", accepted, n, u, quota)
	}
	// Once the race settles, the quota holds.
	var q *accounts.QuotaError
	if _, err := b.svc.Accept(ctx, b.request(t, "late", contact(99))); !errors.As(err, &q) {
		t.Fatalf("after the race: %v, want a quota error", err)
	}
}
