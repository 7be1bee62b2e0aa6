package submissions

import "testing"

// defuse quotes every cell a spreadsheet would run as a formula and leaves
// plain text and plain numbers alone.
func TestDefuse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                     "",
		"hello":                "hello",
		"=HYPERLINK(\"x\")":    "'=HYPERLINK(\"x\")",
		"+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
		"-2+3":                 "'-2+3",
		"@SUM(1).pdf":          "'@SUM(1).pdf",
		"\t=1":                 "'\t=1",
		"\r=1":                 "'\r=1",
		"-5":                   "-5",
		"+1.5e3":               "+1.5e3",
		"-.5":                  "-.5",
		"-":                    "'-",
		"-Inf":                 "'-Inf",
		"a=b":                  "a=b",
	} {
		if got := defuse(in); got != want {
			t.Errorf("defuse(%q) = %q, want %q", in, got, want)
		}
	}
}
