package people_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/people"
	"github.com/intakehq/intake/submissions"
)

// benchSQL makes n submissions over the account's four forms ($1), one a
// second backwards from now: each carries personI@example.com as a
// field's value, friend(I mod 1000)@example.org as a word in its text (so
// each friend is in 1,000 submissions), and every tenth a reply-to.
const benchSQL = `
INSERT INTO submissions (id, form_id, contract_version, data, meta, created_at)
SELECT gen_random_uuid(), ($1::bigint[])[1 + i % 4], 1,
	jsonb_build_object('email', 'person' || i || '@example.com', 'message', 'hello number ' || i || ', say hi to friend' || i % 1000 || '@example.org'),
	CASE WHEN i % 10 = 0 THEN jsonb_build_object('reply_to', 'reply' || i || '@example.net') ELSE '{}' END,
	now() - i * interval '1 second'
FROM generate_series(1, $2) AS i`

// A person's lookup and erasure among a million submissions (100,000
// without INTAKE_BENCH_LARGE): one address in one submission, one in a
// thousand. Three runs of each on the same data, for their spread.
// docs/BENCHMARKS.md has the numbers and the plan.
func BenchmarkPeople(b *testing.B) {
	ctx := context.Background()
	rows := 100_000
	if os.Getenv("INTAKE_BENCH_LARGE") != "" {
		rows = 1_000_000
	}
	tb := setup(b)
	var ids []int64
	for i := range 4 {
		ids = append(ids, testfactory.NewForm(ctx, b, tb.db, tb.account, &testfactory.FormOpts{Name: fmt.Sprint("Form ", i), Fields: textFields}).ID)
	}
	start := time.Now()
	if _, err := tb.db.Exec(ctx, benchSQL, ids, rows); err != nil {
		b.Fatal(err)
	}
	if _, err := tb.db.Exec(ctx, `VACUUM ANALYZE submissions`); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d submissions inserted and vacuumed in %s", rows, time.Since(start).Round(time.Second))
	explain(b, tb, "person777@example.com")
	explain(b, tb, "friend7@example.org")

	lookup := func(address string, want int64) func(*testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				l, err := people.Find(ctx, tb.db, actor, tb.account, address)
				if err != nil {
					b.Fatal(err)
				}
				n, err := l.Write(ctx, tb.db, io.Discard, nil)
				// The erasures below take a friend's rows one by one:
				// a thousand means at least 990 of them.
				if err != nil || int64(n) != l.Count || l.Count < want || l.Count > want && want == 1 {
					b.Fatalf("lookup of %s: %d, %d lines, %v; want %d", address, l.Count, n, err, want)
				}
			}
		}
	}
	var next atomic.Int64 // the next person to erase
	erase := func(format string, want int64) func(*testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				address := fmt.Sprintf(format, next.Add(1))
				c, err := people.Erase(ctx, tb.db, actor, tb.account, address, 0, nil)
				if err != nil || c.Submissions != want {
					b.Fatalf("erasure of %s: %+v, %v; want %d", address, c, err, want)
				}
			}
		}
	}
	// The index probe alone: the count Find makes before its audit entry.
	probe := func(b *testing.B) {
		for b.Loop() {
			if n, err := submissions.CountPerson(ctx, tb.db, tb.account, "person777@example.com"); err != nil || n != 1 {
				b.Fatalf("count: %d, %v", n, err)
			}
		}
	}
	for run := 1; run <= 3; run++ {
		b.Run(fmt.Sprintf("probe/one/run=%d", run), probe)
		b.Run(fmt.Sprintf("lookup/one/run=%d", run), lookup("person777@example.com", 1))
		b.Run(fmt.Sprintf("lookup/thousand/run=%d", run), lookup("friend7@example.org", int64(rows/1000-10)))
		b.Run(fmt.Sprintf("erase/one/run=%d", run), erase("person%d@example.com", 1))
	}
	// Each friend erased takes its thousand rows (less those erased above).
	b.Run("erase/thousand", func(b *testing.B) {
		var friend atomic.Int64
		friend.Store(100)
		for b.Loop() {
			c, err := people.Erase(ctx, tb.db, actor, tb.account, fmt.Sprintf("friend%d@example.org", friend.Add(1)), 0, nil)
			if err != nil || c.Submissions < int64(rows/1000)-10 {
				b.Fatalf("erasure: %+v, %v", c, err)
			}
		}
	})
}

// explain logs the plan of the lookup of address.
func explain(b *testing.B, tb *testBundle, address string) {
	rows, err := tb.db.Query(context.Background(), `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT s.id FROM submissions s WHERE s.form_id IN (SELECT id FROM forms WHERE account_id = $1)
	AND submission_addresses(s.data, s.meta) @> ARRAY[lower($2::text)]`, tb.account, address)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		plan = append(plan, line)
	}
	b.Logf("plan of the lookup of %s:\n%s", address, strings.Join(plan, "\n"))
	if !strings.Contains(strings.Join(plan, "\n"), "submissions_addresses_idx") {
		b.Errorf("the lookup does not use submissions_addresses_idx")
	}
}
