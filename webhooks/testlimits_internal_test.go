package webhooks

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake"
)

// Test events: each endpoint's 10 a minute and the account's 30 in all,
// at one instant (no refill). A refusal by an endpoint's own limit spends
// none of the account's tokens; a fourth endpoint, its own ten untouched,
// is refused by the account's limit; a minute later both are full again.
func TestTestLimitsPerEndpointAndAccount(t *testing.T) {
	t.Parallel()
	var l testLimits
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	eps := []*Endpoint{{PublicID: "wh_a"}, {PublicID: "wh_b"}, {PublicID: "wh_c"}, {PublicID: "wh_d"}}
	for range TestEventsPerMinute {
		if err := l.take(eps[0], 1, now); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if err := l.take(eps[0], 1, now); !refusedBy(err, "An endpoint") {
			t.Fatalf("over the endpoint's limit: %v", err)
		}
	}
	for _, ep := range eps[1:3] {
		for i := range TestEventsPerMinute {
			if err := l.take(ep, 1, now); err != nil {
				t.Fatalf("%s event %d: %v (the endpoint's refusals spent the account's tokens?)", ep.PublicID, i, err)
			}
		}
	}
	if err := l.take(eps[3], 1, now); !refusedBy(err, "An account") {
		t.Errorf("the account's 31st: %v, want the account's limit", err)
	}
	if err := l.take(eps[3], 2, now); err != nil {
		t.Errorf("another account's endpoint: %v", err)
	}
	if err := l.take(eps[0], 1, now.Add(time.Minute+time.Second)); err != nil {
		t.Errorf("a minute later: %v", err)
	}
}

// refusedBy reports whether err is a test-event refusal naming whose limit.
func refusedBy(err error, whose string) bool {
	var e *intake.Error
	return errors.As(err, &e) && strings.HasPrefix(e.Detail, whose)
}
