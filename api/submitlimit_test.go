package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/api"
)

// A flood from one address is held at the limit — with Formspree's members
// in JSON and a page in a browser — while replays of a stored key, other
// forms and other addresses still get through.
func TestSubmitRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.SubmitLimit = &api.SubmitLimiter{PerMinute: 5}
	b.server.Config.Handler = b.api.Handler()

	stored := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 20 {
		wg.Go(func() {
			r, err := b.send("POST", "/f/"+b.form.PublicID, []byte(`{"email":"flood`+strings.Repeat("x", i)+`@example.com"}`), hdr("Content-Type", "application/json"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	stored = b.count(t, `SELECT count(*) FROM submissions`)
	if statuses[201] != 5 || statuses[429] != 15 || stored != 5 {
		t.Fatalf("statuses %v, stored %d: want 5 taken and 15 refused", statuses, stored)
	}
	r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"one-more@example.com"}`)
	p := mustProblem(t, r, 429, "rate-limited")
	mustFormspree(t, p, "RATE_LIMITED")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	page := b.submit(t, b.form.PublicID, ctForm, "email=browser@example.com", "Accept", "text/html")
	if page.Status != 429 || !strings.Contains(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(page.Body, "Wait") {
		t.Errorf("browser mode = %d %s", page.Status, page.Header.Get("Content-Type"))
	}

	// A replay of a key stored before the flood is answered, not counted.
	b.api.SubmitLimit = &api.SubmitLimiter{PerMinute: 1}
	b.server.Config.Handler = b.api.Handler()
	first := b.submit(t, b.form.PublicID, ctJSON, `{"email":"keyed@example.com"}`, "Idempotency-Key", "k")
	for range 3 {
		if r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"keyed@example.com"}`, "Idempotency-Key", "k"); r.Status != first.Status || r.Body != first.Body {
			t.Fatalf("replay under the limit = %s, want the stored %s", r, first)
		}
	}
	// Another form is another bucket.
	other := b.newForm(t, nil)
	if r := b.submit(t, other.PublicID, ctJSON, `{"email":"a@example.com"}`); r.Status != http.StatusCreated {
		t.Errorf("another form = %s", r)
	}
}

func TestSubmitLimitCountsIPv6ByPrefix(t *testing.T) {
	t.Parallel()
	l := &api.SubmitLimiter{PerMinute: 2}
	now := time.Now()
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::ffff", "2001:db8:1:2:abcd::9"} {
		err := api.TakeForTest(l, ip, 1, now)
		if (err != nil) != (i == 2) {
			t.Errorf("%s: %v (one /64 shares one bucket of 2)", ip, err)
		}
	}
	if err := api.TakeForTest(l, "2001:db8:1:3::1", 1, now); err != nil {
		t.Errorf("another /64: %v", err)
	}
}
