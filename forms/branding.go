package forms

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Branding is how a form's hosted page and thank-you page look (README,
// "Branding"): the owner's logo (an https image URL, shown above the
// title), an accent colour for buttons and links (#rrggbb), a line under
// the hosted form's title, and the thank-you page's message. Each empty
// keeps Intake's own.
type Branding struct {
	LogoURL  string `json:"logo_url"`
	Color    string `json:"color"`
	Intro    string `json:"intro"`
	ThankYou string `json:"thank_you"`
}

// Bounds of a form's branding.
const (
	MaxLogoURL      = 2000
	MaxBrandingText = 1000
)

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (b Branding) check(errs *ValidationError) {
	if b.LogoURL != "" {
		u, err := absoluteHTTPURL(b.LogoURL)
		if err != nil || u.Scheme != "https" || len(b.LogoURL) > MaxLogoURL {
			errs.add("branding", CodeInvalid, "url", fmt.Sprintf("The logo must be an https address of an image, such as https://example.com/logo.png, of at most %d characters", MaxLogoURL),
				Pointer("settings", "branding", "logo_url"))
		}
	}
	if b.Color != "" && !hexColor.MatchString(b.Color) {
		errs.add("branding", CodeInvalid, "color", "The colour must be written as # and six hexadecimal digits, such as #1d4ed8", Pointer("settings", "branding", "color"))
	}
	for _, t := range []struct{ key, label, text string }{{"intro", "The line under the title", b.Intro}, {"thank_you", "The thank-you message", b.ThankYou}} {
		if utf8.RuneCountInString(t.text) > MaxBrandingText {
			errs.add("branding", CodeInvalid, "max", fmt.Sprintf("%s is longer than %d characters", t.label, MaxBrandingText), Pointer("settings", "branding", t.key))
		}
	}
}

// ColorCSS is the stylesheet of the colour: the accent of buttons, links
// and focus rings, with text on buttons black or white, whichever reads
// better on it; in a dark scheme too when it reads on a dark page. "" for
// no colour.
func (b Branding) ColorCSS() string {
	if !hexColor.MatchString(b.Color) {
		return ""
	}
	lum := luminance(b.Color)
	text := "#ffffff"
	if contrast(lum, 1) < contrast(lum, 0) {
		text = "#111111"
	}
	css := fmt.Sprintf(":root {\n  --accent: %s;\n  --accent-text: %s;\n  --focus: %[1]s;\n}\n", b.Color, text)
	// Against the dark scheme's card (#171a21), links need 4.5:1.
	if contrast(lum, luminance("#171a21")) >= 4.5 {
		css += fmt.Sprintf("@media (prefers-color-scheme: dark) {\n  :root {\n    --accent: %s;\n    --accent-text: %s;\n    --focus: %[1]s;\n  }\n}\n", b.Color, text)
	}
	return css
}

// luminance is a #rrggbb colour's relative luminance (WCAG 2).
func luminance(hex string) float64 {
	var l [3]float64
	for i := range l {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			l[i] = c / 12.92
		} else {
			l[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is the WCAG contrast ratio of two luminances.
func contrast(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return (a + 0.05) / (b + 0.05)
}
