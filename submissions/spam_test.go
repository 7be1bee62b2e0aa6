package submissions_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/captchatest"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// captchaForm gives b a form that asks for p's CAPTCHA with the secret
// "form-secret" and outage policy onOutage, checked by a loopback server.
func (b *testBundle) captchaForm(t *testing.T, p captcha.Provider, onOutage string) *captchatest.Server {
	t.Helper()
	srv := captchatest.New(t, p, "form-secret")
	b.useCaptchaForm(t, srv, onOutage)
	return srv
}

// useCaptchaForm gives b another form checked by srv.
func (b *testBundle) useCaptchaForm(t *testing.T, srv *captchatest.Server, onOutage string) {
	t.Helper()
	secret := srv.Secret
	acct := testfactory.NewAccount(context.Background(), t, b.db)
	b.form = testfactory.NewForm(context.Background(), t, b.db, acct.User.AccountID, &testfactory.FormOpts{
		Settings: forms.Settings{Captcha: forms.Captcha{Provider: srv.Provider, Secret: &secret, OnOutage: onOutage}},
	})
	b.svc.Captcha = srv.Verifier(300 * time.Millisecond)
}

// withToken is contact(i) carrying a token in field.
func withToken(i int, field, token string) map[string]any {
	m := contact(i)
	m[field] = token
	return m
}

// rowText is everything stored for the form's submissions and keys, as
// text: a token must appear nowhere in it.
func (b *testBundle) rowText(t *testing.T) string {
	t.Helper()
	var s string
	err := b.db.QueryRow(context.Background(), `SELECT coalesce(string_agg(s::text, ' '), '') || ' ' ||
		coalesce((SELECT string_agg(k::text, ' ') FROM idempotency_keys k WHERE k.form_id = $1), '')
		FROM submissions s WHERE s.form_id = $1`, b.form.ID).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *testBundle) formCount(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(context.Background(), "SELECT count(*) FROM "+table+" WHERE form_id = $1", b.form.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The CAPTCHA story for each provider: a refused token stores nothing and
// the same key is then accepted with a fresh token; a retry of the stored
// key is answered without asking the provider again, whatever token it
// carries; the token is stored nowhere.
func TestCaptchaEachProvider(t *testing.T) {
	t.Parallel()
	for _, p := range captcha.Providers {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			srv := b.captchaForm(t, p, forms.CaptchaFailClosed)
			ctx := context.Background()
			field := p.TokenField()

			// No token: refused before the provider is asked.
			var missing *captcha.MissingTokenError
			if _, err := b.svc.Accept(ctx, b.request(t, "k1", contact(1))); !errors.As(err, &missing) {
				t.Fatalf("no token: %v, want *captcha.MissingTokenError", err)
			}
			// Another provider's field is not this form's token.
			other := captcha.Providers[(indexOf(p)+1)%len(captcha.Providers)].TokenField()
			if _, err := b.svc.Accept(ctx, b.request(t, "k1", withToken(1, other, "good-other"))); !errors.As(err, &missing) {
				t.Fatalf("a token in %s: %v, want *captcha.MissingTokenError", other, err)
			}
			if n := len(srv.Hits()); n != 0 {
				t.Fatalf("the provider was asked %d times without a token", n)
			}

			// A refused token: nothing stored.
			var rejected *captcha.RejectedError
			if _, err := b.svc.Accept(ctx, b.request(t, "k1", withToken(1, field, captchatest.BadToken))); !errors.As(err, &rejected) {
				t.Fatalf("a bad token: %v, want *captcha.RejectedError", err)
			}
			if s, k := b.formCount(t, "submissions"), b.formCount(t, "idempotency_keys"); s != 0 || k != 0 {
				t.Fatalf("after a refused token: %d submissions, %d keys stored, want none", s, k)
			}

			// The same key with a fresh token: accepted.
			res, err := b.svc.Accept(ctx, b.request(t, "k1", withToken(1, field, "good-1")))
			if err != nil || res.Outcome != submissions.OutcomeCreated {
				t.Fatalf("a fresh token with the same key: %v, %+v", err, res)
			}
			hits := srv.Hits()
			if len(hits) != 2 || hits[1] != (captchatest.Hit{Secret: "form-secret", Response: "good-1", RemoteIP: "192.0.2.1"}) {
				t.Fatalf("the provider saw %+v, want the bad token, then good-1 from 192.0.2.1 with the form's secret", hits)
			}

			// Retries of the stored key replay and never ask again: with the
			// spent token, with a fresh one, with none.
			for _, fields := range []map[string]any{withToken(1, field, "good-1"), withToken(1, field, "good-2"), contact(1)} {
				again, err := b.svc.Accept(ctx, b.request(t, "k1", fields))
				if err != nil || again.Outcome != submissions.OutcomeReplayed || again.SubmissionID != res.SubmissionID {
					t.Fatalf("retry with %v: %v, %+v; want a replay of %v (the token is not part of the fingerprint)", fields[field], err, again, res.SubmissionID)
				}
			}
			if n := len(srv.Hits()); n != 2 {
				t.Errorf("the provider was asked %d times, want 2: a replay is never verified again", n)
			}

			sub, err := submissions.ByID(ctx, b.db, res.SubmissionID)
			if err != nil {
				t.Fatal(err)
			}
			if c := sub.Meta.Captcha; c == nil || c.Provider != p || !c.Verified || c.Reason != "" {
				t.Errorf("meta.captcha = %+v, want verified by %s", c, p)
			}
			if _, ok := sub.Data[field]; ok {
				t.Errorf("the token field is in the data: %v", sub.Data)
			}
			if text := b.rowText(t); strings.Contains(text, "good-1") || strings.Contains(text, captchatest.BadToken) {
				t.Errorf("a token is stored: %s", text)
			}
		})
	}
}

