package submissions_test

import (
	"context"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// Summaries gives each form asked for its total, its newest submission and
// a dense run of days, counting spam and replays apart and nothing outside
// the window but the total.
func TestSummaries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	busy, quiet := b.form, testfactory.NewForm(ctx, t, b.db, b.form.AccountID, nil)
	empty := testfactory.NewForm(ctx, t, b.db, b.form.AccountID, nil)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	today := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -29)

	for _, s := range []struct {
		form int64
		at   time.Time
		spam bool
	}{
		{busy.ID, now.Add(-time.Hour), false},
		{busy.ID, now.Add(-2 * time.Hour), false},
		{busy.ID, today.Add(-time.Hour), true}, // yesterday
		{busy.ID, today.AddDate(0, 0, -40), false},
		{quiet.ID, first.Add(time.Second), false},
	} {
		_, err := b.db.Exec(ctx, `INSERT INTO submissions (id, form_id, contract_version, data, spam, created_at)
VALUES (gen_random_uuid(), $1, 1, '{}', $2, $3)`, s.form, s.spam, s.at)
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := b.db.Exec(ctx, `INSERT INTO form_daily_replays (form_id, day, replays) VALUES ($1, $2, 3), ($1, $3, 5)`,
		busy.ID, today, today.AddDate(0, 0, -40))
	if err != nil {
		t.Fatal(err)
	}

	sums, err := submissions.Summaries(ctx, b.db, []int64{busy.ID, quiet.ID, empty.ID}, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]struct {
		total int64
		last  time.Time
		days  map[int]submissions.Day // by index; every other day is zero
	}{
		busy.ID: {4, now.Add(-time.Hour), map[int]submissions.Day{
			29: {Date: today, Submissions: 2, Duplicates: 3},
			28: {Date: today.AddDate(0, 0, -1), Spam: 1},
		}},
		quiet.ID: {1, first.Add(time.Second), map[int]submissions.Day{0: {Date: first, Submissions: 1}}},
		empty.ID: {0, time.Time{}, nil},
	} {
		s := sums[id]
		if s == nil {
			t.Fatalf("no summary for form %d", id)
		}
		if s.Total != want.total || !s.Last.Equal(want.last) || len(s.Days) != 30 {
			t.Errorf("form %d: total %d, last %v, %d days; want %d, %v, 30", id, s.Total, s.Last, len(s.Days), want.total, want.last)
			continue
		}
		for i, d := range s.Days {
			w, ok := want.days[i]
			if !ok {
				w = submissions.Day{Date: first.AddDate(0, 0, i)}
			}
			if !d.Date.Equal(w.Date) || d.Submissions != w.Submissions || d.Spam != w.Spam || d.Duplicates != w.Duplicates {
				t.Errorf("form %d, day %d: %+v, want %+v", id, i, d, w)
			}
		}
	}
	if sums, err := submissions.Summaries(ctx, b.db, nil, 30, now); err != nil || len(sums) != 0 {
		t.Errorf("no forms: %v, %v", sums, err)
	}
}
