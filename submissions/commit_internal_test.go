package submissions

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"

	"github.com/intakehq/intake/idempotency"
)

// However the queues are made up, a group never carries more than the byte
// bound (unless it is one write larger than the bound, alone), never more
// than the count bound, never two writes with one key, and never a write
// with files beside another account's write; and every write is taken once.
func TestTakeBoundsGroupsInBytesAndAccounts(t *testing.T) {
	t.Parallel()
	const maxN, maxBytes = 8, 4 << 20
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var c committer
		var all []*write
		for i := range 20 + rng.IntN(100) {
			w := &write{account: int64(1 + rng.IntN(3)), row: submissionRow{sub: &Submission{ID: uuid.New()}}}
			switch rng.IntN(10) {
			case 0, 1: // an upload: up to 10 MiB
				w.files, w.size = true, 1+rng.IntN(10<<20)
			case 2: // a large body without files
				w.size = 512<<10 + rng.IntN(1<<20)
			case 3: // larger than the bound, without files (not possible over HTTP today)
				w.size = maxBytes + 1 + rng.IntN(1<<20)
			default:
				w.size = 200 + rng.IntN(4<<10)
			}
			if rng.IntN(3) > 0 { // keyed, a few keys repeated
				w.claim = &idempotency.Claim{FormID: 1, Key: fmt.Sprint("k", rng.IntN(i+10))}
			}
			all = append(all, w)
			l := c.laneOf(w)
			l.queue = append(l.queue, w)
		}

		taken := map[*write]int{}
		for rounds := 0; len(c.small.queue)+len(c.files.queue) > 0; rounds++ {
			if rounds > 1000 {
				t.Fatalf("seed %d: the queues never empty: %d and %d left", seed, len(c.small.queue), len(c.files.queue))
			}
			// Take from both lanes, as two transactions would, then end
			// both groups.
			var groups [][]*write
			for _, l := range []*lane{&c.small, &c.files} {
				if g := c.takeLocked(l, maxN, maxBytes); len(g) > 0 {
					groups = append(groups, g)
				}
			}
			if len(groups) == 0 {
				t.Fatalf("seed %d: writes queued but none taken", seed)
			}
			for _, g := range groups {
				size, keys := 0, map[claimKey]bool{}
				for _, w := range g {
					taken[w]++
					size += w.size
					if w.claim != nil {
						if keys[keyOf(w)] {
							t.Fatalf("seed %d: key %v twice in one group", seed, keyOf(w))
						}
						keys[keyOf(w)] = true
					}
					if w.files != g[0].files {
						t.Fatalf("seed %d: a group mixes writes with and without files", seed)
					}
					if w.files && w.account != g[0].account {
						t.Fatalf("seed %d: a group with files holds accounts %d and %d", seed, g[0].account, w.account)
					}
				}
				if len(g) > maxN {
					t.Fatalf("seed %d: a group of %d writes, bound %d", seed, len(g), maxN)
				}
				if len(g) > 1 && size > maxBytes {
					t.Fatalf("seed %d: a group of %d writes carries %d bytes, bound %d", seed, len(g), size, maxBytes)
				}
				for _, w := range g {
					if w.claim != nil {
						delete(c.busy, keyOf(w))
					}
				}
				if g[0].files {
					c.files.writing[g[0].account]--
				}
			}
		}
		for _, w := range all {
			if taken[w] != 1 {
				t.Fatalf("seed %d: a write was taken %d times", seed, taken[w])
			}
		}
	}
}

// writeSize counts what a write sends: payload, meta, files, the stored
// answer and job arguments.
func TestWriteSize(t *testing.T) {
	t.Parallel()
	w := &write{
		claim: &idempotency.Claim{Response: idempotency.Response{Body: make([]byte, 10)}},
		row: submissionRow{data: make([]byte, 100), meta: make([]byte, 20),
			files: []fileRow{{file: &File{Name: "a.pdf", Content: make([]byte, 1000)}}}},
	}
	if got, want := writeSize(w), 100+20+1000+5+10; got != want {
		t.Errorf("writeSize = %d, want %d", got, want)
	}
}

// A free transaction in the files lane serves an account whose uploads are
// not being written before more of one that is: account 1's stream of
// uploads, queued first, does not keep account 2's waiting behind all of
// it.
func TestTakeServesAnotherAccountsUploadFirst(t *testing.T) {
	t.Parallel()
	var c committer
	upload := func(account int64) *write {
		w := &write{account: account, files: true, size: 3 << 20, row: submissionRow{sub: &Submission{ID: uuid.New()}}}
		c.files.queue = append(c.files.queue, w)
		return w
	}
	for range 5 {
		upload(1)
	}
	other := upload(2)
	g1 := c.takeLocked(&c.files, 64, 4<<20) // one transaction: account 1's first
	g2 := c.takeLocked(&c.files, 64, 4<<20) // the other: account 2's, ahead of account 1's next
	if len(g1) != 1 || g1[0].account != 1 {
		t.Fatalf("first group = %d writes of account %d, want account 1's first upload", len(g1), g1[0].account)
	}
	if len(g2) != 1 || g2[0] != other {
		t.Fatalf("second group = %d writes of account %d, want account 2's upload", len(g2), g2[0].account)
	}
	// With no account free, the queue goes in order again.
	g3 := c.takeLocked(&c.files, 64, 4<<20)
	if len(g3) != 1 || g3[0].account != 1 || c.files.writing[1] != 2 {
		t.Fatalf("third group = %d writes of account %d (account 1 in %d groups), want account 1's next", len(g3), g3[0].account, c.files.writing[1])
	}
}