func indexOf(p captcha.Provider) int {
	for i, q := range captcha.Providers {
		if q == p {
			return i
		}
	}
	return -1
}

// A payload the contract refuses does not spend the token: the provider is
// asked only once everything else has passed.
func TestCaptchaAfterValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.captchaForm(t, captcha.Turnstile, forms.CaptchaFailClosed)
	ctx := context.Background()
	bad := map[string]any{"email": "not an address", "cf-turnstile-response": "good-1"}
	var verr *forms.ValidationError
	if _, err := b.svc.Accept(ctx, b.request(t, "k", bad)); !errors.As(err, &verr) {
		t.Fatalf("invalid payload: %v, want a validation error", err)
	}
	if n := len(srv.Hits()); n != 0 {
		t.Fatalf("the provider was asked %d times for a payload the contract refused", n)
	}
	if _, err := b.svc.Accept(ctx, b.request(t, "k", withToken(1, "cf-turnstile-response", "good-1"))); err != nil {
		t.Fatalf("the corrected payload with the same token: %v", err)
	}
}

// A provider that cannot be asked: a form that fails closed refuses and
// stores nothing; one that fails open stores the submission and says the
// CAPTCHA was not verified, and why.
func TestCaptchaOutage(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name   string
		mode   captchatest.Mode
		reason string
	}{
		{"5xx", captchatest.Down, "HTTP 503"},
		{"timeout", captchatest.Slow, "no answer within"},
		{"unparsable", captchatest.Garbage, "not siteverify JSON"},
		{"connection", captchatest.Hangup, "unreachable"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			closed := setup(t)
			srv := closed.captchaForm(t, captcha.HCaptcha, forms.CaptchaFailClosed)
			srv.SetMode(mode.mode)
			var unv *captcha.UnverifiedError
			if _, err := closed.svc.Accept(ctx, closed.request(t, "k", withToken(1, "h-captcha-response", "good-1"))); !errors.As(err, &unv) || !strings.Contains(unv.Reason, mode.reason) {
				t.Fatalf("fail closed: %v, want *captcha.UnverifiedError saying %q", err, mode.reason)
			}
			if s, k := closed.formCount(t, "submissions"), closed.formCount(t, "idempotency_keys"); s != 0 || k != 0 {
				t.Fatalf("fail closed stored %d submissions and %d keys, want none", s, k)
			}
			// The provider is back: the same key goes through.
			srv.SetMode(captchatest.Normal)
			if _, err := closed.svc.Accept(ctx, closed.request(t, "k", withToken(1, "h-captcha-response", "good-2"))); err != nil {
				t.Fatalf("after the outage, the same key: %v", err)
			}

			open := closed
			open.useCaptchaForm(t, srv, forms.CaptchaFailOpen)
			srv.SetMode(mode.mode)
			res, err := open.svc.Accept(ctx, open.request(t, "k", withToken(1, "h-captcha-response", "good-1")))
			if err != nil || res.Outcome != submissions.OutcomeCreated {
				t.Fatalf("fail open: %v, %+v; want it taken", err, res)
			}
			if !strings.Contains(res.CaptchaUnverified, mode.reason) {
				t.Errorf("Result.CaptchaUnverified = %q, want %q", res.CaptchaUnverified, mode.reason)
			}
			sub, err := submissions.ByID(ctx, open.db, res.SubmissionID)
			if err != nil {
				t.Fatal(err)
			}
			if c := sub.Meta.Captcha; c == nil || c.Verified || !strings.Contains(c.Reason, mode.reason) || sub.Spam {
				t.Errorf("meta.captcha = %+v, spam %v; want not verified, saying %q, and not spam", c, sub.Spam, mode.reason)
			}
		})
	}

	t.Run("a wrong secret never fails open", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		srv := captchatest.New(t, captcha.Turnstile, "form-secret")
		wrong := "not-the-form-secret"
		acct := testfactory.NewAccount(context.Background(), t, b.db)
		b.form = testfactory.NewForm(context.Background(), t, b.db, acct.User.AccountID, &testfactory.FormOpts{
			Settings: forms.Settings{Captcha: forms.Captcha{Provider: captcha.Turnstile, Secret: &wrong, OnOutage: forms.CaptchaFailOpen}},
		})
		b.svc.Captcha = srv.Verifier(300 * time.Millisecond)
		var unverified *captcha.UnverifiedError
		_, err := b.svc.Accept(context.Background(), b.request(t, "k", withToken(1, "cf-turnstile-response", captchatest.BadToken)))
		if !errors.As(err, &unverified) || !unverified.Misconfigured {
			t.Fatalf("a form whose secret the provider refuses, failing open: %v, want a misconfiguration refused", err)
		}
		if n := b.formCount(t, "submissions"); n != 0 {
			t.Fatalf("%d submissions stored past a refused secret", n)
		}
	})

	t.Run("a honeypot bot gets the normal answer, not the CAPTCHA's", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		srv := b.captchaForm(t, captcha.Turnstile, forms.CaptchaFailClosed)
		bot := map[string]any{"email": "bot@example.com", "_gotcha": "http://spam.example"}
		res, err := b.svc.Accept(context.Background(), b.request(t, "bot", bot))
		if err != nil || res.Outcome != submissions.OutcomeSpam {
			t.Fatalf("a honeypot bot without a token on a CAPTCHA form: %v %+v, want the normal answer, stored as spam", err, res)
		}
		if n := len(srv.Hits()); n != 0 {
			t.Errorf("the provider was asked %d times about a honeypot bot", n)
		}
	})

	t.Run("a refused token is not an outage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.captchaForm(t, captcha.ReCAPTCHA, forms.CaptchaFailOpen)
		var rejected *captcha.RejectedError
		if _, err := b.svc.Accept(context.Background(), b.request(t, "k", withToken(1, "g-recaptcha-response", captchatest.BadToken))); !errors.As(err, &rejected) {
			t.Fatalf("a bad token on a form that fails open: %v, want it refused", err)
		}
	})
}

