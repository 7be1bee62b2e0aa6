package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// intent is one thing a user means to submit once, however many times it
// is sent. Its token, in the message field, finds its submissions in the
// database afterwards.
type intent struct {
	token   string
	key     string // "" for a keyless browser post
	browser bool

	mu           sync.Mutex
	sends        int
	acked        bool   // some send got 2xx or 303
	answer       string // the first acknowledged answer, to compare the others with
	inconsistent bool   // two acknowledged answers differed
}

// Latency classes of a request, by how the server answered it.
const (
	classNew     = iota // accepted, not a replay: a submission was made
	classReplay         // a replay of a resend sent after the first answer
	classRaced          // a replay of a resend sent alongside the first send
	classRefused        // anything but 2xx/303, or no answer
	numClasses
)

var classNames = [numClasses]string{"new", "replay (later)", "replay (racing)", "not accepted"}

// loadResult is what the load phase saw from the client's side.
type loadResult struct {
	runID    string
	intents  []*intent
	elapsed  time.Duration
	statuses map[string]int
	latency  [numClasses][]time.Duration
	limited  bool // a 429 was seen: Intake's submit rate limit is on
	retries  int  // requests that repeated a failed one (-retry-for)
	gaveUp   int  // sends that ended without a success after their retries
	// failedAt is when each request that was not accepted got its answer
	// (or none): whether it came during a fault.
	failedAt []time.Time
}

func (r *loadResult) requests() int {
	n := 0
	for _, l := range r.latency {
		n += len(l)
	}
	return n
}

func (r *loadResult) acknowledged() int {
	n := 0
	for _, in := range r.intents {
		if in.acked {
			n++
		}
	}
	return n
}

type loader struct {
	cfg      Config
	endpoint string
	runID    string
	client   *http.Client
	filler   string
	deadline time.Time
	started  atomic.Int64

	mu       sync.Mutex
	intents  []*intent
	statuses map[string]int
	latency  [numClasses][]time.Duration
	retries  int
	gaveUp   int
	failedAt []time.Time
}

// drive sends the load and returns what it saw. It stops starting intents at
// the deadline (or the count), sends the delayed resends still due, and
// waits for every answer.
func drive(ctx context.Context, cfg Config, formID string) (*loadResult, error) {
	l := &loader{
		cfg:      cfg,
		endpoint: cfg.URL + "/f/" + formID,
		runID:    randomHex(4),
		filler:   filler(cfg.Payload),
		statuses: map[string]int{},
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        0,
				MaxIdleConnsPerHost: cfg.Concurrency*(cfg.Dup+1) + 8,
				IdleConnTimeout:     90 * time.Second,
			},
			// A 303 is the answer itself, not something to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	defer l.client.CloseIdleConnections()
	// One request first: a wrong URL or a stopped server should say so,
	// not produce a report full of errors.
	if err := l.ping(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	l.deadline = start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() { l.worker(ctx) })
	}
	wg.Wait()
	res := &loadResult{runID: l.runID, intents: l.intents, elapsed: time.Since(start), statuses: l.statuses, latency: l.latency,
		retries: l.retries, gaveUp: l.gaveUp, failedAt: l.failedAt}
	res.limited = l.statuses["429"] > 0
	return res, ctx.Err()
}

func (l *loader) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", l.endpoint, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("is Intake running at %s? %w", l.cfg.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s answered %s: is -database-url the database Intake at %s uses?", l.endpoint, resp.Status, l.cfg.URL)
	}
	return nil
}

// resend is a duplicate sent after the intent's first answer.
type resend struct {
	in      *intent
	due     time.Time
	bodyKey bool
}

func (l *loader) worker(ctx context.Context) {
	var later []resend
	for {
		next := -1
		for i, r := range later {
			if next < 0 || r.due.Before(later[next].due) {
				next = i
			}
		}
		if next >= 0 && !time.Now().Before(later[next].due) {
			r := later[next]
			later = append(later[:next], later[next+1:]...)
			l.send(ctx, r.in, r.bodyKey, classReplay)
			continue
		}
		if in := l.newIntent(ctx); in != nil {
			later = l.start(ctx, in, later)
			continue
		}
		if next < 0 || ctx.Err() != nil {
			return
		}
		time.Sleep(time.Until(later[next].due))
	}
}

// newIntent returns the next intent, or nil when no more should start.
func (l *loader) newIntent(ctx context.Context) *intent {
	if ctx.Err() != nil {
		return nil
	}
	if l.cfg.Count > 0 {
		if l.started.Add(1) > int64(l.cfg.Count) {
			return nil
		}
	} else if time.Now().After(l.deadline) {
		return nil
	} else {
		l.started.Add(1)
	}
	in := &intent{browser: rand.Float64() < l.cfg.Browser}
	l.mu.Lock()
	n := len(l.intents)
	l.intents = append(l.intents, in)
	l.mu.Unlock()
	in.token = fmt.Sprintf("ib%s-%d", l.runID, n)
	if !in.browser {
		in.key = "bench-" + l.runID + "-" + strconv.Itoa(n)
	}
	return in
}

