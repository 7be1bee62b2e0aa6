package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testfactory"
)

// One account's uploads must not make another account's submissions slow
// or fail (docs/SECURITY.md, "Group commit"): several ~10 MiB uploads in
// parallel leave another account's keyed JSON submissions all answered 201,
// with a p95 latency within a generous factor of their own baseline,
// measured in this test on this (shared) machine just before; and none of
// them shares a transaction with an upload.
//
// Not parallel: it measures latency, and the other tests of the package
// would share the two cores with it. The victim's requests skip the OpenAPI
// check (other tests make it) so that the latency is the server's.
func TestUploadsDoNotSlowAnotherAccount(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	victim := testfactory.NewAccount(ctx, t, b.db)
	victimForm := testfactory.NewForm(ctx, t, b.db, victim.User.AccountID, nil)

	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	// submitAll sends the victim's keyed JSON submissions from 3 clients,
	// each sequentially, until until() says stop (and at least min each),
	// and returns their latencies.
	seq := 0
	submitAll := func(phase string, min int, until func() bool) []time.Duration {
		var lat []time.Duration
		var wg sync.WaitGroup
		for c := range 3 {
			wg.Go(func() {
				for i := 0; i < min || !until(); i++ {
					mu.Lock()
					seq++
					key := fmt.Sprintf("%s-%d", phase, seq)
					mu.Unlock()
					body := fmt.Sprintf(`{"email":"c%d@example.com","message":"hello %d"}`, c, i)
					req, err := http.NewRequest(http.MethodPost, b.server.URL+"/f/"+victimForm.PublicID, strings.NewReader(body))
					if err != nil {
						fail("%s: %v", phase, err)
						return
					}
					req.Header.Set("Content-Type", ctJSON)
					req.Header.Set("Idempotency-Key", key)
					start := time.Now()
					resp, err := noRedirects.Do(req)
					if err == nil {
						var out []byte
						out, err = io.ReadAll(resp.Body)
						resp.Body.Close()
						if err == nil && resp.StatusCode != http.StatusCreated {
							err = fmt.Errorf("%d %s", resp.StatusCode, out)
						}
					}
					d := time.Since(start)
					if err != nil {
						fail("%s %s after %v: %v", phase, key, d, err)
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return lat
	}
	p95 := func(lat []time.Duration) time.Duration {
		s := slices.Clone(lat)
		slices.Sort(s)
		return s[(len(s)*95+99)/100-1]
	}

	// The baseline: the victim alone, once warm (the first requests
	// prepare statements and load the OpenAPI description).
	submitAll("warm", 3, func() bool { return true })
	base := submitAll("base", 15, func() bool { return true })

	// The uploads: 4 clients, each sending 2 submissions of a 9.5 MiB file
	// (random bytes: Postgres cannot compress them).
	rng := rand.NewChaCha8([32]byte{1})
	content := make([]byte, 19<<19)
	rng.Read(content)
	upload, uploadType := multipartBody(t, [][2]string{{"email", "big@example.com"}},
		[]testFile{{Field: "attachment", Name: "big.bin", Content: content}})
	var uploadsDone sync.WaitGroup
	uploading := make(chan struct{})
	started := time.Now()
	for c := range 4 {
		uploadsDone.Go(func() {
			for i := range 2 {
				req, err := http.NewRequest(http.MethodPost, b.server.URL+"/f/"+b.form.PublicID, bytes.NewReader([]byte(upload)))
				if err != nil {
					fail("upload: %v", err)
					return
				}
				req.Header.Set("Content-Type", uploadType)
				req.Header.Set("Idempotency-Key", fmt.Sprintf("upload-%d-%d", c, i))
				resp, err := noRedirects.Do(req)
				if err != nil {
					fail("upload %d-%d: %v", c, i, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther { // a browser's multipart post
					fail("upload %d-%d = %d %s", c, i, resp.StatusCode, body)
				}
			}
		})
	}
	go func() { uploadsDone.Wait(); close(uploading) }()
	busy := submitAll("busy", 10, func() bool {
		select {
		case <-uploading:
			return true
		default:
			return false
		}
	})
	<-uploading
	t.Logf("victim alone: %d submissions, p95 %v; beside 8 uploads of 9.5 MiB (%v): %d submissions, p95 %v, max %v",
		len(base), p95(base), time.Since(started).Round(time.Millisecond), len(busy), p95(busy), slices.Max(busy))

	for _, f := range failures {
		t.Error(f)
	}
	if bound := max(10*p95(base), 2*time.Second); p95(busy) > bound {
		t.Errorf("the victim's p95 beside the uploads = %v, want under %v (10× its baseline %v, at least 2 s)", p95(busy), bound, p95(base))
	}
	if got, want := b.stored(t, victimForm), (stored{9 + len(base) + len(busy), 9 + len(base) + len(busy), 9 + len(base) + len(busy)}); got != want {
		t.Errorf("the victim's form holds %+v, want %+v (each submission once, with its job)", got, want)
	}
	if got := b.count(t, `SELECT count(*) FROM submission_files f JOIN submissions s ON s.id = f.submission_id WHERE s.form_id = $1`, b.form.ID); got != 8 {
		t.Errorf("%d uploads stored, want 8", got)
	}
	if got := b.count(t, `SELECT count(*) FROM submissions v JOIN submissions u ON u.xmin::text = v.xmin::text
		WHERE v.form_id = $1 AND u.form_id = $2`, victimForm.ID, b.form.ID); got != 0 {
		t.Errorf("%d of the victim's submissions shared a transaction with an upload", got)
	}
}