// The secret is sealed at rest, bound to its form, and opened to verify.
func TestCaptchaSecretSealed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	srv := captchatest.New(t, captcha.Turnstile, "0x4AAAAAAA-real-secret")
	secret := "0x4AAAAAAA-real-secret"
	acct := testfactory.NewAccount(ctx, t, b.db)
	f, err := forms.Create(ctx, b.db, forms.NewValidator(), sealer, nil, audit.System, acct.User.AccountID, forms.Input{Name: "Sealed", Fields: testfactory.ContactFields,
		Settings: forms.Settings{Captcha: forms.Captcha{Provider: captcha.Turnstile, Secret: &secret}}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Settings.Captcha.Secret != nil || !f.Settings.Captcha.SecretSet {
		t.Fatalf("the created form holds secret %v, set %v; want it gone and set", f.Settings.Captcha.Secret, f.Settings.Captcha.SecretSet)
	}
	var stored, settings string
	if err := b.db.QueryRow(ctx, `SELECT captcha_secret, settings::text FROM forms WHERE id = $1`, f.ID).Scan(&stored, &settings); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "sealed:v1:") || strings.Contains(stored, secret) || strings.Contains(settings, secret) {
		t.Fatalf("stored secret %q, settings %s: want it sealed and out of the settings", stored, settings)
	}

	b.form = f
	b.svc.Captcha, b.svc.Secrets = srv.Verifier(0), sealer
	if _, err := b.svc.Accept(ctx, b.request(t, "k", withToken(1, "cf-turnstile-response", "good-1"))); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if hits := srv.Hits(); len(hits) != 1 || hits[0].Secret != secret {
		t.Fatalf("the provider got %+v, want the opened secret", hits)
	}

	// Copied into another form's row, the sealed secret does not open; the
	// submission is then unverified (and, failing closed, refused).
	other := testfactory.NewForm(ctx, t, b.db, acct.User.AccountID, &testfactory.FormOpts{Settings: forms.Settings{Captcha: forms.Captcha{Provider: captcha.Turnstile, Secret: &secret}}})
	if _, err := b.db.Exec(ctx, `UPDATE forms SET captcha_secret = $1 WHERE id = $2`, stored, other.ID); err != nil {
		t.Fatal(err)
	}
	b.form = other
	var unv *captcha.UnverifiedError
	if _, err := b.svc.Accept(ctx, b.request(t, "k", withToken(1, "cf-turnstile-response", "good-2"))); !errors.As(err, &unv) || !strings.Contains(unv.Reason, "cannot be decrypted") {
		t.Fatalf("a secret sealed for another form: %v, want unverified", err)
	}
}

