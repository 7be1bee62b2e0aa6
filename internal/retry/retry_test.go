package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/intakehq/intake/internal/retry"
)

var _ river.ClientRetryPolicy = retry.Policy{}

// Each attempt waits its own step of the schedule, the last step past its
// end, within 10 %.
func TestPolicyFollowsScheduleWithJitter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		policy  retry.Policy
		attempt int
		want    time.Duration
	}{
		{retry.Policy{}, 0, 5 * time.Second},
		{retry.Policy{}, 1, 5 * time.Second},
		{retry.Policy{}, 2, 5 * time.Minute},
		{retry.Policy{}, 9, 24 * time.Hour},
		{retry.Policy{}, 25, 24 * time.Hour},
		{retry.Policy{Schedule: []time.Duration{time.Second}}, 7, time.Second},
	}
	for _, c := range cases {
		for range 50 {
			got := c.policy.Delay(c.attempt)
			if got < c.want*9/10 || got > c.want*11/10 {
				t.Fatalf("attempt %d: delay %s, want %s ±10 %%", c.attempt, got, c.want)
			}
		}
	}
	before := time.Now()
	next := retry.Policy{}.NextRetry(&rivertype.JobRow{Attempt: 2})
	if wait := next.Sub(before); wait < 270*time.Second || wait > 331*time.Second {
		t.Errorf("NextRetry after attempt 2 is %s away, want about 5 min", wait)
	}
}

// Record tries again while the record fails, until it succeeds, and stops
// at its limit with the last error.
func TestRecord(t *testing.T) {
	t.Parallel()
	calls, told := 0, 0
	err := retry.Record(context.Background(), 5*time.Second, func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("database restarting")
		}
		return nil
	}, func(error) { told++ })
	if err != nil || calls != 3 || told != 2 {
		t.Errorf("err %v after %d calls, %d told; want nil after 3, 2 told", err, calls, told)
	}
	start := time.Now()
	err = retry.Record(context.Background(), 300*time.Millisecond, func(context.Context) error { return errors.New("down") }, nil)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("a record that never succeeds: %v after %s", err, time.Since(start))
	}
}

// A record the database refuses for what it is is tried once: running it
// again cannot succeed, and a worker waiting on it would hold its job.
func TestRecordRefusedIsNotTriedAgain(t *testing.T) {
	t.Parallel()
	calls := 0
	refused := &pgconn.PgError{Code: "23502", Message: `null value in column "body_html" violates not-null constraint`}
	err := retry.Record(context.Background(), 5*time.Second, func(context.Context) error {
		calls++
		return fmt.Errorf("record: %w", refused)
	}, nil)
	if !errors.Is(err, refused) || calls != 1 {
		t.Errorf("err %v after %d calls; want the refusal after 1", err, calls)
	}
}
