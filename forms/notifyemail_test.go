package forms_test

import (
	"strings"
	"testing"

	"github.com/intakehq/intake/forms"
)

// A notification email's wording is checked with the form: its
// placeholders must name the form's fields (any name on a form without
// fields) or the built-in ones, and its parts have a length.
func TestNotificationEmailCheck(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	contact := []forms.Field{{Name: "email", Type: forms.TypeEmail}, {Name: "full_name", Type: forms.TypeText}}
	for _, tc := range []struct {
		name   string
		fields []forms.Field
		ne     forms.NotificationEmail
		want   []string // the messages, in order; none: valid
	}{
		{"fields and built-ins", contact, forms.NotificationEmail{Subject: "{{full_name}} <{{ email }}> on {{_form}}", Body: "Ref {{_id}}"}, nil},
		{"empty", contact, forms.NotificationEmail{}, nil},
		{"no fields: any name", nil, forms.NotificationEmail{Subject: "{{anything}}"}, nil},
		{"a typo", contact, forms.NotificationEmail{Subject: "From {{emial}}"},
			[]string{"The notification's subject uses {{emial}}, which is not a field of this form: use one of {{email}}, {{full_name}}, {{_form}}, {{_id}}"}},
		{"empty name", contact, forms.NotificationEmail{Body: "a {{}} b"}, []string{"The notification's text uses {{}}, which is not a field"}},
		{"too long", contact, forms.NotificationEmail{Subject: strings.Repeat("é", 201), Body: strings.Repeat("x", 5001)},
			[]string{"The notification's subject is longer than 200 characters", "The notification's text is longer than 5000 characters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := val.CheckInput(forms.Input{Name: "Form", Fields: tc.fields, Settings: forms.Settings{NotificationEmail: tc.ne}})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ve, ok := err.(*forms.ValidationError)
			if !ok || len(ve.Errors) != len(tc.want) {
				t.Fatalf("got %v, want %d errors", err, len(tc.want))
			}
			for i, w := range tc.want {
				if e := ve.Errors[i]; !strings.HasPrefix(e.Message, w) || !strings.HasPrefix(e.Pointer, "#/settings/notification_email/") {
					t.Errorf("error %d: %q at %q, want %q", i, e.Message, e.Pointer, w)
				}
			}
		})
	}
	got := forms.Fill("Hi {{ name }}, {{name}}{{missing}}!", func(n string) string { return map[string]string{"name": "Ada"}[n] })
	if got != "Hi Ada, Ada!" {
		t.Errorf("Fill = %q", got)
	}
}
