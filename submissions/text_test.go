package submissions_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/intakehq/intake/submissions"
)

// Text writes each kind of stored value, and only lists, files and nulls
// depend on the style.
func TestText(t *testing.T) {
	t.Parallel()
	file := map[string]any{"filename": "cv.pdf", "size": json.Number("2048"), "content_type": "application/pdf"}
	spaced := submissions.TextStyle{ListSep: " | ", Null: "-", File: func(f map[string]any) string {
		return fmt.Sprintf("%v [%v]", f["filename"], f["content_type"])
	}}
	cases := []struct {
		v     any
		style submissions.TextStyle
		want  string
	}{
		{"hello", spaced, "hello"},
		{json.Number("12.50"), spaced, "12.50"},
		{true, spaced, "true"},
		{float64(3), spaced, "3"},
		{nil, spaced, "-"},
		{nil, submissions.TextStyle{}, ""},
		{[]any{"a", json.Number("1"), nil}, spaced, "a | 1 | -"},
		{[]any{"a", "b"}, submissions.TextStyle{ListSep: "; "}, "a; b"},
		{file, spaced, "cv.pdf [application/pdf]"},
		{file, submissions.TextStyle{}, "cv.pdf"},
		{[]any{file, file}, submissions.TextStyle{ListSep: ", "}, "cv.pdf, cv.pdf"},
	}
	for _, c := range cases {
		if got := submissions.Text(c.v, c.style); got != c.want {
			t.Errorf("Text(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
}
