package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
)

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := accounts.HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q is not argon2id in PHC form", h)
	}
	if ok, err := accounts.CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Errorf("the right password: %v %v", ok, err)
	}
	if ok, _ := accounts.CheckPassword(h, "correct horsE"); ok {
		t.Error("a wrong password passed")
	}
	if h == accounts.HashPassword("correct horse") {
		t.Error("two hashes of one password are equal: no salt")
	}
}

func TestUsersKeysAndSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)

	u, created, err := accounts.CreateUser(ctx, db, audit.System, "ada@example.com", "correct horse")
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if again, created, err := accounts.CreateUser(ctx, db, audit.System, "ADA@example.com", "other password"); err != nil || created || again.ID != u.ID {
		t.Fatalf("create again (another case): %v %v %v", again, created, err)
	}
	if _, err := accounts.SignUp(ctx, db, "ada@example.com", "whatever123", ""); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Errorf("sign up with a taken email: %v", err)
	}
	if _, _, err := accounts.CreateUser(ctx, db, audit.System, "not an email", "correct horse"); err == nil {
		t.Error("an invalid email was accepted")
	}
	if _, _, err := accounts.CreateUser(ctx, db, audit.System, "b@example.com", "short"); err == nil {
		t.Error("a short password was accepted")
	}
	if _, err := accounts.CheckLogin(ctx, db, "ada@example.com", "correct horse"); err != nil {
		t.Errorf("login: %v", err)
	}
	for _, c := range [][2]string{{"ada@example.com", "wrong"}, {"nobody@example.com", "correct horse"}} {
		if _, err := accounts.CheckLogin(ctx, db, c[0], c[1]); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Errorf("login %v: %v, want ErrBadCredentials", c, err)
		}
	}

	// API keys: only a hash is stored; revoked keys stop working.
	k, key, err := accounts.CreateAPIKey(ctx, db, audit.System, u, "ci", "")
	if err != nil {
		t.Fatal(err)
	}
	var stored int
	db.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE prefix = $1 AND position($2 in encode(hash, 'escape')) = 0`, k.Prefix, key).Scan(&stored)
	if stored != 1 {
		t.Error("the key itself is stored")
	}
	if p, err := accounts.Authenticate(ctx, db, key); err != nil || p.AccountID != u.AccountID || p.Scope != accounts.ScopeReadWrite {
		t.Fatalf("authenticate: %+v %v, want the account's read_write principal", p, err)
	}
	if err := accounts.RevokeAPIKey(ctx, db, audit.System, u.AccountID+1, k.PublicID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("revoking another account's key: %v", err)
	}
	if err := accounts.RevokeAPIKey(ctx, db, audit.System, u.AccountID, k.PublicID); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Authenticate(ctx, db, key); !errors.Is(err, accounts.ErrUnauthorized) {
		t.Errorf("a revoked key: %v", err)
	}

	// Sessions: found by token, ended by logout, all others ended by a
	// password change, expired ones refused.
	a, _ := accounts.NewSession(ctx, db, u, "192.0.2.1", "test")
	bTok, _ := accounts.NewSession(ctx, db, u, "192.0.2.1", "test")
	if s, err := accounts.SessionFor(ctx, db, a); err != nil || s.AccountID != u.AccountID || s.Email != "ada@example.com" {
		t.Fatalf("session: %v %v", s, err)
	}
	if err := accounts.ChangePassword(ctx, db, audit.System, u, "wrong", "new password", a); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Errorf("change with a wrong current password: %v", err)
	}
	if err := accounts.ChangePassword(ctx, db, audit.System, u, "correct horse", "new password", a); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.SessionFor(ctx, db, bTok); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("another session survived the password change: %v", err)
	}
	if _, err := accounts.CheckLogin(ctx, db, "ada@example.com", "new password"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if err := accounts.EndSession(ctx, db, a); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.SessionFor(ctx, db, a); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("a logged-out session: %v", err)
	}
	c, _ := accounts.NewSession(ctx, db, u, "", "")
	db.Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 second'`)
	if _, err := accounts.SessionFor(ctx, db, c); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("an expired session: %v", err)
	}
	if n, err := accounts.SweepSessions(ctx, db); err != nil || n != 1 {
		t.Errorf("sweep: %d %v", n, err)
	}
}

