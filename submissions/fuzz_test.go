package submissions_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/url"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/submissions"
)

// FuzzParse: no body, however broken, panics the parser or yields text the
// database would refuse (invalid UTF-8, NUL), and the limits hold.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "email=a%40b.c&message=hi&a=1&a=2"},
		{"application/x-www-form-urlencoded", "%zz=%&&=x&a=%00"},
		{"application/json", `{"email":"a@b.c","n":1e400,"l":[1,"x",true],"z":null}`},
		{"application/json", `{"a":{"b":{"c":[[[]]]}}}`},
		{"application/json", `{"a":"\u0000","a":"dup"}`},
		{"application/json", `[1,2,3]`},
		{"application/json", "{\"a\":\"\xff\xfe\"}"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--X--\r\n"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\r\nfile\r\n--X--"},
		{"text/plain", "a=1"},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	lim := submissions.Limits{MaxBody: 4 << 10, MaxFiles: 4 << 10, MaxFields: 50}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		p, err := submissions.Parse(contentType, bytes.NewReader(body), lim)
		if err != nil {
			var mal *submissions.MalformedError
			var parts *submissions.TooManyPartsError
			if !errors.Is(err, submissions.ErrUnsupportedMediaType) && !errors.Is(err, submissions.ErrTooLarge) &&
				!errors.Is(err, submissions.ErrFilesTooBig) && !errors.As(err, &mal) && !errors.As(err, &parts) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(p.Fields) > lim.MaxFields {
			t.Fatalf("%d fields over the limit", len(p.Fields))
		}
		if contentType == "application/json" && !utf8.Valid(body) {
			t.Fatalf("a JSON body with invalid UTF-8 was taken (encoding/json would have changed it)")
		}
		for _, fld := range p.Fields {
			for _, s := range append([]string{fld.Name}, storedTexts(fld)...) {
				if !utf8.ValidString(s) || bytes.IndexByte([]byte(s), 0) >= 0 {
					t.Fatalf("text the database would refuse: %q", s)
				}
			}
		}
	})
}

func texts(f submissions.Field) []string {
	var out []string
	for _, v := range f.Values {
		out = append(out, v.Text)
	}
	return out
}

// storedTexts are the texts of f the database stores: each value, and a
// file's Content-Type.
func storedTexts(f submissions.Field) []string {
	out := texts(f)
	for _, v := range f.Values {
		if v.File != nil {
			out = append(out, v.File.ContentType)
		}
	}
	return out
}

// FuzzFingerprintAcrossEncodings: the same fields sent urlencoded, as
// multipart and as JSON have one fingerprint; changing a value changes it.
func FuzzFingerprintAcrossEncodings(f *testing.F) {
	f.Add("email", "a@b.c", "message", "hello")
	f.Add("a", "", "b", "x y")
	f.Add("name", "é✓", "n", "12")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		if k1 == "" || k2 == "" || k1 == k2 || !utf8.ValidString(k1+v1+k2+v2) || bytes.ContainsAny([]byte(k1+v1+k2+v2), "\x00\r\n\"") {
			return
		}
		form := url.Values{k1: {v1}, k2: {v2}}
		js, _ := json.Marshal(map[string]string{k1: v1, k2: v2})
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		mw.WriteField(k2, v2)
		mw.WriteField(k1, v1)
		mw.Close()
		fps := map[string][]byte{}
		for name, in := range map[string]struct {
			ct   string
			body []byte
		}{
			"urlencoded": {"application/x-www-form-urlencoded", []byte(form.Encode())},
			"json":       {"application/json", js},
			"multipart":  {mw.FormDataContentType(), mp.Bytes()},
		} {
			p, err := submissions.Parse(in.ct, bytes.NewReader(in.body), submissions.DefaultLimits)
			if err != nil {
				return // a name or value one encoding cannot carry
			}
			fps[name] = fingerprint(p)
		}
		if !bytes.Equal(fps["urlencoded"], fps["json"]) || !bytes.Equal(fps["json"], fps["multipart"]) {
			t.Fatalf("fingerprints differ across encodings for %q=%q %q=%q", k1, v1, k2, v2)
		}
		changed := url.Values{k1: {v1 + "!"}, k2: {v2}}
		p, err := submissions.Parse("application/x-www-form-urlencoded", bytes.NewReader([]byte(changed.Encode())), submissions.DefaultLimits)
		if err == nil && bytes.Equal(fingerprint(p), fps["urlencoded"]) {
			t.Fatalf("a changed value kept the fingerprint")
		}
	})
}

// fingerprint mirrors the accept path's: every field but the key, values as text.
func fingerprint(p *submissions.Payload) []byte {
	var fields []idempotency.Field
	for _, f := range p.Fields {
		if f.Name == submissions.FieldIdempotencyKey {
			continue
		}
		fields = append(fields, idempotency.Field{Name: f.Name, Values: slices.Clone(texts(f))})
	}
	return idempotency.Fingerprint(fields)
}
