package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/internal/testfactory"
)

// Unknown API keys are limited per client address: from one address the
// first 20 made-up keys answer 401 and the next 429 with Retry-After —
// without a database query — while valid keys keep working, from another
// address and from that one. An IPv6 /64 counts as one address.
func TestUnknownKeysLimitedPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.AuthLimit = &api.AuthLimiter{PerMinute: api.DefaultAuthFailuresPerMinute}
	api.FreezeAuthForTest(b.api.AuthLimit, time.Now()) // no token comes back while the test runs
	b.api.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	b.server.Config.Handler = b.api.Handler()
	const guesser, neighbour = "203.0.113.7", "203.0.113.8"
	get := func(from, key string) reply {
		h := hdr("X-Forwarded-For", from)
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
		return b.call(t, "GET", "/api/v1/forms", nil, h)
	}
	madeUp := func() string {
		k := make([]byte, 20)
		rand.Read(k)
		return "intk_" + hex.EncodeToString(k)
	}

	statuses := []int{}
	var last reply
	for range 25 {
		last = get(guesser, madeUp())
		statuses = append(statuses, last.Status)
	}
	for i, s := range statuses {
		if want := map[bool]int{true: 401, false: 429}[i < 20]; s != want {
			t.Fatalf("made-up key %d answered %d, want %d (all: %v)", i+1, s, want, statuses)
		}
	}
	mustProblem(t, last, http.StatusTooManyRequests, "rate-limited")
	if ra, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || ra != 3 {
		t.Errorf("Retry-After = %q, want 3 (one failure every 3 s)", last.Header.Get("Retry-After"))
	}
	if last.Header.Get("RateLimit-Policy") != "20;w=60" || last.Header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("RateLimit headers: %v", last.Header)
	}
	// A key that is not even well-formed, or under another scheme, is refused alike.
	mustProblem(t, get(guesser, "nonsense"), http.StatusTooManyRequests, "rate-limited")

	// A valid key from another address: 200; then from the guesser's
	// address too — a key that works is not guessing.
	if r := get(neighbour, b.account.APIKey); r.Status != http.StatusOK {
		t.Fatalf("a valid key from another address = %s", r)
	}
	if r := get(guesser, b.account.APIKey); r.Status != http.StatusOK {
		t.Errorf("a valid key from the limited address = %s", r)
	}
	// The neighbour's own failures are its own: its first made-up key is a 401.
	mustProblem(t, get(neighbour, madeUp()), http.StatusUnauthorized, "unauthorized")

	// A valid key this process has not seen authenticate waits like any
	// other from the limited address: telling it apart would take the
	// lookup the limit exists to save. Once it has worked elsewhere, it passes.
	fresh := testfactory.NewAccount(context.Background(), t, b.db).APIKey
	mustProblem(t, get(guesser, fresh), http.StatusTooManyRequests, "rate-limited")
	if r := get(neighbour, fresh); r.Status != http.StatusOK {
		t.Fatalf("the new key from another address = %s", r)
	}
	if r := get(guesser, fresh); r.Status != http.StatusOK {
		t.Errorf("the new key from the limited address, once seen = %s", r)
	}

	// An IPv6 /64 is one address.
	for i := range 20 {
		if r := get("2001:db8:7::"+strconv.Itoa(i+1), madeUp()); r.Status != http.StatusUnauthorized {
			t.Fatalf("IPv6 guess %d = %s", i, r)
		}
	}
	mustProblem(t, get("2001:db8:7::ffff", madeUp()), http.StatusTooManyRequests, "rate-limited")
	mustProblem(t, get("2001:db8:8::1", madeUp()), http.StatusUnauthorized, "unauthorized")

	// Before the database: with it gone, the guesser still hears 429, not 503.
	closed, err := pgxpool.NewWithConfig(context.Background(), b.db.Config().Copy())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	b.api.DB = closed
	for range 5 {
		mustProblem(t, get(guesser, madeUp()), http.StatusTooManyRequests, "rate-limited")
	}
	// (An address under the limit is looked up, and without a database fails.)
	if r := get("198.51.100.9", madeUp()); r.Status < 500 {
		t.Errorf("an address under the limit was not looked up: %s", r)
	}
}

// Tokens come back with time: 20 a minute, one every 3 seconds.
func TestUnknownKeyLimitRefills(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now()
	b.api.AuthLimit = &api.AuthLimiter{PerMinute: 20}
	api.FreezeAuthForTest(b.api.AuthLimit, now)
	b.server.Config.Handler = b.api.Handler()
	bad := hdr("Authorization", "Bearer intk_0000000000000000000000000000000000000000")
	for range 20 {
		mustProblem(t, b.call(t, "GET", "/api/v1/forms", nil, bad), http.StatusUnauthorized, "unauthorized")
	}
	mustProblem(t, b.call(t, "GET", "/api/v1/forms", nil, bad), http.StatusTooManyRequests, "rate-limited")
	api.FreezeAuthForTest(b.api.AuthLimit, now.Add(3*time.Second))
	mustProblem(t, b.call(t, "GET", "/api/v1/forms", nil, bad), http.StatusUnauthorized, "unauthorized")
	mustProblem(t, b.call(t, "GET", "/api/v1/forms", nil, bad), http.StatusTooManyRequests, "rate-limited")
	// No header guesses nothing: never counted, never limited.
	for range 30 {
		mustProblem(t, b.call(t, "GET", "/api/v1/forms", nil, nil), http.StatusUnauthorized, "unauthorized")
	}
}

// keyLookups counts the API key lookups a pool runs, each held a little
// so that concurrent requests overlap them.
type keyLookups struct{ n atomic.Int64 }

func (k *keyLookups) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.Contains(data.SQL, "FROM api_keys WHERE hash") {
		k.n.Add(1)
		time.Sleep(10 * time.Millisecond)
	}
	return ctx
}

func (k *keyLookups) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A burst of concurrent made-up keys from one fresh address is limited
// like a sequence: the token is taken when the limit is asked, before the
// lookup, so no more than 20 of 100 answer 401 or cost a lookup. Valid
// keys sent before take none of the 20.
func TestConcurrentUnknownKeysLimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lookups := &keyLookups{}
	cfg := b.db.Config().Copy()
	cfg.ConnConfig.Tracer = lookups
	counted, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(counted.Close)
	b.api.DB = counted
	b.api.AuthLimit = &api.AuthLimiter{PerMinute: api.DefaultAuthFailuresPerMinute}
	api.FreezeAuthForTest(b.api.AuthLimit, time.Now())
	b.server.Config.Handler = b.api.Handler()

	// Valid keys first: each gives its token back.
	for range 30 {
		if r := b.call(t, "GET", "/api/v1/forms", nil, hdr("Authorization", "Bearer "+b.account.APIKey)); r.Status != http.StatusOK {
			t.Fatalf("a valid key = %s", r)
		}
	}
	lookups.n.Store(0)

	const n = 100
	statuses := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := make([]byte, 20)
			rand.Read(k)
			<-start
			r, err := b.send("GET", "/api/v1/forms", nil, hdr("Authorization", "Bearer intk_"+hex.EncodeToString(k)))
			statuses[i], errs[i] = r.Status, err
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for i, s := range statuses {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		count[s]++
	}
	if count[401] != 20 || count[429] != n-20 {
		t.Errorf("100 concurrent made-up keys answered %v, want 20 401s (valid keys took no token) and the rest 429", count)
	}
	if got := lookups.n.Load(); got > 20 {
		t.Errorf("%d key lookups, want at most 20", got)
	}
}
