package testfactory

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InjectedFault is the message of the error FailWrite raises.
const InjectedFault = "injected fault"

// FailWrite queues on b a statement that fails, so the submission's write
// (one transaction) rolls back at that point. Use it as
// submissions.Service.AfterInsert.
func FailWrite(b *pgx.Batch) {
	b.Queue(`DO $$ BEGIN RAISE EXCEPTION '` + InjectedFault + `'; END $$`)
}

// IsInjectedFault reports whether err is the failure FailWrite raised.
func IsInjectedFault(err error) bool {
	return err != nil && strings.Contains(err.Error(), InjectedFault)
}

var gateKeys atomic.Int64

// Gate stalls submission writes at the point a test chooses (inside their
// transaction, holding their idempotency key): writes that Queue it wait on
// an advisory lock the gate holds until Open.
type Gate struct {
	db   *pgxpool.Pool
	conn *pgx.Conn
	key  int64
	once sync.Once
}

// NewGate returns a closed gate on db.
func NewGate(t testing.TB, db *pgxpool.Pool) *Gate {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, db.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	g := &Gate{db: db, conn: conn, key: 7_000_000 + gateKeys.Add(1)}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, g.key); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Open()
		conn.Close(context.Background())
	})
	return g
}

// Queue queues on b a wait for the gate to open. The wait is not bounded by
// the write's lock timeout (only the statements before it are).
func (g *Gate) Queue(b *pgx.Batch) {
	b.Queue(`SELECT set_config('lock_timeout', '0', true)`)
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, g.key)
}

// WaitEntered waits until a write is waiting at the gate.
func (g *Gate) WaitEntered(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var waiting bool
		err := g.db.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = $1 AND objsubid = 1)`, g.key).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no write reached the gate within 10 s")
}

// Open lets every write waiting at the gate (and every later one) through.
func (g *Gate) Open() {
	g.once.Do(func() { g.conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, g.key) })
}
