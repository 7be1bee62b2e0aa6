package webhooks

import (
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

// classify decides an attempt's verdict from the attempt alone.
func TestClassifyAttempt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                  string
		a                     Attempt
		retryAfter            time.Duration
		snoozes, attempt, max int
		want                  verdict
		result, failure       string
		wait                  time.Duration
	}{
		{"2xx", Attempt{Status: 204}, 0, 0, 1, 10, verdictDelivered, resultDelivered, "", 0},
		{"410", Attempt{Status: 410}, 0, 0, 1, 10, verdictDisable, resultGone, "the endpoint answered 410 Gone", 0},
		{"private address", Attempt{Error: "refused: x resolves to a private or reserved address", Blocked: true}, 0, 0, 1, 10, verdictDisable, resultFailed,
			"refused: x resolves to a private or reserved address", 0},
		{"429 with Retry-After", Attempt{Status: 429}, 30 * time.Second, 0, 1, 10, verdictSnooze, resultThrottled, "", 30 * time.Second},
		{"503 waits at most MaxSnooze", Attempt{Status: 503}, 5 * time.Hour, 3, 1, 10, verdictSnooze, resultThrottled, "", MaxSnooze},
		{"429 out of snoozes", Attempt{Status: 429}, time.Second, MaxSnoozes, 1, 10, verdictRetry, resultFailed, "the endpoint answered 429", time.Minute},
		{"429 without Retry-After", Attempt{Status: 429}, 0, 0, 1, 10, verdictRetry, resultFailed, "the endpoint answered 429", time.Minute},
		{"500", Attempt{Status: 500}, 0, 0, 3, 10, verdictRetry, resultFailed, "the endpoint answered 500", time.Minute},
		{"no answer", Attempt{Error: "dial tcp: refused"}, 0, 0, 1, 10, verdictRetry, resultFailed, "dial tcp: refused", time.Minute},
		{"2xx with an error is not delivered", Attempt{Status: 200, Error: "boom"}, 0, 0, 1, 10, verdictRetry, resultFailed, "boom", time.Minute},
		{"last attempt", Attempt{Status: 500}, 0, 0, 10, 10, verdictGiveUp, resultFailed, "the endpoint answered 500", 0},
	}
	for _, c := range cases {
		o := classify(c.a, c.retryAfter, c.snoozes, c.attempt, c.max, time.Minute)
		failure := ""
		if o.failure != nil {
			failure = o.failure.Error()
		}
		if o.verdict != c.want || o.result != c.result || failure != c.failure || o.wait != c.wait {
			t.Errorf("%s: got verdict %d result %q failure %q wait %s, want %d %q %q %s", c.name, o.verdict, o.result, failure, o.wait, c.want, c.result, c.failure, c.wait)
		}
	}
}

// jobError tells River what to do with each verdict, and a failed record
// is never mistaken for a done job or a snooze.
func TestOutcomeJobError(t *testing.T) {
	t.Parallel()
	recErr := errors.New("record failed")
	failure := errors.New("the endpoint answered 500")
	var cancel *river.JobCancelError
	var snooze *river.JobSnoozeError
	if err := (outcome{verdict: verdictDelivered}).jobError(nil); err != nil {
		t.Errorf("delivered: %v", err)
	}
	if err := (outcome{verdict: verdictDelivered}).jobError(recErr); !errors.Is(err, recErr) {
		t.Errorf("delivered, not recorded: %v", err)
	}
	if err := (outcome{verdict: verdictSnooze, wait: time.Second}).jobError(nil); !errors.As(err, &snooze) {
		t.Errorf("snooze: %v", err)
	}
	if err := (outcome{verdict: verdictSnooze, wait: time.Second}).jobError(recErr); errors.As(err, &snooze) || !errors.Is(err, recErr) {
		t.Errorf("snooze, not recorded: %v", err)
	}
	if err := (outcome{verdict: verdictRetry, failure: failure}).jobError(nil); !errors.Is(err, failure) || errors.As(err, &cancel) {
		t.Errorf("retry: %v", err)
	}
	if err := (outcome{verdict: verdictDisable, failure: failure}).jobError(nil); !errors.As(err, &cancel) {
		t.Errorf("disable: %v", err)
	}
	if err := (outcome{verdict: verdictDisable, failure: failure}).jobError(recErr); errors.As(err, &cancel) || !errors.Is(err, recErr) {
		t.Errorf("disable, not recorded: %v (want a retry, not a cancel that leaves the delivery without a job)", err)
	}
}