// Minimum fill time: a submission sent sooner than the form's minimum is
// stored as spam with a reason people can read; one without a report is not
// judged; the report is kept in the metadata, never in the data nor the
// fingerprint.
func TestMinFillTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	acct := testfactory.NewAccount(ctx, t, b.db)
	b.form = testfactory.NewForm(ctx, t, b.db, acct.User.AccountID, &testfactory.FormOpts{Settings: forms.Settings{MinFillSeconds: 3}})

	fill := func(i int, ms any) map[string]any {
		m := contact(i)
		if ms != nil {
			m["_fill_ms"] = ms
		}
		return m
	}
	for _, tc := range []struct {
		key    string
		fields map[string]any
		spam   string
		fillMS int64 // -1: none kept
	}{
		{"fast", fill(1, "1234"), "filled in 1.2 s; the form's minimum is 3 s", 1234},
		{"just-under", fill(2, 2999), "filled in 2.9 s; the form's minimum is 3 s", 2999},
		{"enough", fill(3, "3000"), "", 3000},
		{"no-report", fill(4, nil), "", -1},
		{"not-a-number", fill(5, "soon"), "", -1},
	} {
		res, err := b.svc.Accept(ctx, b.request(t, tc.key, tc.fields))
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		sub, err := submissions.ByID(ctx, b.db, res.SubmissionID)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Spam != (tc.spam != "") || sub.SpamReason != tc.spam {
			t.Errorf("%s: spam %v %q, want %q", tc.key, sub.Spam, sub.SpamReason, tc.spam)
		}
		if wantOutcome := map[bool]submissions.Outcome{true: submissions.OutcomeSpam, false: submissions.OutcomeCreated}[tc.spam != ""]; res.Outcome != wantOutcome {
			t.Errorf("%s: outcome %s, want %s", tc.key, res.Outcome, wantOutcome)
		}
		switch {
		case tc.fillMS < 0 && sub.Meta.FillMS != nil:
			t.Errorf("%s: meta.fill_ms = %d, want none", tc.key, *sub.Meta.FillMS)
		case tc.fillMS >= 0 && (sub.Meta.FillMS == nil || *sub.Meta.FillMS != tc.fillMS):
			t.Errorf("%s: meta.fill_ms = %v, want %d", tc.key, sub.Meta.FillMS, tc.fillMS)
		}
		if _, ok := sub.Data["_fill_ms"]; ok {
			t.Errorf("%s: _fill_ms is in the data", tc.key)
		}
	}

	// A retry after the page stayed open longer carries another fill time:
	// the same submission, replayed.
	first, _ := b.svc.Accept(ctx, b.request(t, "fast", fill(1, "98765")))
	if first.Outcome != submissions.OutcomeReplayed {
		t.Errorf("a retry with another _fill_ms: %s, want a replay", first.Outcome)
	}
}