// A session last seen over an hour ago is extended by its next use, which
// says so and gives the new expiry, so the dashboard can renew its cookie;
// uses within the hour leave it alone.
func TestSessionExtended(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "grace@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	token, err := accounts.NewSession(ctx, db, u, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := accounts.SessionFor(ctx, db, token)
	if err != nil || s.Extended {
		t.Fatalf("a fresh session: %+v %v, want it not extended", s, err)
	}
	if _, err := db.Exec(ctx, `UPDATE sessions SET last_seen_at = now() - interval '2 hours', expires_at = now() + interval '1 day'`); err != nil {
		t.Fatal(err)
	}
	s, err = accounts.SessionFor(ctx, db, token)
	if err != nil || !s.Extended {
		t.Fatalf("a session last seen 2 hours ago: %+v %v, want it extended", s, err)
	}
	if left := time.Until(s.ExpiresAt); left < accounts.SessionLifetime-time.Minute || left > accounts.SessionLifetime {
		t.Errorf("extended to %v from now, want %v", left, accounts.SessionLifetime)
	}
	again, err := accounts.SessionFor(ctx, db, token)
	if err != nil || again.Extended || !again.ExpiresAt.Equal(s.ExpiresAt) {
		t.Errorf("used again at once: %+v %v, want the same expiry, not extended", again, err)
	}
}

// An API key's name is text the database stores as written: a NUL or
// invalid UTF-8 is refused before it is sent there (it was a 500).
func TestAPIKeyNameText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "keys@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ci\x00", "ci\xff", strings.Repeat("n", accounts.MaxKeyNameLength+1)} {
		if accounts.CheckKeyName(name) == nil {
			t.Errorf("CheckKeyName(%q) = nil", name)
		}
		if _, _, err := accounts.CreateAPIKey(ctx, db, audit.System, u, name, accounts.ScopeReadWrite); err == nil || strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("CreateAPIKey(%q) = %v, want the name refused before the database", name, err)
		}
	}
	if err := accounts.CheckKeyName("CI — déploiement ✓"); err != nil {
		t.Errorf("a name of plain text: %v", err)
	}
	if keys, _ := accounts.APIKeys(ctx, db, u.AccountID); len(keys) != 0 {
		t.Errorf("%d keys stored", len(keys))
	}
}

// An API key is read_write unless made read_only; its scope is listed and
// is its principal's. Any other scope is refused before the database.
func TestAPIKeyScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	u, _, err := accounts.CreateUser(ctx, db, audit.System, "scopes@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   accounts.Scope
		want accounts.Scope
	}{{"", accounts.ScopeReadWrite}, {accounts.ScopeReadWrite, accounts.ScopeReadWrite}, {accounts.ScopeReadOnly, accounts.ScopeReadOnly}} {
		k, key, err := accounts.CreateAPIKey(ctx, db, audit.System, u, "k", c.in)
		if err != nil || k.Scope != c.want {
			t.Fatalf("CreateAPIKey(scope %q) = %+v %v, want scope %s", c.in, k, err, c.want)
		}
		p, err := accounts.Authenticate(ctx, db, key)
		if err != nil || p.Scope != c.want || p.Scope.MayChange() != (c.want == accounts.ScopeReadWrite) {
			t.Errorf("scope %q: principal %+v %v, want scope %s", c.in, p, err, c.want)
		}
	}
	for _, bad := range []accounts.Scope{"admin", "READ_ONLY", "read-only", "read_only\x00"} {
		if _, _, err := accounts.CreateAPIKey(ctx, db, audit.System, u, "bad", bad); err == nil || strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("CreateAPIKey(scope %q) = %v, want it refused before the database", bad, err)
		}
	}
	keys, err := accounts.APIKeys(ctx, db, u.AccountID)
	if err != nil || len(keys) != 3 || keys[0].Scope != accounts.ScopeReadOnly || keys[2].Scope != accounts.ScopeReadWrite {
		t.Errorf("APIKeys = %v %v, want 3 listed with their scopes", keys, err)
	}
	// The database holds the same rule: a scope the code does not know
	// cannot be stored by any other path either.
	if _, err := db.Exec(ctx, `UPDATE api_keys SET scope = 'admin'`); err == nil {
		t.Error("the database took the scope admin")
	}
}

// A user made from a hash logs in with the password hashed; an empty hash
// is refused.
func TestCreateUserHashed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	u, created, err := accounts.CreateUserHashed(ctx, db, audit.System, "hashed@example.com", accounts.HashPassword("correct horse"))
	if err != nil || !created || !u.Verified || u.Role != accounts.RoleOwner {
		t.Fatalf("CreateUserHashed = %+v %v %v", u, created, err)
	}
	if _, err := accounts.CheckLogin(ctx, db, "hashed@example.com", "correct horse"); err != nil {
		t.Errorf("log-in with the hashed password: %v", err)
	}
	if _, _, err := accounts.CreateUserHashed(ctx, db, audit.System, "empty@example.com", ""); err == nil {
		t.Error("an empty hash was taken")
	}
}