// start sends an intent's first request together with its racing
// duplicates, and returns later with its delayed duplicates added.
func (l *loader) start(ctx context.Context, in *intent, later []resend) []resend {
	extra := rand.IntN(l.cfg.Dup + 1)
	var wg sync.WaitGroup
	var delayed []bool
	for range extra {
		bodyKey := !in.browser && rand.IntN(3) == 0
		if rand.IntN(2) == 0 {
			wg.Go(func() { l.send(ctx, in, bodyKey, classRaced) })
		} else {
			delayed = append(delayed, bodyKey)
		}
	}
	l.send(ctx, in, !in.browser && rand.IntN(3) == 0, classNew)
	wg.Wait()
	now := time.Now()
	for _, bodyKey := range delayed {
		later = append(later, resend{in: in, due: now.Add(time.Duration(5+rand.IntN(45)) * time.Millisecond), bodyKey: bodyKey})
	}
	return later
}

// send sends in as a real client would: once, and with -retry-for again
// after a connection error, a timeout or an answer that says to retry
// (5xx, 408, 409, 425, 429), with the same key and body, backing off, until
// it succeeds or the time is up.
func (l *loader) send(ctx context.Context, in *intent, bodyKey bool, class int) {
	giveUp := time.Now().Add(l.cfg.RetryFor)
	backoff := 100 * time.Millisecond
	for {
		ok, retry, after := l.attempt(ctx, in, bodyKey, class)
		if ok || !retry || l.cfg.RetryFor <= 0 || ctx.Err() != nil {
			if !ok && l.cfg.RetryFor > 0 {
				l.count(&l.gaveUp)
			}
			return
		}
		wait := max(after, backoff/2+rand.N(backoff/2+1)) // jittered, Retry-After honoured
		if time.Now().Add(wait).After(giveUp) {
			l.count(&l.gaveUp)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 2*time.Second)
		l.count(&l.retries)
	}
}

func (l *loader) count(n *int) {
	l.mu.Lock()
	*n++
	l.mu.Unlock()
}

// retryStatus reports whether a client should send again after status.
func retryStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// maxRetryAfter caps a Retry-After: the bench's clients are patient, not
// that patient.
const maxRetryAfter = 5 * time.Second

// attempt sends in once: a browser post, or JSON with the key in the header
// or (bodyKey) in the _idempotency_key field. It returns whether the answer
// was a success, whether a client should retry, and the Retry-After asked
// for. class says how it was sent (new, a later resend, a racing resend);
// the answer decides where its latency counts: not a replay is new, a
// replay of a racing send is racing.
func (l *loader) attempt(ctx context.Context, in *intent, bodyKey bool, class int) (ok, retry bool, after time.Duration) {
	message := in.token + " " + l.filler
	email := "load@example.com"
	var body []byte
	var contentType string
	if in.browser {
		body = []byte(url.Values{"email": {email}, "message": {message}}.Encode())
		contentType = "application/x-www-form-urlencoded"
	} else {
		fields := map[string]string{"email": email, "message": message}
		if bodyKey {
			fields["_idempotency_key"] = in.key
		}
		body, _ = json.Marshal(fields)
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", l.endpoint, bytes.NewReader(body))
	if err != nil {
		panic(err) // the endpoint was parsed before
	}
	req.Header.Set("Content-Type", contentType)
	if !in.browser && !bodyKey {
		req.Header.Set("Idempotency-Key", in.key)
	}
	start := time.Now()
	resp, err := l.client.Do(req)
	var status string
	var answer []byte
	replayed := false
	if err == nil {
		answer, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = strconv.Itoa(resp.StatusCode)
		replayed = resp.Header.Get("Idempotent-Replayed") == "true"
		if resp.StatusCode == http.StatusSeeOther {
			answer = []byte(resp.Header.Get("Location"))
		}
		retry = retryStatus(resp.StatusCode)
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
			after = min(time.Duration(secs)*time.Second, maxRetryAfter)
		}
	}
	d := time.Since(start)
	if err != nil {
		status = "error: " + errorKind(err)
		retry = ctx.Err() == nil
	}
	ok = err == nil && (resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusSeeOther)
	switch {
	case !ok:
		class = classRefused
	case !replayed:
		class = classNew
	case class == classNew:
		// The first send lost the race to one of its own duplicates.
		class = classRaced
	}

	in.mu.Lock()
	in.sends++
	if ok {
		sig := status + " " + string(answer)
		if !in.acked {
			in.acked, in.answer = true, sig
		} else if sig != in.answer {
			in.inconsistent = true
		}
	}
	in.mu.Unlock()

	l.mu.Lock()
	l.statuses[status]++
	l.latency[class] = append(l.latency[class], d)
	if !ok {
		l.failedAt = append(l.failedAt, time.Now())
	}
	l.mu.Unlock()
	return ok, retry, after
}

func errorKind(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "context canceled"):
		return "cancelled"
	case strings.Contains(s, "Client.Timeout"), strings.Contains(s, "deadline exceeded"):
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "connection reset"), strings.Contains(s, "EOF"):
		return "connection reset"
	}
	return "other"
}

// filler is n bytes of words.
func filler(n int) string {
	const words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words)
	}
	return b.String()[:n]
}
