package forms_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
)

func TestSettingsCaptcha(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		c    forms.Captcha
		ok   bool
	}{
		{"none", forms.Captcha{}, true},
		{"a provider with a new secret", forms.Captcha{Provider: captcha.Turnstile, Secret: str("0x4AAAA-secret")}, true},
		{"a provider with a stored secret", forms.Captcha{Provider: captcha.HCaptcha, SecretSet: true}, true},
		{"fails open", forms.Captcha{Provider: captcha.ReCAPTCHA, SecretSet: true, OnOutage: forms.CaptchaFailOpen, SiteKey: "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"}, true},
		{"a provider without a secret", forms.Captcha{Provider: captcha.Turnstile}, false},
		{"a provider whose secret is being cleared", forms.Captcha{Provider: captcha.Turnstile, SecretSet: true, Secret: str("")}, false},
		{"clearing the secret of a form without a provider", forms.Captcha{SecretSet: true, Secret: str("")}, true},
		{"an unknown provider", forms.Captcha{Provider: "friendlycaptcha", Secret: str("x")}, false},
		{"an unknown outage policy", forms.Captcha{Provider: captcha.Turnstile, SecretSet: true, OnOutage: "retry"}, false},
		{"a secret with a space", forms.Captcha{Provider: captcha.Turnstile, Secret: str("two words")}, false},
		{"a site key with markup", forms.Captcha{Provider: captcha.Turnstile, SecretSet: true, SiteKey: `"><script>`}, false},
	} {
		err := val.CheckInput(forms.Input{Name: "x", Settings: forms.Settings{Captcha: tc.c}})
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if got := (forms.Settings{}).WithDefaults().Captcha.OnOutage; got != forms.CaptchaFailClosed {
		t.Errorf("default on_outage = %q, want fail_closed", got)
	}
}

func TestSettingsMinFillSeconds(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	for _, tc := range []struct {
		v  float64
		ok bool
	}{{0, true}, {2.5, true}, {3600, true}, {-1, false}, {3601, false}, {math.NaN(), false}} {
		if err := val.CheckInput(forms.Input{Name: "x", Settings: forms.Settings{MinFillSeconds: tc.v}}); (err == nil) != tc.ok {
			t.Errorf("min_fill_seconds %v: %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
	ms := func(n int64) *int64 { return &n }
	s := forms.Settings{MinFillSeconds: 2.5}
	for _, tc := range []struct {
		fill *int64
		want string
	}{
		{nil, ""}, // not reported: not judged
		{ms(0), "filled in 0.0 s; the form's minimum is 2.5 s"},
		{ms(2499), "filled in 2.4 s; the form's minimum is 2.5 s"},
		{ms(2500), ""},
	} {
		if got := s.TooFast(tc.fill); got != tc.want {
			t.Errorf("TooFast(%v) = %q, want %q", tc.fill, got, tc.want)
		}
	}
	if got := (forms.Settings{}).TooFast(ms(1)); got != "" {
		t.Errorf("without a minimum TooFast = %q", got)
	}
}

func TestSettingsSubmissionRetention(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	for _, tc := range []struct {
		v    string
		days int
		ok   bool
	}{
		{"", 0, true}, {"1d", 1, true}, {"30d", 30, true}, {"3650d", 3650, true},
		{"0d", 0, false}, {"3651d", 0, false}, {"-1d", 0, false}, {"+1d", 0, false}, {"030d", 0, false},
		{"30", 0, false}, {"24h", 0, false}, {"1.5d", 0, false}, {" 30d", 0, false}, {"d", 0, false},
		{"99999999999999999999d", 0, false}, {"３０d", 0, false},
	} {
		err := val.CheckInput(forms.Input{Name: "x", Settings: forms.Settings{SubmissionRetention: tc.v}})
		if (err == nil) != tc.ok {
			t.Errorf("submission_retention %q: %v, want ok=%v", tc.v, err, tc.ok)
			continue
		}
		if !tc.ok {
			var ve *forms.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Pointer != "#/settings/submission_retention" {
				t.Errorf("submission_retention %q: %#v, want one error at #/settings/submission_retention", tc.v, err)
			}
		}
		if got := (forms.Settings{SubmissionRetention: tc.v}).RetentionDays(); got != tc.days {
			t.Errorf("RetentionDays(%q) = %d, want %d", tc.v, got, tc.days)
		}
	}
}

// An autoresponse that is on needs its subject and its text: nothing else
// is sent back, so an empty one would be an email of stand-in words.
func TestSettingsAutoresponse(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	for _, tc := range []struct {
		name     string
		ar       forms.Autoresponse
		pointers []string
	}{
		{"off and empty", forms.Autoresponse{}, nil},
		{"off with words", forms.Autoresponse{Subject: "Thanks", Body: "Got it"}, nil},
		{"on with both", forms.Autoresponse{Enabled: true, Subject: "Thanks", Body: "Got it"}, nil},
		{"on and empty", forms.Autoresponse{Enabled: true}, []string{"#/settings/autoresponse/subject", "#/settings/autoresponse/body"}},
		{"on without a subject", forms.Autoresponse{Enabled: true, Subject: "  ", Body: "Got it"}, []string{"#/settings/autoresponse/subject"}},
		{"on without a text", forms.Autoresponse{Enabled: true, Subject: "Thanks", Body: "\n"}, []string{"#/settings/autoresponse/body"}},
	} {
		err := val.CheckInput(forms.Input{Name: "x", Settings: forms.Settings{Autoresponse: tc.ar}})
		var got []string
		var verr *forms.ValidationError
		if errors.As(err, &verr) {
			for _, fe := range verr.Errors {
				got = append(got, fe.Pointer)
				if !strings.Contains(fe.Message, "is required when the autoresponse is on") {
					t.Errorf("%s: message %q", tc.name, fe.Message)
				}
			}
		} else if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.pointers) {
			t.Errorf("%s: errors at %v, want %v", tc.name, got, tc.pointers)
		}
	}
}
