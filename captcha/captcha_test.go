package captcha_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/internal/captchatest"
)

// Each provider's protocol against a loopback server that speaks it: what
// is sent, and how each kind of answer is read.
func TestVerifyEachProvider(t *testing.T) {
	t.Parallel()
	for _, p := range captcha.Providers {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv := captchatest.New(t, p, "form-secret")
			v := srv.Verifier(0)

			if err := v.Verify(ctx, p, "form-secret", "good-1", "203.0.113.7"); err != nil {
				t.Fatalf("a good token: %v", err)
			}
			hits := srv.Hits()
			if len(hits) != 1 || hits[0] != (captchatest.Hit{Secret: "form-secret", Response: "good-1", RemoteIP: "203.0.113.7"}) {
				t.Fatalf("the provider saw %+v, want one check of secret, response and remoteip", hits)
			}

			// Tokens are single-use.
			var rej *captcha.RejectedError
			err := v.Verify(ctx, p, "form-secret", "good-1", "203.0.113.7")
			if !errors.As(err, &rej) || rej.Provider != p || len(rej.Codes) != 1 || !rej.Spent() {
				t.Fatalf("the same token again: %v, want a *RejectedError with the provider's duplicate code", err)
			}
			if want := map[captcha.Provider]string{captcha.HCaptcha: "already-seen-response"}[p]; want != "" && rej.Codes[0] != want {
				t.Errorf("codes = %v, want %s", rej.Codes, want)
			}
			if err := v.Verify(ctx, p, "form-secret", captchatest.BadToken, ""); !errors.As(err, &rej) || !slices.Equal(rej.Codes, []string{"invalid-input-response"}) || rej.Spent() {
				t.Errorf("a bad token: %v, want refused with invalid-input-response", err)
			}
			if got := srv.Hits()[2].RemoteIP; got != "" {
				t.Errorf("remoteip sent as %q when there is none", got)
			}

			// No token: refused without asking the provider.
			var missing *captcha.MissingTokenError
			if err := v.Verify(ctx, p, "form-secret", "", "203.0.113.7"); !errors.As(err, &missing) || !strings.Contains(err.Error(), p.TokenField()) {
				t.Errorf("no token: %v, want a *MissingTokenError naming %s", err, p.TokenField())
			}
			if n := len(srv.Hits()); n != 3 {
				t.Errorf("the provider was asked %d times, want 3 (not for a missing token)", n)
			}

			// A secret the provider refuses: the token was never judged.
			var unv *captcha.UnverifiedError
			if err := v.Verify(ctx, p, "wrong-secret", "good-2", ""); !errors.As(err, &unv) || !strings.Contains(unv.Reason, "invalid-input-secret") {
				t.Errorf("a wrong secret: %v, want an *UnverifiedError naming invalid-input-secret", err)
			}
		})
	}
}

// An outage of any kind is an *UnverifiedError with a reason, never a
// refusal of the token.
func TestVerifyOutages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		mode   captchatest.Mode
		reason string
	}{
		{captchatest.Down, "HTTP 503"},
		{captchatest.Garbage, "not siteverify JSON"},
		{captchatest.Slow, "no answer within 150ms"},
		{captchatest.Hangup, "unreachable"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			srv := captchatest.New(t, captcha.Turnstile, "s")
			srv.SetMode(tc.mode)
			start := time.Now()
			err := srv.Verifier(150*time.Millisecond).Verify(ctx, captcha.Turnstile, "s", "good-1", "")
			var unv *captcha.UnverifiedError
			if !errors.As(err, &unv) || !strings.Contains(unv.Reason, tc.reason) {
				t.Fatalf("Verify = %v, want an *UnverifiedError saying %q", err, tc.reason)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v; the timeout is 150ms", d)
			}
		})
	}

	t.Run("refused connection", func(t *testing.T) {
		t.Parallel()
		v := &captcha.Verifier{URLs: map[captcha.Provider]string{captcha.HCaptcha: "http://127.0.0.1:1/siteverify"}}
		var unv *captcha.UnverifiedError
		if err := v.Verify(ctx, captcha.HCaptcha, "s", "good-1", ""); !errors.As(err, &unv) {
			t.Fatalf("Verify = %v, want an *UnverifiedError", err)
		}
	})

	t.Run("the submitter went away", func(t *testing.T) {
		t.Parallel()
		srv := captchatest.New(t, captcha.ReCAPTCHA, "s")
		srv.SetMode(captchatest.Slow)
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		if err := srv.Verifier(0).Verify(cctx, captcha.ReCAPTCHA, "s", "good-1", ""); !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify = %v, want context.Canceled (not an outage)", err)
		}
	})
}

func TestProviders(t *testing.T) {
	t.Parallel()
	for _, p := range captcha.Providers {
		if !p.Valid() || p.TokenField() == "" || !strings.HasPrefix(p.DefaultVerifyURL(), "https://") || !slices.Contains(captcha.TokenFields, p.TokenField()) {
			t.Errorf("provider %s: field %q, URL %q", p, p.TokenField(), p.DefaultVerifyURL())
		}
	}
	if captcha.Provider("recaptcha-v4").Valid() || captcha.Provider("").Valid() {
		t.Error("an unknown provider is valid")
	}
}
