package group_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/group"
)

type item struct {
	n    int
	done chan struct{}
}

// Every item runs once, in no more than Concurrent batches at a time and
// no batch above Size; while a batch is slow, the items queued behind it
// share the next ones.
func TestBatcherRunsEveryItemOnceInSharedBatches(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		seen     = map[int]int{}
		sizes    []int
		running  atomic.Int32
		overlaps atomic.Int32
	)
	b := &group.Batcher[*item]{Size: 8, Concurrent: 2, Run: func(batch []*item) {
		if running.Add(1) > 2 {
			overlaps.Add(1)
		}
		time.Sleep(5 * time.Millisecond) // a round trip
		mu.Lock()
		sizes = append(sizes, len(batch))
		for _, it := range batch {
			seen[it.n]++
		}
		mu.Unlock()
		running.Add(-1)
		for _, it := range batch {
			close(it.done)
		}
	}}
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := &item{n: i, done: make(chan struct{})}
			b.Add(it)
			<-it.done
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d items ran, want %d", len(seen), n)
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("item %d ran %d times", i, c)
		}
	}
	if o := overlaps.Load(); o > 0 {
		t.Errorf("%d batches ran beside two others (Concurrent 2)", o)
	}
	largest := 0
	for _, s := range sizes {
		if s > 8 {
			t.Errorf("a batch of %d, above Size 8", s)
		}
		largest = max(largest, s)
	}
	if largest < 2 || len(sizes) >= n {
		t.Errorf("%d batches for %d items (largest %d): items queued behind a slow batch did not share one", len(sizes), n, largest)
	}
}

// A lone item does not wait for company.
func TestBatcherSendsALoneItemAtOnce(t *testing.T) {
	t.Parallel()
	b := &group.Batcher[*item]{Run: func(batch []*item) {
		for _, it := range batch {
			close(it.done)
		}
	}}
	for i := range 3 {
		it := &item{n: i, done: make(chan struct{})}
		b.Add(it)
		select {
		case <-it.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("item %d alone was not run", i)
		}
	}
}
