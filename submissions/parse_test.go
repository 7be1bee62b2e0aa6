package submissions_test

import (
	"bytes"
	"errors"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/intakehq/intake/submissions"
)

func TestParse(t *testing.T) {
	t.Parallel()
	lim := submissions.Limits{MaxBody: 1 << 10, MaxFiles: 1 << 10, MaxFields: 10}
	for _, tc := range []struct {
		name, contentType, body string
		want                    string // fields as name=v1|v2;…
		err                     error
		malformed               bool
	}{
		{"urlencoded", "application/x-www-form-urlencoded", "a=1&b=x+y&a=2", "a=1|2;b=x y", nil, false},
		{"urlencoded charset", "application/x-www-form-urlencoded; charset=UTF-8", "a=%C3%A9", "a=é", nil, false},
		{"json", "application/json", `{"b":true,"a":[1,"x"],"n":12345678901234567890123,"z":null}`, "a=1|x;b=true;n=12345678901234567890123", nil, false},
		{"json not object", "application/json", `[1]`, "", nil, true},
		{"json nested", "application/json", `{"a":{"b":1}}`, "", nil, true},
		{"json trailing", "application/json", `{"a":1} {"b":2}`, "", nil, true},
		{"json syntax", "application/json", `{"a":`, "", nil, true},
		{"bad percent", "application/x-www-form-urlencoded", "a=%zz", "", nil, true},
		{"NUL", "application/x-www-form-urlencoded", "a=x%00y", "", nil, true},
		{"invalid UTF-8", "application/x-www-form-urlencoded", "a=%ff", "", nil, true},
		{"too many fields", "application/x-www-form-urlencoded", "a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1", "", nil, true},
		{"too large", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", 1<<10), "", submissions.ErrTooLarge, false},
		{"text/plain", "text/plain", "a=1", "", submissions.ErrUnsupportedMediaType, false},
		{"no content type", "", "a=1", "", submissions.ErrUnsupportedMediaType, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := submissions.Parse(tc.contentType, strings.NewReader(tc.body), lim)
			var mal *submissions.MalformedError
			switch {
			case tc.malformed:
				if !errors.As(err, &mal) {
					t.Fatalf("err = %v, want malformed", err)
				}
				return
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if got := render(p); got != tc.want {
				t.Fatalf("fields = %q, want %q", got, tc.want)
			}
		})
	}
}

func render(p *submissions.Payload) string {
	var parts []string
	for _, f := range p.Fields {
		var vals []string
		for _, v := range f.Values {
			vals = append(vals, v.Text)
		}
		parts = append(parts, f.Name+"="+strings.Join(vals, "|"))
	}
	return strings.Join(parts, ";")
}

func TestParseMultipartFiles(t *testing.T) {
	t.Parallel()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("name", "Ada")
	fw, _ := mw.CreateFormFile("cv", "cv.txt")
	fw.Write([]byte("hello"))
	mw.Close()
	p, err := submissions.Parse(mw.FormDataContentType(), bytes.NewReader(body.Bytes()), submissions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := p.Get("cv")
	if !ok || f.Values[0].File == nil || f.Values[0].File.Size != 5 ||
		f.Values[0].File.SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("file part = %+v", f)
	}
	if p.First("name") != "Ada" {
		t.Fatalf("name = %q", p.First("name"))
	}
	small := submissions.Limits{MaxBody: 1 << 10, MaxFiles: 3, MaxFields: 10}
	if _, err := submissions.Parse(mw.FormDataContentType(), bytes.NewReader(body.Bytes()), small); !errors.Is(err, submissions.ErrFilesTooBig) {
		t.Fatalf("over the file limit: %v, want ErrFilesTooBig", err)
	}
}
