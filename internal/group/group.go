// Package group shares one round trip among many callers: work queued
// while the batches already running are busy waits for the next batch,
// and a batch takes everything queued (up to its size). A lone item is
// sent at once, so nothing waits for company; under load the batches
// grow by themselves. This is how a submission's write and reads are
// grouped (submissions/commit.go, submissions/load.go), made generic for
// work that has no lanes or twins, such as the email worker's records.
package group

import "sync"

// Batcher runs items in batches of at most Size, at most Concurrent at
// once. Run must settle every item of its batch (each item says how it
// is told: a channel, typically); it runs on no caller's goroutine.
// Set the fields before the first Add and do not change them after.
type Batcher[T any] struct {
	Run        func(batch []T)
	Size       int // at most this many items a batch; 0 is 64
	Concurrent int // at most this many batches at once; 0 is 1

	mu      sync.Mutex
	queue   []T
	running int
}

// Add queues item; a batch starts now if fewer than Concurrent run.
func (b *Batcher[T]) Add(item T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, item)
	if b.running < max(b.Concurrent, 1) {
		b.running++
		go b.drain(b.takeLocked())
	}
}

// drain runs batch, then whatever was queued meanwhile, until the queue
// is empty.
func (b *Batcher[T]) drain(batch []T) {
	for len(batch) > 0 {
		b.Run(batch)
		b.mu.Lock()
		batch = b.takeLocked()
		if len(batch) == 0 {
			b.running--
		}
		b.mu.Unlock()
	}
}

func (b *Batcher[T]) takeLocked() []T {
	size := b.Size
	if size <= 0 {
		size = 64
	}
	n := min(size, len(b.queue))
	batch := append([]T(nil), b.queue[:n]...)
	clear(b.queue[:n])
	b.queue = b.queue[n:]
	return batch
}
