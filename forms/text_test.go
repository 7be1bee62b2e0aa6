package forms_test

import (
	"errors"
	"testing"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
)

// Every text of a form, each with a NUL and with invalid UTF-8, is a
// validation error (rule "text") at its pointer: the check every way in
// meets, not only the API's decoding.
func TestCheckInputText(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	valid := func() forms.Input {
		return forms.Input{
			Name:   "Contact",
			Fields: []forms.Field{{Name: "email", Type: forms.TypeEmail, Label: "Email"}, {Name: "topic", Type: forms.TypeSelect, Options: []string{"a", "b"}, Rules: "max=10"}},
			Settings: forms.Settings{
				RedirectURL: "https://example.com/thanks", AllowedRedirectHosts: []string{"example.com"}, AllowedOrigins: []string{"https://example.com"},
				NotifyEmails: []string{"ops@example.com"}, Autoresponse: forms.Autoresponse{Subject: "Thanks", Body: "Got it"},
				HoneypotField: "_gotcha", BlockedWords: []string{"casino"}, BlockedEmails: []string{"@spam.example"}, BlockedIPs: []string{"203.0.113.7"},
				Captcha: forms.Captcha{Provider: captcha.Turnstile, SiteKey: "site", Secret: new(string), OnOutage: forms.CaptchaFailOpen},
			},
		}
	}
	if err := val.CheckInput(func() forms.Input { in := valid(); *in.Settings.Captcha.Secret = "secret"; return in }()); err != nil {
		t.Fatalf("the valid input: %v", err)
	}
	for _, tc := range []struct {
		pointer, field string
		set            func(in *forms.Input, s string)
	}{
		{"#/name", "name", func(in *forms.Input, s string) { in.Name = s }},
		{"#/fields/0/name", "fields", func(in *forms.Input, s string) { in.Fields[0].Name = s }},
		{"#/fields/0/label", "email", func(in *forms.Input, s string) { in.Fields[0].Label = s }},
		{"#/fields/1/type", "topic", func(in *forms.Input, s string) { in.Fields[1].Type = forms.FieldType(s) }},
		{"#/fields/1/rules", "topic", func(in *forms.Input, s string) { in.Fields[1].Rules = s }},
		{"#/fields/1/options/1", "topic", func(in *forms.Input, s string) { in.Fields[1].Options[1] = s }},
		{"#/settings/redirect_url", "redirect_url", func(in *forms.Input, s string) { in.Settings.RedirectURL = s }},
		{"#/settings/allowed_redirect_hosts/0", "allowed_redirect_hosts", func(in *forms.Input, s string) { in.Settings.AllowedRedirectHosts[0] = s }},
		{"#/settings/allowed_origins/0", "allowed_origins", func(in *forms.Input, s string) { in.Settings.AllowedOrigins[0] = s }},
		{"#/settings/unknown_fields", "unknown_fields", func(in *forms.Input, s string) { in.Settings.UnknownFields = s }},
		{"#/settings/notify_emails/0", "notify_emails", func(in *forms.Input, s string) { in.Settings.NotifyEmails[0] = s }},
		{"#/settings/autoresponse/subject", "autoresponse", func(in *forms.Input, s string) { in.Settings.Autoresponse.Subject = s }},
		{"#/settings/autoresponse/body", "autoresponse", func(in *forms.Input, s string) { in.Settings.Autoresponse.Body = s }},
		{"#/settings/honeypot_field", "honeypot_field", func(in *forms.Input, s string) { in.Settings.HoneypotField = s }},
		{"#/settings/blocked_words/0", "blocked_words", func(in *forms.Input, s string) { in.Settings.BlockedWords[0] = s }},
		{"#/settings/blocked_emails/0", "blocked_emails", func(in *forms.Input, s string) { in.Settings.BlockedEmails[0] = s }},
		{"#/settings/blocked_ips/0", "blocked_ips", func(in *forms.Input, s string) { in.Settings.BlockedIPs[0] = s }},
		{"#/settings/captcha/provider", "captcha", func(in *forms.Input, s string) { in.Settings.Captcha.Provider = captcha.Provider(s) }},
		{"#/settings/captcha/site_key", "captcha", func(in *forms.Input, s string) { in.Settings.Captcha.SiteKey = s }},
		{"#/settings/captcha/secret", "captcha", func(in *forms.Input, s string) { *in.Settings.Captcha.Secret = s }},
		{"#/settings/captcha/on_outage", "captcha", func(in *forms.Input, s string) { in.Settings.Captcha.OnOutage = s }},
	} {
		for _, bad := range []string{"a\x00b", "a\xffb"} {
			in := valid()
			*in.Settings.Captcha.Secret = "secret"
			tc.set(&in, bad)
			var verr *forms.ValidationError
			if err := val.CheckInput(in); !errors.As(err, &verr) {
				t.Errorf("%s = %q: %v, want a validation error", tc.pointer, bad, err)
				continue
			}
			found := false
			for _, fe := range verr.Errors {
				if fe.Pointer == tc.pointer && fe.Rule == "text" && fe.Code == forms.CodeInvalid {
					found = true
					if fe.Field != tc.field {
						t.Errorf("%s = %q: field %q, want %q", tc.pointer, bad, fe.Field, tc.field)
					}
				}
			}
			if !found {
				t.Errorf("%s = %q: %+v, want a text error at the pointer", tc.pointer, bad, verr.Errors)
			}
		}
	}
}
