package forms_test

import (
	"strings"
	"testing"

	"github.com/intakehq/intake/forms"
)

// A form's branding is checked with its settings, and its colour becomes
// a stylesheet whose button text reads on it.
func TestBranding(t *testing.T) {
	t.Parallel()
	val := forms.NewValidator()
	for _, tc := range []struct {
		name string
		b    forms.Branding
		want []string // the pointers refused, in order
	}{
		{"all set", forms.Branding{LogoURL: "https://example.com/logo.png", Color: "#0F766E", Intro: "We answer within a day.", ThankYou: "Thanks!"}, nil},
		{"empty", forms.Branding{}, nil},
		{"http logo", forms.Branding{LogoURL: "http://example.com/logo.png"}, []string{"#/settings/branding/logo_url"}},
		{"script logo", forms.Branding{LogoURL: "javascript:alert(1)"}, []string{"#/settings/branding/logo_url"}},
		{"a long logo", forms.Branding{LogoURL: "https://example.com/" + strings.Repeat("a", 2000)}, []string{"#/settings/branding/logo_url"}},
		{"colour names", forms.Branding{Color: "red"}, []string{"#/settings/branding/color"}},
		{"colour with CSS", forms.Branding{Color: "#fff;}body{display:none"}, []string{"#/settings/branding/color"}},
		{"long words", forms.Branding{Intro: strings.Repeat("x", 1001), ThankYou: strings.Repeat("é", 1001)},
			[]string{"#/settings/branding/intro", "#/settings/branding/thank_you"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := val.CheckInput(forms.Input{Name: "Form", Settings: forms.Settings{Branding: tc.b}})
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
			for i, p := range tc.want {
				if ve.Errors[i].Pointer != p || ve.Errors[i].Message == "" {
					t.Errorf("error %d: %+v, want at %s", i, ve.Errors[i], p)
				}
			}
		})
	}
	for _, tc := range []struct {
		color, text string
		dark        bool // also in a dark scheme
	}{
		{"#1d4ed8", "#ffffff", false}, // Intake's blue: white text; too dark for a dark page
		{"#ffd400", "#111111", true},  // yellow: black text; reads on a dark page
		{"#000080", "#ffffff", false},
	} {
		css := forms.Branding{Color: tc.color}.ColorCSS()
		if !strings.Contains(css, "--accent: "+tc.color+";") || !strings.Contains(css, "--accent-text: "+tc.text+";") ||
			strings.Contains(css, "prefers-color-scheme: dark") != tc.dark {
			t.Errorf("%s:\n%s", tc.color, css)
		}
	}
	if css := (forms.Branding{Color: "#12345"}).ColorCSS(); css != "" {
		t.Errorf("a colour that is not one makes %q", css)
	}
}
