package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/submissions"
)

// Config is every setting of the README's "Commands and configuration", read once from the environment.
type Config struct {
	DatabaseURL         string
	Addr                string
	BaseURL             string
	SMTPURL             string
	MailFrom            string
	SecretKey           string
	WebhookAllowPrivate bool
	LogFormat           string
	LogLevel            slog.Level
	APIRatePerMinute    int
	SubmitPerMinute     int
	TrustedProxies      []netip.Prefix

	// RescueStuckJobsAfter is how long a job whose process died mid-run
	// (SIGKILL, a lost machine) waits before River runs it again.
	RescueStuckJobsAfter time.Duration
	// ShutdownDelay is how long serve keeps serving after SIGTERM while
	// /readyz answers 503, so that a balancer takes it out of rotation
	// before it stops accepting (0: stop at once).
	ShutdownDelay time.Duration
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) on a
	// listener of its own: keep it on loopback.
	DebugAddr string
	// CaptchaVerifyURLs replaces providers' siteverify URLs (a proxy, a
	// test server); a provider not in it is asked at its own URL.
	CaptchaVerifyURLs map[captcha.Provider]string
}

// captchaURLEnv names the variable that replaces each provider's
// siteverify URL.
var captchaURLEnv = map[captcha.Provider]string{
	captcha.Turnstile: "INTAKE_TURNSTILE_VERIFY_URL",
	captcha.HCaptcha:  "INTAKE_HCAPTCHA_VERIFY_URL",
	captcha.ReCAPTCHA: "INTAKE_RECAPTCHA_VERIFY_URL",
}

// DefaultRescueStuckJobsAfter is River's wait before it reruns a job whose
// process died: River's own default of an hour would hold a webhook that long.
//
// Two minutes: above River's one-minute job timeout (a job still running
// on a live process is cancelled by then, so none is run twice by the
// rescue), and short, so a crash holds a webhook or an email two minutes,
// not five.
const DefaultRescueStuckJobsAfter = 2 * time.Minute

// minRescueStuckJobsAfter is River's default job timeout: River rescues no
// job before its timeout has passed, so a shorter setting would not mean
// what it says.
const minRescueStuckJobsAfter = time.Minute

// configFromEnv reads Config with its defaults and validates it.
func configFromEnv(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL: get("DATABASE_URL", database.DefaultURL),
		Addr:        get("INTAKE_ADDR", ":8080"),
		BaseURL:     strings.TrimSuffix(get("INTAKE_BASE_URL", "http://localhost:8080"), "/"),
		SMTPURL:     get("INTAKE_SMTP_URL", ""),
		MailFrom:    get("INTAKE_MAIL_FROM", "Intake <no-reply@localhost>"),
		SecretKey:   get("INTAKE_SECRET_KEY", ""),
		LogFormat:   get("INTAKE_LOG_FORMAT", "text"),
		DebugAddr:   get("INTAKE_DEBUG_ADDR", ""),
	}
	var errs []error
	if v := get("INTAKE_WEBHOOK_ALLOW_PRIVATE", "false"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("INTAKE_WEBHOOK_ALLOW_PRIVATE=%q: want true or false", v))
		}
		c.WebhookAllowPrivate = b
	}
	// A rate is a count a minute; 0 turns its limit off.
	rate := func(name string, def int, want string) int {
		v := get(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want %s", name, v, want))
		}
		return n
	}
	c.APIRatePerMinute = rate("INTAKE_API_RATE_LIMIT", api.DefaultRatePerMinute,
		"requests per minute per API key (0 turns the limit off)")
	c.SubmitPerMinute = rate("INTAKE_SUBMIT_RATE_LIMIT", submissions.DefaultSubmitPerMinute,
		"submissions per minute per client address and form, ten times that per address over all forms (0 turns both off)")
	if v := get("INTAKE_SHUTDOWN_DELAY", "0s"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			errs = append(errs, fmt.Errorf("INTAKE_SHUTDOWN_DELAY=%q: want a duration from 0s to 1m, such as 2s", v))
		}
		c.ShutdownDelay = d
	}
	c.RescueStuckJobsAfter = DefaultRescueStuckJobsAfter
	if v := get("INTAKE_RESCUE_STUCK_JOBS_AFTER", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < minRescueStuckJobsAfter {
			errs = append(errs, fmt.Errorf("INTAKE_RESCUE_STUCK_JOBS_AFTER=%q: want a duration of at least %s, such as 5m", v, minRescueStuckJobsAfter))
		}
		c.RescueStuckJobsAfter = d
	}
	for _, p := range strings.FieldsFunc(get("INTAKE_TRUSTED_PROXIES", ""), func(r rune) bool { return r == ',' || r == ' ' }) {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, err2 := netip.ParseAddr(p)
			if err2 != nil {
				errs = append(errs, fmt.Errorf("INTAKE_TRUSTED_PROXIES: %q is neither an address nor a CIDR range", p))
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	for _, p := range captcha.Providers {
		if v := get(captchaURLEnv[p], ""); v != "" {
			if c.CaptchaVerifyURLs == nil {
				c.CaptchaVerifyURLs = map[captcha.Provider]string{}
			}
			c.CaptchaVerifyURLs[p] = v
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("INTAKE_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("INTAKE_LOG_LEVEL: want debug, info, warn or error"))
	}
	errs = append(errs, c.validate())
	return c, errors.Join(errs...)
}

func (c Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("INTAKE_BASE_URL=%q: want an absolute http(s) URL such as https://forms.example.com", c.BaseURL))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("INTAKE_LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			errs = append(errs, fmt.Errorf("INTAKE_SMTP_URL: want smtp://user:pass@host:port or smtps://…"))
		}
	}
	for _, p := range captcha.Providers {
		if v, ok := c.CaptchaVerifyURLs[p]; ok {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s=%q: want an absolute http(s) URL (default %s)", captchaURLEnv[p], v, p.DefaultVerifyURL()))
			}
		}
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		errs = append(errs, fmt.Errorf("INTAKE_SECRET_KEY: want at least 32 characters (or leave it empty to have one generated)"))
	}
	return errors.Join(errs...)
}
