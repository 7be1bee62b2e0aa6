package notify_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// End to end, as served: an endpoint stored before save-time checks
// pointing at a loopback receiver through the IPv4-translated spelling
// (http://[::ffff:0:127.0.0.1]:PORT/) is never delivered to; the delivery
// fails with the refusal's reason.
func TestTranslatedLoopbackIsNeverDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := testfactory.NewAccount(ctx, t, db)
	b := &bundle{db: db, account: acct, form: testfactory.NewForm(ctx, t, db, acct.User.AccountID, nil)}
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	b.deps = notify.Deps{
		DB: db, HTTPClient: webhooks.NewHTTPClient(false), Sealer: sealer, From: "Intake <no-reply@intake.test>",
		BaseURL: "http://intake.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Schedule: []time.Duration{50 * time.Millisecond},
	}
	b.start(t)
	b.svc = &submissions.Service{DB: db, Validator: forms.NewValidator(), BaseURL: "http://intake.test", Planner: notify.Planner{}}

	rc := newReceiver(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(rc.URL, "http://"))
	b.endpoint(t, "http://[::ffff:0:127.0.0.1]:"+port+"/hook", false) // saved as the API allowed until now
	b.submit(t, "k", contact(1))

	var lastError string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		err := db.QueryRow(ctx, `SELECT coalesce(max(last_error), '') FROM deliveries`).Scan(&lastError)
		if err != nil {
			t.Fatal(err)
		}
		if lastError != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("delivery error: %s", lastError)
	if !strings.Contains(lastError, "refused") || !strings.Contains(lastError, "IPv4-translated") || !strings.Contains(lastError, "loopback") {
		t.Errorf("the delivery's error is %q, want the address refused as IPv4-translated loopback", lastError)
	}
	if strings.Contains(lastError, "/hook") {
		t.Errorf("the delivery's error shows the URL's path, which may carry a secret: %q", lastError)
	}
	time.Sleep(200 * time.Millisecond) // a few retries more
	if got := rc.received(); len(got) != 0 {
		t.Errorf("the loopback receiver got %d deliveries", len(got))
	}
}
