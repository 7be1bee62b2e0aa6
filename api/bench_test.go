package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testfactory"
)

// benchRows are the form sizes the list benchmark runs at. A million rows
// take a minute to insert, so they run only with INTAKE_BENCH_LARGE=1.
func benchRows() []int {
	if os.Getenv("INTAKE_BENCH_LARGE") != "" {
		return []int{10_000, 1_000_000}
	}
	return []int{10_000}
}

// getBody GETs path with the account's key over real HTTP and drains the
// body, failing on a non-200.
func (b *testBundle) getBody(tb testing.TB, path string) int64 {
	req, _ := http.NewRequest("GET", b.server.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+b.account.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return n
}

// The list's latency over HTTP, at 10k and 1M submissions in one form: the
// first page, a page deep in the middle (keyset cursor), a word search and
// a filtered page. docs/BENCHMARKS.md has the numbers.
func BenchmarkListSubmissions(b *testing.B) {
	for _, rows := range benchRows() {
		b.Run("rows="+strconv.Itoa(rows), func(b *testing.B) {
			tb := setup(b)
			tb.api.RateLimit = nil
			tb.server.Config.Handler = tb.api.Handler() // the limiter is read when the handler is built
			testfactory.BulkSubmissions(context.Background(), b, tb.db, tb.form, rows, time.Now())
			base := "/api/v1/forms/" + tb.form.PublicID + "/submissions?limit=50"
			// A cursor half way down: the row at rows/2.
			var at time.Time
			var id string
			tb.db.QueryRow(context.Background(), `SELECT created_at, id::text FROM submissions ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`, rows/2).Scan(&at, &id)
			cursor := url.QueryEscape(cursorFor(at, id))
			for _, c := range []struct{ name, path string }{
				{"first-page", base},
				{"middle-page", base + "&cursor=" + cursor},
				{"search-rare-word", base + "&q=person" + strconv.Itoa(rows/3) + "@example.com"},
				{"search-common-word", base + "&q=hello"},
				{"not-spam", base + "&spam=false"},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						tb.getBody(b, c.path)
					}
				})
			}
		})
	}
}

// Exporting 100,000 submissions as CSV over HTTP: the server's heap is
// sampled every 5 ms while it streams; peak-heap-MB stays flat whatever the
// row count, because rows go from Postgres to the socket one by one.
func BenchmarkExportCSV(b *testing.B) {
	const rows = 100_000
	tb := setup(b)
	tb.api.RateLimit = nil
	tb.server.Config.Handler = tb.api.Handler() // the limiter is read when the handler is built
	testfactory.BulkSubmissions(context.Background(), b, tb.db, tb.form, rows, time.Now())
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				for {
					p := peak.Load()
					if m.HeapInuse <= p || peak.CompareAndSwap(p, m.HeapInuse) {
						break
					}
				}
			}
		}
	}()
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		bytes = tb.getBody(b, "/api/v1/forms/"+tb.form.PublicID+"/submissions.csv")
	}
	close(done)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "heap-before-MB")
	b.ReportMetric(float64(bytes)/(1<<20), "csv-MB")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// cursorFor makes the list's cursor for a row, as submissions.Cursor does.
func cursorFor(at time.Time, id string) string {
	return base64URL(fmt.Sprintf("%d.%s", at.UnixMicro(), id))
}

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
