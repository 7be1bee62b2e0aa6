package forms

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/mail"
)

// Settings are a form's options. Every member is optional; WithDefaults
// fills what is missing.
type Settings struct {
	RedirectURL           string    `json:"redirect_url"`
	AllowedRedirectHosts  []string  `json:"allowed_redirect_hosts"`
	AllowedOrigins        []string  `json:"allowed_origins"`
	RequireIdempotencyKey bool      `json:"require_idempotency_key"`
	IdempotencyRetention  Duration  `json:"idempotency_retention"`
	ImplicitDedupeWindow  *Duration `json:"implicit_dedupe_window"`
	// KeylessJSONWindow, when above 0, answers identical keyless JSON
	// posts to the form within it as replays of the first (default 0:
	// keyless JSON is never deduplicated).
	KeylessJSONWindow Duration     `json:"keyless_json_window"`
	UnknownFields     string       `json:"unknown_fields"`
	NotifyEmails      []string     `json:"notify_emails"`
	Autoresponse      Autoresponse `json:"autoresponse"`
	HoneypotField     string       `json:"honeypot_field"`
	// Block lists: a submission that matches one is stored as spam, with the
	// reason, and notifies no one. Words match whole words in any value,
	// case-insensitively; an email entry is an address or "@domain"; an IP
	// entry is an address or a CIDR range.
	BlockedWords  []string `json:"blocked_words"`
	BlockedEmails []string `json:"blocked_emails"`
	BlockedIPs    []string `json:"blocked_ips"`
	// Captcha, when it names a provider, makes every submission carry a
	// token of that provider, verified before anything is stored.
	Captcha Captcha `json:"captcha"`
	// MinFillSeconds, when above 0, stores as spam a submission whose form
	// was open for less time, as intake.js reports it (_fill_ms). Without
	// the report (no intake.js) the rule does not judge.
	MinFillSeconds float64 `json:"min_fill_seconds"`
	// AllowCC lets a submission's _cc copy the notification email to the
	// addresses it names. Off, _cc is kept in the metadata and not sent to.
	AllowCC bool `json:"allow_cc"`
	// SubmissionRetention is how long the form's submissions are kept: ""
	// keeps them until they are deleted by hand, else a whole number of days
	// from "1d" to "3650d". Older ones, with their files, are deleted by the
	// nightly retention job (submissions.RetentionWorker).
	SubmissionRetention string `json:"submission_retention"`
	// Unique takes each value of some fields once (unique.go); off by
	// default.
	Unique Unique `json:"unique"`
	// NotificationEmail is the owner's wording of the notification email
	// (notifyemail.go); empty, Intake's own.
	NotificationEmail NotificationEmail `json:"notification_email"`
	// Branding is how the hosted pages look (branding.go); empty,
	// Intake's own.
	Branding Branding `json:"branding"`
}

// Bounds of SubmissionRetention, in days.
const (
	MinRetentionDays = 1
	MaxRetentionDays = 3650
)