// A double click posts one token twice with one key. The first request
// spends the token; the provider refuses it to the second, which must not
// answer "CAPTCHA not passed" while the first is storing the submission:
// it waits for that answer and replays it.
func TestCaptchaDoubleClick(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := b.captchaForm(t, captcha.Turnstile, forms.CaptchaFailClosed)
	ctx := context.Background()
	gate := testfactory.NewGate(t, b.db)
	var calls atomic.Int32
	b.svc.AfterInsert = func(batch *pgx.Batch) {
		if calls.Add(1) == 1 {
			gate.Queue(batch)
		}
	}
	first := make(chan *submissions.Result, 1)
	go func() {
		res, err := b.svc.Accept(ctx, b.request(t, "click", withToken(1, "cf-turnstile-response", "good-1")))
		if err != nil {
			t.Errorf("the first click: %v", err)
		}
		first <- res
	}()
	gate.WaitEntered(t)
	// The first is still committing when the second is refused.
	time.AfterFunc(300*time.Millisecond, gate.Open)
	second, err := b.svc.Accept(ctx, b.request(t, "click", withToken(1, "cf-turnstile-response", "good-1")))
	if err != nil {
		t.Fatalf("the second click: %v, want the first one's answer", err)
	}
	one := <-first
	if one == nil || second.Outcome != submissions.OutcomeReplayed || second.SubmissionID != one.SubmissionID {
		t.Fatalf("second = %+v, first = %+v; want the second to replay the first", second, one)
	}
	if n := len(srv.Hits()); n != 2 {
		t.Errorf("the provider was asked %d times, want 2 (the second time it refused the spent token)", n)
	}
	if n := b.formCount(t, "submissions"); n != 1 {
		t.Errorf("%d submissions stored, want 1", n)
	}

	// A spent token with a key nothing was stored under is refused, after
	// the wait (about 8 s) for a twin that never comes.
	start := time.Now()
	var rejected *captcha.RejectedError
	if _, err := b.svc.Accept(ctx, b.request(t, "other", withToken(2, "cf-turnstile-response", "good-1"))); !errors.As(err, &rejected) || !rejected.Spent() {
		t.Fatalf("a spent token: %v, want it refused", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the refusal took %v", d)
	}
}
