package main

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/captcha"
)

func TestRescueStuckJobsAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", DefaultRescueStuckJobsAfter, false},
		{"1m", time.Minute, false},
		{"90s", 90 * time.Second, false},
		{"30s", 0, true},
		{"soon", 0, true},
	} {
		env := map[string]string{"INTAKE_RESCUE_STUCK_JOBS_AFTER": tc.value}
		cfg, err := configFromEnv(func(k string) string { return env[k] })
		switch {
		case tc.wantErr && (err == nil || !strings.Contains(err.Error(), "INTAKE_RESCUE_STUCK_JOBS_AFTER")):
			t.Errorf("%q: error %v, want one naming the variable", tc.value, err)
		case !tc.wantErr && (err != nil || cfg.RescueStuckJobsAfter != tc.want):
			t.Errorf("%q: %s, %v; want %s", tc.value, cfg.RescueStuckJobsAfter, err, tc.want)
		}
	}
}

// The CAPTCHA providers' siteverify URLs can each be replaced (a proxy, a
// test server), and a replacement must be an absolute http(s) URL.
func TestConfigCaptchaVerifyURLs(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c, err := configFromEnv(env(nil))
	if err != nil || c.CaptchaVerifyURLs != nil {
		t.Fatalf("defaults: %v, %v; want no replacement", err, c.CaptchaVerifyURLs)
	}
	c, err = configFromEnv(env(map[string]string{
		"INTAKE_TURNSTILE_VERIFY_URL": "http://127.0.0.1:9000/turnstile/v0/siteverify",
		"INTAKE_RECAPTCHA_VERIFY_URL": " https://proxy.internal/recaptcha ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[captcha.Provider]string{captcha.Turnstile: "http://127.0.0.1:9000/turnstile/v0/siteverify", captcha.ReCAPTCHA: "https://proxy.internal/recaptcha"}
	if len(c.CaptchaVerifyURLs) != 2 || c.CaptchaVerifyURLs[captcha.Turnstile] != want[captcha.Turnstile] || c.CaptchaVerifyURLs[captcha.ReCAPTCHA] != want[captcha.ReCAPTCHA] {
		t.Errorf("URLs = %v, want %v", c.CaptchaVerifyURLs, want)
	}
	if _, err := configFromEnv(env(map[string]string{"INTAKE_HCAPTCHA_VERIFY_URL": "api.hcaptcha.com/siteverify"})); err == nil || !strings.Contains(err.Error(), "INTAKE_HCAPTCHA_VERIFY_URL") {
		t.Errorf("a URL without a scheme: %v, want an error naming the variable", err)
	}
}

// The collector's target is DefaultGCPercent, unless GOGC says otherwise.
func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != DefaultGCPercent {
		t.Errorf("without GOGC the GC percent is %d, want %d", got, DefaultGCPercent)
	}
	debug.SetGCPercent(50) // as the runtime does for GOGC=50
	tuneGC(func(k string) string {
		if k == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("with GOGC=50 the GC percent is %d, want 50", got)
	}
}
