package forms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/intakehq/intake/forms"
)

func TestCheckFieldsRefusesBadRulesWithoutPanicking(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	for _, tc := range []struct {
		name    string
		field   forms.Field
		problem string // "" means valid
	}{
		{"valid rules", forms.Field{Name: "age", Type: forms.TypeNumber, Rules: "gte=18,lte=130"}, ""},
		{"oneof", forms.Field{Name: "plan", Type: forms.TypeText, Rules: "oneof=free pro"}, ""},
		{"unknown tag", forms.Field{Name: "email", Type: forms.TypeEmail, Rules: "required,notatag"},
			"fields[0].rules: “notatag” is not a rule Intake knows. Rules look like max=500, min=2, oneof=a b"},
		{"unknown tag with a parameter", forms.Field{Name: "email", Type: forms.TypeEmail, Rules: "gte=18|banana=1"}, "“banana” is not a rule Intake knows"},
		{"bad parameter", forms.Field{Name: "message", Type: forms.TypeText, Rules: "max=lots"},
			"fields[0].rules: “max=lots” needs a number after the =, such as max=500, not “lots”"},
		{"space after a comma", forms.Field{Name: "message", Type: forms.TypeText, Rules: "max=5, min=2"}, "without spaces around the commas"},
		{"two commas", forms.Field{Name: "message", Type: forms.TypeText, Rules: "min=2,,max=5"}, "has an empty rule"},
		{"dive on text", forms.Field{Name: "message", Type: forms.TypeText, Rules: "dive"}, "“dive” cannot check a text field"},
		{"cross-field", forms.Field{Name: "confirm", Type: forms.TypeText, Rules: "eqfield=password"}, "other fields"},
		{"unknown type", forms.Field{Name: "x", Type: "colour"}, "type must be one of"},
		{"select without options", forms.Field{Name: "x", Type: forms.TypeSelect}, "fields[0] is a select and needs its options"},
		{"no name", forms.Field{Name: "", Type: forms.TypeText}, "fields[0].name: the name is missing"},
		{"a space in the name", forms.Field{Name: "full name", Type: forms.TypeText}, "fields[0].name: “full name” has a space: write it full_name"},
		{"other characters", forms.Field{Name: "e-mail?", Type: forms.TypeText}, "“e-mail?” has characters a name cannot have: write it e-mail"},
		{"not ASCII", forms.Field{Name: "prénom", Type: forms.TypeText}, "“prénom” has characters a name cannot have: a field name is letters"},
		{"brackets and dots", forms.Field{Name: "topics[]", Type: forms.TypeCheckbox}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := val.CheckFields([]forms.Field{tc.field})
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("CheckFields = %v, want nil", err)
				}
				return
			}
			var verr *forms.ValidationError
			if !errors.As(err, &verr) || !strings.Contains(verr.Error(), tc.problem) {
				t.Fatalf("CheckFields = %v, want a validation error containing %q", err, tc.problem)
			}
			if !strings.HasPrefix(verr.Errors[0].Pointer, "#/fields/0/") {
				t.Errorf("pointer %q does not point into fields[0]", verr.Errors[0].Pointer)
			}
		})
	}
}

