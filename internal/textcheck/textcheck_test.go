package textcheck_test

import (
	"testing"

	"github.com/intakehq/intake/internal/textcheck"
)

func TestJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc, prefix string
		want        string // "" for nil, else the pointer
		key         bool
		problem     string
	}{
		{`{"a":"x","b":[1,"y"]}`, "", "", false, ""},
		{`{"a":"\ufffd"}`, "", "", false, ""},  // a literal U+FFFD is text like any other
		{`{"a":"\\u0000"}`, "", "", false, ""}, // a backslash then "u0000"
		{"{\"a\":\"x\xffy\"}", "", "#/a", false, "is not valid UTF-8"},
		{"{\"a\xff\":1}", "", "#/a\uFFFD", true, "is not valid UTF-8"},
		{`{"a":"x\u0000"}`, "", "#/a", false, "contains a NUL character (U+0000)"},
		{`{"a\u0000b":true}`, "", `#/a\u0000b`, true, "contains a NUL character (U+0000)"},
		{`{"fields":[{"name":"a","label":"ok"},{"name":"b","options":["x","\u0000"]}]}`, "", "#/fields/1/options/1", false, "contains a NUL character (U+0000)"},
		{"{\"settings\":{\"blocked_words\":[\"a/b\",\"\xc3\"]}}", "", "#/settings/blocked_words/1", false, "is not valid UTF-8"},
		{`{"honeypot_field":"\u0000"}`, "settings", "#/settings/honeypot_field", false, "contains a NUL character (U+0000)"},
		{`{"a~/b":{"c":"\u0000"}}`, "", "#/a~0~1b/c", false, "contains a NUL character (U+0000)"},
		{"[\"\xff\"]", "", "#/0", false, "is not valid UTF-8"},
		{"\"\xff\"", "", "#", false, "is not valid UTF-8"},
		{"{\"a\":1\xff}", "", "", false, ""}, // a syntax error: the decoder's to report
	} {
		e := textcheck.JSON([]byte(tc.doc), tc.prefix)
		switch {
		case tc.want == "" && e != nil:
			t.Errorf("%q: %v, want nil", tc.doc, e)
		case tc.want == "":
		case e == nil:
			t.Errorf("%q: nil, want %s", tc.doc, tc.want)
		case e.Pointer != tc.want || e.Key != tc.key || e.Problem != tc.problem:
			t.Errorf("%q: %+v, want pointer %s key %v %q", tc.doc, e, tc.want, tc.key, tc.problem)
		}
	}
}

func TestProblem(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{"": "", "é✓": "", "a\x00": "contains a NUL character (U+0000)", "\xff": "is not valid UTF-8"} {
		if got := textcheck.Problem(s); got != want {
			t.Errorf("Problem(%q) = %q, want %q", s, got, want)
		}
	}
}
