package database_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/testdb"
)

type count struct{ n atomic.Int64 }

func (c *count) Set(n int) { c.n.Store(int64(n)) }

// Serve nodes count each other through serve_nodes: two alive are two; one
// that stops deletes its row and the other counts one again; a row not
// renewed for NodeStale (a node SIGKILLed) stops counting and is deleted.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	db, _ := testdb.New(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	if _, err := db.Exec(ctx, `INSERT INTO serve_nodes (id, seen_at) VALUES ('dead', now() - interval '1 minute')`); err != nil {
		t.Fatal(err)
	}
	var a, b count
	actx, stopA := context.WithCancel(ctx)
	bctx, stopB := context.WithCancel(ctx)
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { database.Heartbeat(actx, db, "a", &a, logger); close(doneA) }()
	go func() { database.Heartbeat(bctx, db, "b", &b, logger); close(doneB) }()
	defer func() { stopB(); <-doneB }()
	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * database.NodeBeat)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: a counts %d, b counts %d", what, a.n.Load(), b.n.Load())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("both alive", func() bool { return a.n.Load() == 2 && b.n.Load() == 2 })
	var dead int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM serve_nodes WHERE id = 'dead'`).Scan(&dead); err != nil || dead != 0 {
		t.Errorf("the stale row is still there (%d, %v)", dead, err)
	}
	stopA()
	<-doneA
	wait("a stopped", func() bool { return b.n.Load() == 1 })
}
