package forms_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/intakehq/intake/forms"
)

var uniqueFields = []forms.Field{
	{Name: "email", Type: forms.TypeEmail},
	{Name: "order", Type: forms.TypeText},
	{Name: "days", Type: forms.TypeText},
	{Name: "cv", Type: forms.TypeFile},
}

// Values that mean the same thing hash the same; values that do not, do not.
func TestUniqueHashNormalises(t *testing.T) {
	t.Parallel()
	hash := func(u forms.Unique, vals map[string][]string) []byte {
		return u.Hash(uniqueFields, func(name string) []string { return vals[name] })
	}
	email := forms.Unique{Fields: []string{"email"}}
	both := forms.Unique{Fields: []string{"email", "order"}}
	for _, tc := range []struct {
		name string
		u    forms.Unique
		a, b map[string][]string
		same bool
	}{
		{"email case", email, map[string][]string{"email": {"Ada@Example.com"}}, map[string][]string{"email": {"ada@example.COM"}}, true},
		{"email spaces", email, map[string][]string{"email": {" ada@example.com\t"}}, map[string][]string{"email": {"ada@example.com"}}, true},
		{"other addresses", email, map[string][]string{"email": {"ada@example.com"}}, map[string][]string{"email": {"ada@example.co"}}, false},
		{"text keeps case", forms.Unique{Fields: []string{"order"}}, map[string][]string{"order": {"AB-1"}}, map[string][]string{"order": {"ab-1"}}, false},
		{"text trimmed", forms.Unique{Fields: []string{"order"}}, map[string][]string{"order": {" AB-1 "}}, map[string][]string{"order": {"AB-1"}}, true},
		{"two fields", both, map[string][]string{"email": {"a@x.io"}, "order": {"1"}}, map[string][]string{"email": {"A@x.io"}, "order": {"1"}}, true},
		{"two fields differ", both, map[string][]string{"email": {"a@x.io"}, "order": {"1"}}, map[string][]string{"email": {"a@x.io"}, "order": {"2"}}, false},
		// Concatenation must not make different pairs equal.
		{"no run-together", both, map[string][]string{"email": {"a@x.io"}, "order": {"12"}}, map[string][]string{"email": {"a@x.io1"}, "order": {"2"}}, false},
		{"a set of values", forms.Unique{Fields: []string{"days"}}, map[string][]string{"days": {"mon", "tue", "mon"}}, map[string][]string{"days": {"tue", "mon"}}, true},
	} {
		ha, hb := hash(tc.u, tc.a), hash(tc.u, tc.b)
		if ha == nil || hb == nil || bytes.Equal(ha, hb) != tc.same {
			t.Errorf("%s: equal = %v, want %v", tc.name, bytes.Equal(ha, hb), tc.same)
		}
	}
	for _, vals := range []map[string][]string{{}, {"email": {"  "}}, {"email": {"a@x.io"}}} {
		if h := hash(both, vals); h != nil {
			t.Errorf("%v: a hash without every field's value", vals)
		}
	}
	if h := hash(forms.Unique{}, map[string][]string{"email": {"a@x.io"}}); h != nil {
		t.Error("a hash with the setting off")
	}
}

// The setting is checked against the form's fields and its bounds.
func TestUniqueSettingChecked(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	for _, tc := range []struct {
		u    forms.Unique
		want string // "" for valid
	}{
		{forms.Unique{Fields: []string{"email"}}, ""},
		{forms.Unique{Fields: []string{"email", "order"}, Window: "30d", OnDuplicate: "reject"}, ""},
		{forms.Unique{Fields: []string{"email"}, Window: "1h"}, ""},
		{forms.Unique{}, ""},
		{forms.Unique{Fields: []string{"phone"}}, `unique.fields: "phone" is not one of the form's fields`},
		{forms.Unique{Fields: []string{"cv"}}, `unique.fields: "cv" is a file field, and files cannot be compared`},
		{forms.Unique{Fields: []string{"email", "email"}}, `unique.fields: "email" is listed twice`},
		{forms.Unique{Fields: []string{"email"}, Window: "30m"}, `unique.window must be "" (as long as the submission is kept) or a duration from 1h to 3650d, such as "24h" or "30d"`},
		{forms.Unique{Fields: []string{"email"}, Window: "3651d"}, `unique.window must be "" (as long as the submission is kept) or a duration from 1h to 3650d, such as "24h" or "30d"`},
		{forms.Unique{Fields: []string{"email"}, Window: "soon"}, `unique.window must be "" (as long as the submission is kept) or a duration from 1h to 3650d, such as "24h" or "30d"`},
		{forms.Unique{Fields: []string{"email"}, OnDuplicate: "merge"}, `unique.on_duplicate must be "accept" (answer as a success pointing at the first) or "reject" (409)`},
	} {
		err := val.CheckInput(forms.Input{Name: "RSVP", Fields: uniqueFields, Settings: forms.Settings{Unique: tc.u}})
		var verr *forms.ValidationError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.u, err)
		case tc.want != "" && (!errors.As(err, &verr) || len(verr.Errors) != 1 || verr.Errors[0].Message != tc.want):
			t.Errorf("%+v: %v, want %q", tc.u, err, tc.want)
		}
	}
}
