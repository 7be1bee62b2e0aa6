package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
)

// target is the form under load and what each submission to it should
// enqueue.
type target struct {
	id        int64
	publicID  string
	accountID int64
	created   bool   // made by this run
	email     string // the user made with it
	keyPrefix string // the API key made with it, for the record
	apiKey    string // the API key itself, to register the webhook receiver

	jobs     int // River jobs per non-spam submission
	spamJobs int // River jobs per spam submission
}

// contactFields is the contract of the form the bench creates: the one of
// README.md's first form.
var contactFields = []forms.Field{
	{Name: "email", Type: forms.TypeEmail, Required: true, Label: "Your email"},
	{Name: "message", Type: forms.TypeTextarea, Rules: "max=2000", Label: "Message"},
}

// prepareForm finds the form publicID, or when it is empty creates a user,
// an API key and a contact form directly in the database, and works out the
// jobs each submission should enqueue.
func prepareForm(ctx context.Context, db *pgxpool.Pool, publicID string) (*target, error) {
	t := &target{}
	if publicID == "" {
		email := "bench-" + randomHex(4) + "@example.com"
		u, _, err := accounts.CreateUser(ctx, db, audit.System, email, randomHex(16))
		if err != nil {
			return nil, fmt.Errorf("create user (is the database migrated? run intake serve or intake migrate up first): %w", err)
		}
		// The load goes past the free plan's monthly quota.
		if err := accounts.SetPlan(ctx, db, audit.System, u.AccountID, "unlimited"); err != nil {
			return nil, fmt.Errorf("put the bench account on the unlimited plan: %w", err)
		}
		_, key, err := accounts.CreateAPIKey(ctx, db, audit.System, u, "intake-bench", accounts.ScopeReadWrite)
		if err != nil {
			return nil, fmt.Errorf("create API key: %w", err)
		}
		f, err := forms.Create(ctx, db, forms.NewValidator(), nil, nil, audit.System, u.AccountID, forms.Input{Name: "intake-bench", Fields: contactFields})
		if err != nil {
			return nil, fmt.Errorf("create form: %w", err)
		}
		publicID = f.PublicID
		t.created, t.email, t.keyPrefix, t.apiKey = true, email, key[:min(len(key), 12)], key
	}
	f, err := forms.ByPublicID(ctx, db, publicID)
	if errors.Is(err, forms.ErrNotFound) {
		return nil, fmt.Errorf("no form %q in the database", publicID)
	}
	if err != nil {
		return nil, fmt.Errorf("read form %s: %w", publicID, err)
	}
	if _, ok := f.Contract.Field("message"); !ok {
		return nil, fmt.Errorf("form %s has no field \"message\": the bench identifies intents by a token in it", publicID)
	}
	t.id, t.publicID, t.accountID = f.ID, f.PublicID, f.AccountID
	t.jobs, t.spamJobs, err = expectedJobs(ctx, db, f)
	return t, err
}

// recountJobs works out the jobs each submission should enqueue again,
// after the form's webhook endpoints changed.
func recountJobs(ctx context.Context, db *pgxpool.Pool, t *target) error {
	f, err := forms.ByPublicID(ctx, db, t.publicID)
	if err != nil {
		return fmt.Errorf("read form %s: %w", t.publicID, err)
	}
	t.jobs, t.spamJobs, err = expectedJobs(ctx, db, f)
	return err
}

// expectedJobs mirrors notify.Planner: a delivery per enabled endpoint (for
// spam only those that include spam), an email per confirmed notification
// address or else to the owner (unless they unsubscribed), and the
// autoresponse (the bench always sends a valid email field).
func expectedJobs(ctx context.Context, db *pgxpool.Pool, f *forms.Form) (jobs, spamJobs int, err error) {
	var endpoints, spamEndpoints, confirmed int
	var owner bool
	err = db.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE enabled), count(*) FILTER (WHERE enabled AND include_spam),
		       EXISTS (SELECT 1 FROM users u WHERE u.id = (SELECT user_id FROM memberships WHERE account_id = $2 AND role = 'owner')
		               AND NOT EXISTS (SELECT 1 FROM notify_recipients r WHERE r.form_id = $1 AND r.email = lower(u.email) AND r.state = 'unsubscribed')),
		       (SELECT count(*) FROM notify_recipients WHERE form_id = $1 AND listed AND state = 'confirmed')
		FROM webhook_endpoints WHERE form_id = $1`, f.ID, f.AccountID).Scan(&endpoints, &spamEndpoints, &owner, &confirmed)
	if err != nil {
		return 0, 0, fmt.Errorf("read the form's endpoints: %w", err)
	}
	emails := confirmed
	if len(f.Settings.NotifyEmails) == 0 && owner {
		emails = 1
	}
	if f.Settings.Autoresponse.Enabled {
		emails++
	}
	return endpoints + emails, spamEndpoints, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
