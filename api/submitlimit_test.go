package api_test

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
)

// A flood from one address is held at the limit — with Formspree's members
// in JSON and a page in a browser — while replays of a stored key, other
// forms and other addresses still get through.
func TestSubmitRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.Submissions.Limiter = &submissions.Limiter{PerMinute: 5}
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
	b.api.Submissions.Limiter = &submissions.Limiter{PerMinute: 1}
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

// A flood of made-up form ids from one address is cut off at the
// address's limit over all forms — before the database is asked anything,
// so it costs no reads — while another address still submits; replays of
// a stored key are never counted against it.
func TestSubmitLimitPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.api.Submissions.Limiter = &submissions.Limiter{PerMinute: 1} // so AddressFactor a minute over all forms
	frozen := time.Now()
	b.api.Submissions.Limiter.Clock = func() time.Time { return frozen } // no token comes back while the test runs
	b.api.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	b.server.Config.Handler = b.api.Handler()
	const limit = submissions.AddressFactor
	const flooder, neighbour, retrier = "203.0.113.7", "203.0.113.8", "2001:db8:7::1"

	statuses := map[int]int{}
	for range 3 * limit {
		r := b.submit(t, forms.NewPublicID(), ctJSON, `{"email":"flood@example.com"}`, "X-Forwarded-For", flooder)
		statuses[r.Status]++
	}
	if statuses[http.StatusNotFound] != limit || statuses[http.StatusTooManyRequests] != 2*limit {
		t.Fatalf("a flood of %d made-up ids: statuses %v, want %d not found and the rest refused", 3*limit, statuses, limit)
	}
	// The flooder's real submissions and form pages wait too, in JSON
	// (with Formspree's members) and in a browser.
	r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"flood@example.com"}`, "X-Forwarded-For", flooder, "Idempotency-Key", "f1")
	p := mustProblem(t, r, http.StatusTooManyRequests, "rate-limited")
	mustFormspree(t, p, "RATE_LIMITED")
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra != 60/limit {
		t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	if !strings.Contains(p["detail"].(string), "from your address") || r.Header.Get("Idempotency-Key") != "f1" {
		t.Errorf("the refusal: %s, Idempotency-Key %q", r, r.Header.Get("Idempotency-Key"))
	}
	if page := b.submit(t, b.form.PublicID, ctForm, "email=flood@example.com", "X-Forwarded-For", flooder, "Accept", "text/html"); page.Status != http.StatusTooManyRequests ||
		!strings.Contains(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("browser mode = %s", page)
	}
	mustProblem(t, b.call(t, "GET", "/f/"+forms.NewPublicID(), nil, hdr("Accept", "application/json", "X-Forwarded-For", flooder)),
		http.StatusTooManyRequests, "rate-limited")

	// Before the database: with it gone, the flooder still hears 429, not 503.
	closed, err := pgxpool.NewWithConfig(ctx, b.db.Config().Copy())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	b.api.DB, b.api.Submissions.DB = closed, closed
	for _, path := range []string{"/f/" + forms.NewPublicID(), "/f/" + b.form.PublicID} {
		mustProblem(t, b.call(t, "POST", path, []byte(`{"email":"flood@example.com"}`), hdr("Content-Type", ctJSON, "X-Forwarded-For", flooder)),
			http.StatusTooManyRequests, "rate-limited")
		mustProblem(t, b.call(t, "GET", path, nil, hdr("Accept", "application/json", "X-Forwarded-For", flooder)),
			http.StatusTooManyRequests, "rate-limited")
		// The form's colour stylesheet is read as its page is (an asset:
		// its refusal is the error page, not problem+json).
		if r := b.call(t, "GET", path+"/style.css", nil, hdr("X-Forwarded-For", flooder)); r.Status != http.StatusTooManyRequests {
			t.Errorf("GET %s/style.css from the flooder = %d, want 429", path, r.Status)
		}
	}
	b.api.DB, b.api.Submissions.DB = b.db, b.db

	// Another address is not held up.
	if r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"neighbour@example.com"}`, "X-Forwarded-For", neighbour); r.Status != http.StatusCreated {
		t.Fatalf("another address = %s", r)
	}

	// Replays: any number, each answered as stored, and none counted.
	first := b.submit(t, b.form.PublicID, ctJSON, `{"email":"retry@example.com"}`, "X-Forwarded-For", retrier, "Idempotency-Key", "r1")
	if first.Status != http.StatusCreated {
		t.Fatalf("first = %s", first)
	}
	for range 3 * limit {
		r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"retry@example.com"}`, "X-Forwarded-For", retrier, "Idempotency-Key", "r1")
		if r.Status != first.Status || r.Body != first.Body || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay = %s, want the stored %s", r, first)
		}
	}
	statuses = map[int]int{}
	for range limit {
		r := b.submit(t, forms.NewPublicID(), ctJSON, `{"email":"retry@example.com"}`, "X-Forwarded-For", retrier)
		statuses[r.Status]++
	}
	if statuses[http.StatusNotFound] != limit-1 || statuses[http.StatusTooManyRequests] != 1 {
		t.Errorf("after the first submission and %d replays, %v: the replays were counted", 3*limit, statuses)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 2 {
		t.Errorf("%d submissions stored, want the neighbour's and the retrier's", n)
	}
}
