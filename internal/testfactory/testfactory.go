// Package testfactory makes the rows tests need — accounts, API keys, forms —
// with defaults, against a real database, and the River client that
// inserts jobs the way serve's does.
package testfactory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
)

var seq atomic.Int64

// Account is a user with an API key.
type Account struct {
	User   *accounts.User
	APIKey string
}

// NewAccount creates a user (and account) with a unique email and an API key.
// The user is verified, as `intake users create` makes them (accounts.CreateUser),
// so its forms notify; a test of the unverified state signs up through
// accounts.Service or the dashboard.
func NewAccount(ctx context.Context, t testing.TB, db *pgxpool.Pool) *Account {
	t.Helper()
	email := fmt.Sprintf("owner%d@example.com", seq.Add(1))
	u, _, err := accounts.CreateUserHashed(ctx, db, audit.System, email, passwordHash("correct horse battery"))
	if err != nil {
		t.Fatalf("testfactory: create user: %v", err)
	}
	_, key, err := accounts.CreateAPIKey(ctx, db, audit.System, u, "test", accounts.ScopeReadWrite)
	if err != nil {
		t.Fatalf("testfactory: create API key: %v", err)
	}
	return &Account{User: u, APIKey: key}
}

// Member makes a verified user who is a member of the account accountID
// with role, and of no other account (as an invitation accepted by a new
// user makes them), with the password "correct horse battery".
func Member(ctx context.Context, t testing.TB, db *pgxpool.Pool, accountID int64, role accounts.Role) *accounts.User {
	t.Helper()
	return MemberWithPassword(ctx, t, db, accountID, role, fmt.Sprintf("%s%d@example.com", role, seq.Add(1)), "correct horse battery")
}

// MemberWithPassword is Member with the email and password given.
func MemberWithPassword(ctx context.Context, t testing.TB, db *pgxpool.Pool, accountID int64, role accounts.Role, email, password string) *accounts.User {
	t.Helper()
	u := &accounts.User{AccountID: accountID, Role: role, Email: email, Verified: true}
	err := db.QueryRow(ctx, `WITH u AS (
	INSERT INTO users (email, password_hash, email_verified_at) VALUES ($2, $3, now()) RETURNING id
) INSERT INTO memberships (account_id, user_id, role, last_used_at) SELECT $1, id, $4, now() FROM u RETURNING user_id`,
		accountID, email, passwordHash(password), role).Scan(&u.ID)
	if err != nil {
		t.Fatalf("testfactory: make a member: %v", err)
	}
	return u
}

// hashes keeps each password's argon2id hash: computed once per test
// binary (64 MiB and three passes, slow under the race detector), since a
// member's hash need not differ from another's for a test.
var hashes sync.Map

func passwordHash(password string) string {
	if h, ok := hashes.Load(password); ok {
		return h.(string)
	}
	h, _ := hashes.LoadOrStore(password, accounts.HashPassword(password))
	return h.(string)
}

// FormOpts override a form's defaults: a contact form with a required
// email and an optional message of at most 500 characters.
type FormOpts struct {
	Name     string
	Fields   []forms.Field
	Settings forms.Settings
}

// ContactFields are the default form's fields.
var ContactFields = []forms.Field{
	{Name: "email", Type: forms.TypeEmail, Required: true, Label: "Email"},
	{Name: "message", Type: forms.TypeTextarea, Rules: "max=500", Label: "Message"},
}

// NewForm creates a form for the account.
func NewForm(ctx context.Context, t testing.TB, db *pgxpool.Pool, accountID int64, opts *FormOpts) *forms.Form {
	t.Helper()
	if opts == nil {
		opts = &FormOpts{}
	}
	in := forms.Input{Name: opts.Name, Fields: opts.Fields, Settings: opts.Settings}
	if in.Name == "" {
		in.Name = "Contact"
	}
	if in.Fields == nil {
		in.Fields = ContactFields
	}
	f, err := forms.Create(ctx, db, forms.NewValidator(), nil, nil, audit.System, accountID, in)
	if err != nil {
		t.Fatalf("testfactory: create form: %v", err)
	}
	return f
}

// River returns an insert-only River client with Intake's workers
// registered, as `serve --workers=false` makes it.
func River(t testing.TB, db *pgxpool.Pool) *river.Client[pgx.Tx] {
	t.Helper()
	rc, err := river.NewClient(riverpgxv5.New(db), &river.Config{Workers: notify.Workers(notify.Deps{DB: db})})
	if err != nil {
		t.Fatalf("testfactory: river client: %v", err)
	}
	return rc
}

// Submissions returns the accept service wired as serve wires it: River
// inserts, notify's planner, a validator.
func Submissions(t testing.TB, db *pgxpool.Pool, baseURL string) *submissions.Service {
	t.Helper()
	return &submissions.Service{DB: db, Validator: forms.NewValidator(), BaseURL: baseURL, Planner: notify.Planner{}}
}

// BulkSubmissions inserts n submissions into form straight in SQL — fast
// enough for a million — one a second backwards from newest, with data
// {"email": "personN@example.com", "message": "hello number N"}.
func BulkSubmissions(ctx context.Context, t testing.TB, db *pgxpool.Pool, form *forms.Form, n int, newest time.Time) {
	t.Helper()
	const q = `
INSERT INTO submissions (id, form_id, contract_version, data, created_at)
SELECT gen_random_uuid(), $1, $2,
	jsonb_build_object('email', 'person' || i || '@example.com', 'message', 'hello number ' || i),
	$3::timestamptz - i * interval '1 second'
FROM generate_series(1, $4) AS i`
	if _, err := db.Exec(ctx, q, form.ID, form.Contract.Version, newest, n); err != nil {
		t.Fatalf("testfactory: bulk submissions: %v", err)
	}
	if _, err := db.Exec(ctx, `ANALYZE submissions`); err != nil {
		t.Fatalf("testfactory: analyze: %v", err)
	}
}
