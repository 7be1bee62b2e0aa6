package database

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Node freshness: a node writes its row every NodeBeat; a row older than
// NodeStale belongs to a node that died without saying so (SIGKILL, a
// lost machine), which stops counting then.
const (
	NodeBeat  = 2 * time.Second
	NodeStale = 10 * time.Second
)

// Counter is told how many serve nodes are alive (tokenbucket.Share).
type Counter interface{ Set(n int) }

// Heartbeat keeps serve node id in serve_nodes, and tells live how many
// nodes are alive (itself included), every NodeBeat until ctx ends; then
// it deletes its row, so the others count one fewer at once. A beat the
// database misses keeps the last count.
func Heartbeat(ctx context.Context, db *pgxpool.Pool, id string, live Counter, logger *slog.Logger) {
	beat := func() {
		bctx, cancel := context.WithTimeout(ctx, NodeBeat)
		defer cancel()
		var n int
		err := db.QueryRow(bctx, `WITH me AS (
	INSERT INTO serve_nodes (id, seen_at) VALUES ($1, now()) ON CONFLICT (id) DO UPDATE SET seen_at = now()
), gone AS (
	DELETE FROM serve_nodes WHERE seen_at < now() - $2::interval AND id <> $1
)
SELECT 1 + count(*) FROM serve_nodes WHERE seen_at >= now() - $2::interval AND id <> $1`, id, NodeStale.String()).Scan(&n)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("serve node heartbeat failed: keeping the last count of nodes", "err", err)
			}
			return
		}
		live.Set(n)
	}
	beat()
	t := time.NewTicker(NodeBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_, _ = db.Exec(dctx, `DELETE FROM serve_nodes WHERE id = $1`, id)
			cancel()
			return
		case <-t.C:
			beat()
		}
	}
}
