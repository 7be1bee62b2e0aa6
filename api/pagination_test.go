package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// Paging through 10,000 submissions while new ones keep arriving: every one
// of the 10,000 is seen exactly once, newest first, and the walk ends.
func TestPaginationTenThousandWhileArriving(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n = 10_000
	testfactory.BulkSubmissions(ctx, t, b.db, b.form, n, time.Now().Add(-time.Minute))
	var original = map[string]bool{}
	rows, err := b.db.Query(ctx, `SELECT id FROM submissions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id [16]byte
		rows.Scan(&id)
		original[fmt.Sprintf("%x", id)] = true
	}
	if len(original) != n {
		t.Fatalf("inserted %d", len(original))
	}

	stop := make(chan struct{})
	var arrived atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if r, err := b.send("POST", "/f/"+b.form.PublicID, fmt.Appendf(nil, `{"email":"new%d@example.com"}`, i), hdr("Content-Type", "application/json")); err == nil && r.Status == 201 {
				arrived.Add(1)
			}
		}
	})

	seen := map[string]int{}
	var last time.Time
	cursor := ""
	pages := 0
	for {
		path := "/api/v1/forms/" + b.form.PublicID + "/submissions?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := b.apiGet(t, path, b.account.APIKey)
		if r.Status != 200 {
			t.Fatalf("page %d: %s", pages, r)
		}
		var page struct {
			Data []struct {
				ID        string    `json:"id"`
				CreatedAt time.Time `json:"created_at"`
				Data      map[string]any
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(r.Body), &page); err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Data {
			seen[s.ID]++
			if !last.IsZero() && s.CreatedAt.After(last) {
				t.Fatalf("page %d goes back up in time: %s after %s", pages, s.CreatedAt, last)
			}
			last = s.CreatedAt
		}
		pages++
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
		if pages > n/100+50 {
			t.Fatal("the walk does not end")
		}
	}
	close(stop)
	wg.Wait()

	repeats, bulk := 0, 0
	for id, c := range seen {
		if c > 1 {
			repeats++
		}
		if raw, ok := decodePublicID(id); ok && original[raw] {
			bulk++
		}
	}
	if repeats != 0 {
		t.Errorf("%d submissions were listed more than once", repeats)
	}
	if bulk != n {
		t.Errorf("saw %d of the %d submissions that existed before the walk (gaps)", bulk, n)
	}
	if arrived.Load() == 0 {
		t.Error("no submission arrived during the walk; the test proved nothing about arrivals")
	}
	t.Logf("%d pages, %d submissions arrived meanwhile", pages, arrived.Load())
}

// decodePublicID turns "sub_…" back into the hex of its UUID.
func decodePublicID(id string) (string, bool) {
	u, err := submissions.ParseID(id)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("%x", u[:]), true
}
