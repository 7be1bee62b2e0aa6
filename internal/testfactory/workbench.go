package testfactory

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// Workbench is where the workers' tests (webhooks, notify) start: a
// database of their own with an account and its contact form, the sealer
// serve would have, the accept service with the package's planner, and a
// River client that works jobs once Start is called.
type Workbench struct {
	DB      *pgxpool.Pool
	Account *Account
	Form    *forms.Form
	Sealer  *seal.Sealer // key "test secret key"
	Svc     *submissions.Service
	Client  *river.Client[pgx.Tx] // nil until Start
}

// NewWorkbench makes the database, the account with a form (NewForm's
// defaults), the sealer, and the accept service planning with planner.
func NewWorkbench(t testing.TB, planner submissions.Planner) *Workbench {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := NewAccount(ctx, t, db)
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	return &Workbench{
		DB: db, Account: acct, Form: NewForm(ctx, t, db, acct.User.AccountID, nil), Sealer: sealer,
		Svc: &submissions.Service{DB: db, Validator: forms.NewValidator(), BaseURL: "http://intake.test", Planner: planner},
	}
}

// Start starts a River client on the workbench's database that works
// workers on queues, fetching every poll (0: 50 ms), and stops it,
// cancelling what runs, when t ends.
func (w *Workbench) Start(t testing.TB, workers *river.Workers, queues map[string]river.QueueConfig, logger *slog.Logger, poll time.Duration) {
	t.Helper()
	if poll == 0 {
		poll = 50 * time.Millisecond
	}
	client, err := river.NewClient(riverpgxv5.New(w.DB), &river.Config{
		Workers: workers, Queues: queues, Logger: logger, FetchCooldown: 10 * time.Millisecond, FetchPollInterval: poll,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Client = client
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.StopAndCancel(ctx)
	})
}

// Endpoint adds a webhook endpoint to the form (see Endpoint); its Secret
// is in clear, as the receiver holds it.
func (w *Workbench) Endpoint(t testing.TB, url string, includeSpam bool) *webhooks.Endpoint {
	t.Helper()
	return Endpoint(t, w.DB, w.Sealer, w.Form, url, includeSpam)
}

// Submit sends fields to the form with the idempotency key key (see Submit).
func (w *Workbench) Submit(t testing.TB, key string, fields map[string]any) *submissions.Result {
	t.Helper()
	return Submit(t, w.Svc, w.Form.PublicID, key, fields)
}

// Settle waits until no job is left to run (see Settle).
func (w *Workbench) Settle(t testing.TB) {
	t.Helper()
	Settle(t, w.DB)
}

// Count runs sql, a count, and returns it.
func (w *Workbench) Count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	return Count(t, w.DB, sql, args...)
}

// Contact is the i-th contact form submission: a distinct email and a
// message.
func Contact(i int) map[string]any {
	return map[string]any{"email": fmt.Sprintf("p%d@example.com", i), "message": "hello"}
}