// ParseRetention parses a submission retention: "" is 0 (keep forever),
// else "<n>d" with n a whole number of days in MinRetentionDays through
// MaxRetentionDays, written without sign, spaces or leading zeros.
func ParseRetention(s string) (days int, ok bool) {
	if s == "" {
		return 0, true
	}
	n, found := strings.CutSuffix(s, "d")
	if !found || n == "" || len(n) > 4 || n[0] == '0' || strings.IndexFunc(n, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	days, err := strconv.Atoi(n)
	if err != nil || days < MinRetentionDays || days > MaxRetentionDays {
		return 0, false
	}
	return days, true
}

// RetentionDays is how many days the form keeps its submissions; 0 keeps
// them forever (also for a stored value that no longer parses, so nothing
// is ever deleted by mistake).
func (s Settings) RetentionDays() int {
	d, _ := ParseRetention(s.SubmissionRetention)
	return d
}

// Captcha is a form's CAPTCHA: which provider, its public site key, what
// to do when the provider cannot be asked, and whether a secret is set.
type Captcha struct {
	// Provider is "" (no CAPTCHA), turnstile, hcaptcha or recaptcha.
	Provider captcha.Provider `json:"provider"`
	// SiteKey is the provider's public key, for the hosted form and the
	// dashboard's snippets; verification does not need it.
	SiteKey string `json:"site_key"`
	// Secret is write-only: a new secret to store (sealed, beside the
	// settings), or "" to forget the stored one; nil leaves it. It is never
	// stored in the settings nor shown.
	Secret *string `json:"secret,omitempty"`
	// SecretSet says whether a secret is stored. Read-only: it is worked
	// out from the stored secret, whatever a client sends.
	SecretSet bool `json:"secret_set"`
	// OnOutage is what a submission gets when its token cannot be checked
	// (the provider is down, slow or answers nonsense): CaptchaFailClosed
	// refuses it (503, nothing stored), CaptchaFailOpen accepts it and
	// records that the CAPTCHA was not verified.
	OnOutage string `json:"on_outage"`
}

// Outage policies of a form's CAPTCHA.
const (
	CaptchaFailClosed = "fail_closed"
	CaptchaFailOpen   = "fail_open"
)

// Bounds of the spam settings.
const (
	MaxMinFillSeconds = 3600
	maxCaptchaSecret  = 1000
	maxSiteKey        = 200
)

// TooFast returns why a submission whose form was open fillMS milliseconds
// (nil: not reported) is spam under the form's minimum fill time, or "".
func (s Settings) TooFast(fillMS *int64) string {
	if s.MinFillSeconds <= 0 || fillMS == nil || float64(*fillMS) >= s.MinFillSeconds*1000 {
		return ""
	}
	// Rounded down, so that 2999 ms is not "3.0 s" under a minimum of 3 s.
	took := math.Floor(float64(*fillMS)/100) / 10
	return "filled in " + strconv.FormatFloat(took, 'f', 1, 64) + " s; the form's minimum is " +
		strconv.FormatFloat(s.MinFillSeconds, 'f', -1, 64) + " s"
}

// Autoresponse is the optional email sent back to the submitter.
type Autoresponse struct {
	Enabled bool   `json:"enabled"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// Unknown-field policies.
const (
	UnknownAccept = "accept"
	UnknownReject = "reject"
)

// Defaults and bounds of the idempotency windows (README, "Exactly once, precisely").
const (
	DefaultRetention      = 24 * time.Hour
	MinRetention          = time.Hour
	MaxRetention          = 7 * 24 * time.Hour
	DefaultImplicitWindow = 10 * time.Minute
	MaxImplicitWindow     = 24 * time.Hour
	DefaultHoneypot       = "_gotcha"
	MaxNotifyEmails       = 20
	MaxBlocked            = 1000
)

func parseIPRange(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Blocked returns why a submission from ip, with these values and reply-to
// address, matches the form's block lists, or "" when it does not.
func (s Settings) Blocked(ip, replyTo string, values []string) string {
	if addr, err := netip.ParseAddr(ip); err == nil {
		addr = addr.Unmap()
		for _, r := range s.BlockedIPs {
			if p, err := parseIPRange(r); err == nil && p.Contains(addr) {
				return "blocked address " + r
			}
		}
	}
	for _, e := range s.BlockedEmails {
		if replyTo == "" {
			break
		}
		if strings.EqualFold(replyTo, e) || strings.HasPrefix(e, "@") && strings.HasSuffix(strings.ToLower(replyTo), strings.ToLower(e)) {
			return "blocked email " + e
		}
	}
	if len(s.BlockedWords) == 0 {
		return ""
	}
	text := " " + strings.ToLower(strings.Join(strings.FieldsFunc(strings.Join(values, " "), notWordRune), " ")) + " "
	for _, w := range s.BlockedWords {
		phrase := " " + strings.ToLower(strings.Join(strings.FieldsFunc(w, notWordRune), " ")) + " "
		if phrase != "  " && strings.Contains(text, phrase) {
			return "blocked word " + strings.TrimSpace(phrase)
		}
	}
	return ""
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// WithDefaults returns s with every unset member at its default.
func (s Settings) WithDefaults() Settings {
	if s.AllowedRedirectHosts == nil {
		s.AllowedRedirectHosts = []string{}
	}
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	if s.NotifyEmails == nil {
		s.NotifyEmails = []string{}
	}
	if s.BlockedWords == nil {
		s.BlockedWords = []string{}
	}
	if s.BlockedEmails == nil {
		s.BlockedEmails = []string{}
	}
	if s.BlockedIPs == nil {
		s.BlockedIPs = []string{}
	}
	if s.IdempotencyRetention == 0 {
		s.IdempotencyRetention = Duration(DefaultRetention)
	}
	if s.ImplicitDedupeWindow == nil {
		d := Duration(DefaultImplicitWindow)
		s.ImplicitDedupeWindow = &d
	}
	if s.UnknownFields == "" {
		s.UnknownFields = UnknownAccept
	}
	if s.HoneypotField == "" {
		s.HoneypotField = DefaultHoneypot
	}
	if s.Captcha.OnOutage == "" {
		s.Captcha.OnOutage = CaptchaFailClosed
	}
	if s.Unique.Fields == nil {
		s.Unique.Fields = []string{}
	}
	if s.Unique.OnDuplicate == "" {
		s.Unique.OnDuplicate = UniqueAccept
	}
	return s
}

// stored is s as the settings column holds it: without the write-only
// secret and the read-only flag, which come from the secret's own column,
// and without the default outage policy, which WithDefaults puts back when
// the form is read (so that reading a form on the hot path decodes no
// string for it).
func (s Settings) stored() Settings {
	s.Captcha.Secret, s.Captcha.SecretSet = nil, false
	if s.Captcha.OnOutage == CaptchaFailClosed {
		s.Captcha.OnOutage = ""
	}
	return s
}

// ImplicitWindow is how long keyless browser posts are deduplicated; 0 is off.
func (s Settings) ImplicitWindow() time.Duration {
	if s.ImplicitDedupeWindow == nil {
		return DefaultImplicitWindow
	}
	return time.Duration(*s.ImplicitDedupeWindow)
}

func (s Settings) check(errs *ValidationError) {
	if s.RedirectURL != "" {
		if _, err := absoluteHTTPURL(s.RedirectURL); err != nil {
			errs.add("redirect_url", CodeInvalid, "url", "redirect_url must be an absolute http or https URL, such as https://example.com/thanks", Pointer("settings", "redirect_url"))
		}
	}
	for i, h := range s.AllowedRedirectHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			errs.add("allowed_redirect_hosts", CodeInvalid, "hostname", fmt.Sprintf("allowed_redirect_hosts[%d] must be a bare host name such as example.com", i), Pointer("settings", "allowed_redirect_hosts", strconv.Itoa(i)))
		}
	}
	for i, o := range s.AllowedOrigins {
		if u, err := absoluteHTTPURL(o); err != nil || u.Path != "" || u.RawQuery != "" {
			errs.add("allowed_origins", CodeInvalid, "origin", fmt.Sprintf("allowed_origins[%d] must be an origin such as https://example.com", i), Pointer("settings", "allowed_origins", strconv.Itoa(i)))
		}
	}
	if r := time.Duration(s.IdempotencyRetention); r < MinRetention || r > MaxRetention {
		errs.add("idempotency_retention", CodeInvalid, "range", "idempotency_retention must be between 1h and 7d (168h)", Pointer("settings", "idempotency_retention"))
	}
	if w := s.ImplicitWindow(); w < 0 || w > MaxImplicitWindow {
		errs.add("implicit_dedupe_window", CodeInvalid, "range", "implicit_dedupe_window must be from 0 (off) to 24h", Pointer("settings", "implicit_dedupe_window"))
	}
	if w := time.Duration(s.KeylessJSONWindow); w < 0 || w > MaxImplicitWindow {
		errs.add("keyless_json_window", CodeInvalid, "range", "keyless_json_window must be from 0 (off) to 24h", Pointer("settings", "keyless_json_window"))
	}
	if s.UnknownFields != UnknownAccept && s.UnknownFields != UnknownReject {
		errs.add("unknown_fields", CodeInvalid, "oneof", `unknown_fields must be "accept" or "reject"`, Pointer("settings", "unknown_fields"))
	}
	seen := map[string]bool{}
	for i, e := range s.NotifyEmails {
		switch {
		case !mail.ValidAddress(e):
			errs.add("notify_emails", CodeInvalid, "email", fmt.Sprintf("notify_emails[%d] must be one plain email address such as ops@example.com", i), Pointer("settings", "notify_emails", strconv.Itoa(i)))
		case seen[strings.ToLower(e)]:
			errs.add("notify_emails", CodeInvalid, "unique", fmt.Sprintf("notify_emails[%d] (%s) is listed twice", i, e), Pointer("settings", "notify_emails", strconv.Itoa(i)))
		}
		seen[strings.ToLower(e)] = true
	}
	if len(s.NotifyEmails) > MaxNotifyEmails {
		errs.add("notify_emails", CodeInvalid, "max", fmt.Sprintf("notify_emails: at most %d addresses", MaxNotifyEmails), Pointer("settings", "notify_emails"))
	}
	for i, w := range s.BlockedWords {
		if strings.TrimSpace(w) == "" || len(w) > 100 {
			errs.add("blocked_words", CodeInvalid, "word", fmt.Sprintf("blocked_words[%d] must be a word or phrase of 1–100 characters", i), Pointer("settings", "blocked_words", strconv.Itoa(i)))
		}
	}
	for i, e := range s.BlockedEmails {
		if !mail.ValidAddress(e) && !(strings.HasPrefix(e, "@") && mail.ValidAddress("x"+e)) {
			errs.add("blocked_emails", CodeInvalid, "email", fmt.Sprintf("blocked_emails[%d] must be an address (spam@example.com) or a domain (@example.com)", i), Pointer("settings", "blocked_emails", strconv.Itoa(i)))
		}
	}
	for i, ip := range s.BlockedIPs {
		if _, err := parseIPRange(ip); err != nil {
			errs.add("blocked_ips", CodeInvalid, "ip", fmt.Sprintf("blocked_ips[%d] must be an address (203.0.113.7) or a CIDR range (203.0.113.0/24)", i), Pointer("settings", "blocked_ips", strconv.Itoa(i)))
		}
	}
	if len(s.BlockedWords)+len(s.BlockedEmails)+len(s.BlockedIPs) > MaxBlocked {
		errs.add("blocked_words", CodeInvalid, "max", fmt.Sprintf("the block lists hold at most %d entries in all", MaxBlocked), Pointer("settings"))
	}
	if s.Autoresponse.Enabled {
		// The email sent back carries only the owner's words, so both are
		// asked for: what goes out is what they wrote (mail.Autoresponse's
		// stand-ins are for forms saved before this check).
		if strings.TrimSpace(s.Autoresponse.Subject) == "" {
			errs.add("autoresponse", CodeInvalid, "required", "autoresponse.subject is required when the autoresponse is on: the subject of the email sent back to the person", Pointer("settings", "autoresponse", "subject"))
		}
		if strings.TrimSpace(s.Autoresponse.Body) == "" {
			errs.add("autoresponse", CodeInvalid, "required", "autoresponse.body is required when the autoresponse is on: the text of the email sent back to the person", Pointer("settings", "autoresponse", "body"))
		}
	}
	if s.HoneypotField == "" || strings.ContainsAny(s.HoneypotField, " \t\r\n") {
		errs.add("honeypot_field", CodeInvalid, "name", "honeypot_field must be a field name without spaces", Pointer("settings", "honeypot_field"))
	}
	s.Captcha.check(errs)
	if m := s.MinFillSeconds; math.IsNaN(m) || m < 0 || m > MaxMinFillSeconds {
		errs.add("min_fill_seconds", CodeInvalid, "range", fmt.Sprintf("min_fill_seconds must be between 0 (off) and %d", MaxMinFillSeconds), Pointer("settings", "min_fill_seconds"))
	}
	if _, ok := ParseRetention(s.SubmissionRetention); !ok {
		errs.add("submission_retention", CodeInvalid, "retention", fmt.Sprintf(`submission_retention must be "" (keep until deleted) or a whole number of days from "%dd" to "%dd", such as "30d"`, MinRetentionDays, MaxRetentionDays), Pointer("settings", "submission_retention"))
	}
}

func (c Captcha) check(errs *ValidationError) {
	if c.Provider != "" && !c.Provider.Valid() {
		errs.add("captcha", CodeInvalid, "oneof", `captcha.provider must be "turnstile", "hcaptcha", "recaptcha" or "" (none)`, Pointer("settings", "captcha", "provider"))
	}
	if c.OnOutage != CaptchaFailClosed && c.OnOutage != CaptchaFailOpen {
		errs.add("captcha", CodeInvalid, "oneof", `captcha.on_outage must be "fail_closed" or "fail_open"`, Pointer("settings", "captcha", "on_outage"))
	}
	switch {
	case c.Secret != nil && (len(*c.Secret) > maxCaptchaSecret || strings.IndexFunc(*c.Secret, notSecretRune) >= 0):
		errs.add("captcha", CodeInvalid, "secret", fmt.Sprintf("captcha.secret must be the provider's secret key: printable, without spaces, at most %d characters", maxCaptchaSecret), Pointer("settings", "captcha", "secret"))
	case c.Provider != "" && (c.Secret == nil && !c.SecretSet || c.Secret != nil && *c.Secret == ""):
		errs.add("captcha", CodeInvalid, "required", "captcha.secret is required with a provider: the secret key from the provider's dashboard, used to verify tokens", Pointer("settings", "captcha", "secret"))
	}
	if len(c.SiteKey) > maxSiteKey || strings.IndexFunc(c.SiteKey, notKeyRune) >= 0 {
		errs.add("captcha", CodeInvalid, "site_key", fmt.Sprintf("captcha.site_key must be the provider's site key: letters, digits, '-', '_' and '.', at most %d characters", maxSiteKey), Pointer("settings", "captcha", "site_key"))
	}
}

// notKeyRune reports a rune no provider's site key contains (they are
// written into pages).
func notKeyRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// notSecretRune reports a rune that no provider's key contains.
func notSecretRune(r rune) bool { return r <= ' ' || r > '~' }

// AllowsOrigin reports whether a request from origin (scheme://host[:port])
// is one the form accepts. An empty list accepts any origin; a request
// without an Origin header (a server, curl) is always accepted.
func (s Settings) AllowsOrigin(origin string) bool {
	if origin == "" || len(s.AllowedOrigins) == 0 {
		return true
	}
	return slices.ContainsFunc(s.AllowedOrigins, func(o string) bool {
		return strings.EqualFold(strings.TrimSuffix(o, "/"), origin)
	})
}

// NextURL picks where a browser goes after a successful submission: next
// (the _next field) if it is an absolute http(s) URL whose host the form
// allows, else the form's redirect URL, else thanks.
func (s Settings) NextURL(next, thanks string) string {
	if next != "" {
		if u, err := absoluteHTTPURL(next); err == nil && s.allowsRedirectHost(u.Hostname()) {
			return u.String()
		}
	}
	if s.RedirectURL != "" {
		return s.RedirectURL
	}
	return thanks
}

func (s Settings) allowsRedirectHost(host string) bool {
	hosts := slices.Clone(s.AllowedRedirectHosts)
	if s.RedirectURL != "" {
		if u, err := url.Parse(s.RedirectURL); err == nil {
			hosts = append(hosts, u.Hostname())
		}
	}
	if len(hosts) == 0 {
		return true
	}
	return slices.ContainsFunc(hosts, func(h string) bool { return strings.EqualFold(h, host) })
}

func absoluteHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("not an absolute http(s) URL: %q", s)
	}
	return u, nil
}

// Duration is a time.Duration written in JSON as a string: "24h", "10m",
// "7d", or "0".
type Duration time.Duration

// ParseDuration parses Go duration syntax plus a whole number of days ("7d").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a form such as 10m, 24h or 7d", s)
	}
	return Duration(d), nil
}

// String formats d briefly: "24h", "10m", "1h30m", "0".
func (d Duration) String() string {
	if d == 0 {
		return "0"
	}
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf(`a duration is a string such as "24h"`)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