func TestCheckSubmission(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	c := forms.Contract{Version: 1, Fields: []forms.Field{
		{Name: "email", Type: forms.TypeEmail, Required: true},
		{Name: "age", Type: forms.TypeNumber, Rules: "gte=18"},
		{Name: "plan", Type: forms.TypeSelect, Options: []string{"free", "pro"}},
		{Name: "topics", Type: forms.TypeCheckbox, Options: []string{"a", "b"}},
		{Name: "bio", Type: forms.TypeTextarea, Rules: "max=5"},
		{Name: "site", Type: forms.TypeURL},
		{Name: "tier", Type: forms.TypeText, Rules: "oneof=free pro"},
	}}
	v := func(s ...string) forms.Value { return forms.Value{Texts: s} }
	for _, tc := range []struct {
		name   string
		values map[string]forms.Value
		policy string
		codes  []string
	}{
		{"valid", map[string]forms.Value{"email": v("a@example.com"), "age": v("30"), "plan": v("pro"), "topics": v("a", "b")}, forms.UnknownAccept, nil},
		{"optional blank passes", map[string]forms.Value{"email": v("a@example.com"), "age": v(""), "site": v("")}, forms.UnknownAccept, nil},
		{"missing required", map[string]forms.Value{}, forms.UnknownAccept, []string{forms.CodeRequiredMissing}},
		{"empty required", map[string]forms.Value{"email": v(" ")}, forms.UnknownAccept, []string{forms.CodeRequiredEmpty}},
		{"bad email", map[string]forms.Value{"email": v("nope")}, forms.UnknownAccept, []string{forms.CodeTypeEmail}},
		{"not a number", map[string]forms.Value{"email": v("a@example.com"), "age": v("old")}, forms.UnknownAccept, []string{forms.CodeTypeNumeric}},
		// gte compares the number, not the string's length.
		{"number rule by value", map[string]forms.Value{"email": v("a@example.com"), "age": v("17")}, forms.UnknownAccept, []string{forms.CodeTypeText}},
		{"select option", map[string]forms.Value{"email": v("a@example.com"), "plan": v("gold")}, forms.UnknownAccept, []string{forms.CodeTypeChoice}},
		{"checkbox option", map[string]forms.Value{"email": v("a@example.com"), "topics": v("a", "z")}, forms.UnknownAccept, []string{forms.CodeTypeChoice}},
		{"oneof rule", map[string]forms.Value{"email": v("a@example.com"), "tier": v("gold")}, forms.UnknownAccept, []string{forms.CodeTypeChoice}},
		{"text rule", map[string]forms.Value{"email": v("a@example.com"), "bio": v("too long")}, forms.UnknownAccept, []string{forms.CodeTypeText}},
		{"list for a single field", map[string]forms.Value{"email": {Texts: []string{"a@example.com"}, List: true}}, forms.UnknownAccept, []string{forms.CodeTypeText}},
		{"unknown accepted", map[string]forms.Value{"email": v("a@example.com"), "extra": v("x")}, forms.UnknownAccept, nil},
		{"unknown rejected", map[string]forms.Value{"email": v("a@example.com"), "extra": v("x")}, forms.UnknownReject, []string{forms.CodeUnexpected}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := val.Check(c, tc.policy, tc.values)
			var got []string
			var verr *forms.ValidationError
			if errors.As(err, &verr) {
				for _, fe := range verr.Errors {
					got = append(got, fe.Code)
					if fe.Message == "" || fe.Pointer == "" {
						t.Errorf("field error without message or pointer: %+v", fe)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tc.codes, ",") {
				t.Fatalf("codes = %v, want %v (%v)", got, tc.codes, err)
			}
		})
	}
}

func TestNextURL(t *testing.T) {
	t.Parallel()
	const thanks = "https://intake.test/f/abcdefgh/thanks"
	for _, tc := range []struct {
		name     string
		settings forms.Settings
		next     string
		want     string
	}{
		{"default thanks", forms.Settings{}, "", thanks},
		{"any host when nothing configured", forms.Settings{}, "https://site.example/done", "https://site.example/done"},
		{"not http", forms.Settings{}, "javascript:alert(1)", thanks},
		{"relative ignored", forms.Settings{}, "/done", thanks},
		{"redirect url", forms.Settings{RedirectURL: "https://site.example/ok"}, "", "https://site.example/ok"},
		{"next on redirect host", forms.Settings{RedirectURL: "https://site.example/ok"}, "https://site.example/other", "https://site.example/other"},
		{"next on other host", forms.Settings{RedirectURL: "https://site.example/ok"}, "https://evil.example/", "https://site.example/ok"},
		{"allowed host list", forms.Settings{AllowedRedirectHosts: []string{"a.example"}}, "https://b.example/", thanks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.settings.NextURL(tc.next, thanks); got != tc.want {
				t.Fatalf("NextURL(%q) = %q, want %q", tc.next, got, tc.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"24h": "24h", "7d": "168h", "10m": "10m", "0": "0", "90m": "1h30m"} {
		d, err := forms.ParseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDuration(%q) = %v %v, want %s", in, d, err, want)
		}
	}
	if _, err := forms.ParseDuration("soon"); err == nil {
		t.Error("ParseDuration(soon) should fail")
	}
}

func TestSettingsNotifyEmails(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	for _, tc := range []struct {
		emails []string
		ok     bool
	}{
		{[]string{"ops@example.com", "sales@example.com"}, true},
		{[]string{"ops@example.com", "OPS@example.com"}, false}, // twice would make two equal unique jobs
		{[]string{"Ops <ops@example.com>"}, false},
		{[]string{"ops@example.com\r\nBcc: x@evil.example"}, false},
		{[]string{"not an address"}, false},
	} {
		err := val.CheckInput(forms.Input{Name: "x", Settings: forms.Settings{NotifyEmails: tc.emails}})
		if (err == nil) != tc.ok {
			t.Errorf("notify_emails %q: %v, want ok=%v", tc.emails, err, tc.ok)
		}
	}
}

func TestBlocked(t *testing.T) {
	t.Parallel()
	s := forms.Settings{
		BlockedWords:  []string{"casino", "crypto giveaway"},
		BlockedEmails: []string{"bad@example.com", "@spam.example"},
		BlockedIPs:    []string{"203.0.113.0/24", "2001:db8::1"},
	}
	for _, tc := range []struct {
		ip, replyTo string
		values      []string
		want        string
	}{
		{"198.51.100.1", "ok@example.com", []string{"hello there"}, ""},
		{"198.51.100.1", "", []string{"Best CASINO bonus!"}, "blocked word casino"},
		{"198.51.100.1", "", []string{"casinos are fine"}, ""}, // whole words only
		{"198.51.100.1", "", []string{"a Crypto  Giveaway, today"}, "blocked word crypto giveaway"},
		{"198.51.100.1", "BAD@example.com", nil, "blocked email bad@example.com"},
		{"198.51.100.1", "x@spam.example", nil, "blocked email @spam.example"},
		{"198.51.100.1", "x@notspam.example", nil, ""},
		{"203.0.113.77", "", nil, "blocked address 203.0.113.0/24"},
		{"::ffff:203.0.113.9", "", nil, "blocked address 203.0.113.0/24"},
		{"2001:db8::1", "", nil, "blocked address 2001:db8::1"},
	} {
		if got := s.Blocked(tc.ip, tc.replyTo, tc.values); got != tc.want {
			t.Errorf("Blocked(%s, %s, %q) = %q, want %q", tc.ip, tc.replyTo, tc.values, got, tc.want)
		}
	}
	val := forms.NewValidator()
	for _, bad := range []forms.Settings{{BlockedIPs: []string{"not an ip"}}, {BlockedEmails: []string{"nope"}}, {BlockedWords: []string{" "}}} {
		if val.CheckInput(forms.Input{Name: "x", Settings: bad}) == nil {
			t.Errorf("invalid block list accepted: %+v", bad)
		}
	}
}

// A field name with a space, allowed before, is kept by a change of the
// form that has it (the owner's HTML uses it), but a new field cannot
// have one.
func TestCheckChangeKeepsOldNames(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	old := &forms.Form{Contract: forms.Contract{Version: 1, Fields: []forms.Field{{Name: "full name", Type: forms.TypeText}}}}
	in := forms.Input{Name: "x", Fields: []forms.Field{{Name: "full name", Type: forms.TypeText}}}
	if err := val.CheckChange(old, in); err != nil {
		t.Errorf("keeping a stored name: %v", err)
	}
	in.Fields = append(in.Fields, forms.Field{Name: "last name", Type: forms.TypeText})
	err := val.CheckChange(old, in)
	var verr *forms.ValidationError
	if !errors.As(err, &verr) || len(verr.Errors) != 1 || verr.Errors[0].Pointer != "#/fields/1/name" ||
		!strings.Contains(verr.Errors[0].Message, "write it last_name") {
		t.Errorf("a new name with a space: %v", err)
	}
	if err := val.CheckInput(forms.Input{Name: "x", Fields: old.Contract.Fields}); err == nil {
		t.Error("a new form with a space in a field name was accepted")
	}
}
