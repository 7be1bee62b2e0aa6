package submissions_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/submissions"
)

// fileParts is a multipart body of n empty file parts of one field,
// written out directly (a multipart.Writer takes long for 100,000 parts
// under the race detector).
func fileParts(n int) (contentType string, body []byte) {
	const part = "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n"
	return "multipart/form-data; boundary=B", append(bytes.Repeat([]byte(part), n), "--B--\r\n"...)
}

// A multipart bomb (100,000 empty file parts, ~10 MB) is refused at the
// part over the limit, with no more memory than that part: not one
// File per part, not the whole body. Not parallel, so that the memory
// measured is this test's.
func TestParseMultipartBomb(t *testing.T) {
	ct, body := fileParts(100_000)
	for _, tc := range []struct {
		name string
		lim  submissions.Limits
		want submissions.TooManyPartsError
	}{
		{"files", submissions.DefaultLimits, submissions.TooManyPartsError{Files: true, Limit: 20}},
		{"parts", submissions.Limits{MaxBody: 1 << 20, MaxFiles: 10 << 20, MaxFields: 500, MaxParts: 1000, MaxFileParts: 100_000},
			submissions.TooManyPartsError{Limit: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &countingReader{r: bytes.NewReader(body)}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := submissions.Parse(ct, r, tc.lim)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			var tooMany *submissions.TooManyPartsError
			if !errors.As(err, &tooMany) || *tooMany != tc.want {
				t.Fatalf("err = %v, want %+v", err, tc.want)
			}
			if took > time.Second {
				t.Errorf("took %v, want under a second", took)
			}
			t.Logf("allocated %d bytes, read %d, in %v", after.TotalAlloc-before.TotalAlloc, r.n, took)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 { // a few MB, under -race too
				t.Errorf("allocated %d bytes refusing the body, want at most a few MB", alloc)
			}
			// Read no further than the part over the limit (and the
			// reader's buffer).
			if limitParts := tc.want.Limit + 1; r.n > int64(len(body)/100_000*limitParts)+64<<10 {
				t.Errorf("read %d bytes of %d for %d parts", r.n, len(body), limitParts)
			}
		})
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func TestParseMultipartCounts(t *testing.T) {
	t.Parallel()
	lim := submissions.Limits{MaxBody: 1 << 20, MaxFiles: 1 << 20, MaxFields: 2000, MaxParts: 50, MaxFileParts: 3}
	body := func(texts, files int) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for i := range texts {
			mw.WriteField(fmt.Sprintf("t%d", i), "v")
		}
		for i := range files {
			w, _ := mw.CreateFormFile("files", fmt.Sprintf("%d.txt", i))
			w.Write([]byte("x"))
		}
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	for _, tc := range []struct {
		texts, files int
		want         *submissions.TooManyPartsError
	}{
		{47, 3, nil},
		{48, 3, &submissions.TooManyPartsError{Limit: 50}},
		{0, 3, nil},
		{0, 4, &submissions.TooManyPartsError{Files: true, Limit: 3}},
	} {
		ct, b := body(tc.texts, tc.files)
		p, err := submissions.Parse(ct, bytes.NewReader(b), lim)
		var got *submissions.TooManyPartsError
		errors.As(err, &got)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%d texts, %d files: %v", tc.texts, tc.files, err)
		case tc.want == nil:
			if f, _ := p.Get("files"); len(f.Values) != tc.files {
				t.Errorf("%d texts, %d files: %d files parsed", tc.texts, tc.files, len(f.Values))
			}
		case got == nil || *got != *tc.want:
			t.Errorf("%d texts, %d files: err = %v, want %v", tc.texts, tc.files, err, tc.want)
		}
	}
	// The zero limits are the defaults.
	ct, b := body(0, 21)
	var got *submissions.TooManyPartsError
	if _, err := submissions.Parse(ct, bytes.NewReader(b), submissions.Limits{MaxBody: 1 << 20, MaxFiles: 1 << 20, MaxFields: 10}); !errors.As(err, &got) || got.Limit != 20 {
		t.Errorf("21 files under zero limits: %v", err)
	}
}

// The field limit holds while parsing: a body of distinct names stops at
// the name over it (parsing is not quadratic in the names either).
func TestParseFieldLimitStreaming(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 150_000 {
		fmt.Fprintf(&b, "n%d=&", i)
	}
	lim := submissions.Limits{MaxBody: 2 << 20, MaxFiles: 1, MaxFields: 500}
	var mal *submissions.MalformedError
	if _, err := submissions.Parse("application/x-www-form-urlencoded", strings.NewReader(b.String()), lim); !errors.As(err, &mal) || !strings.Contains(mal.Detail, "more than 500 fields") {
		t.Fatalf("err = %v", err)
	}
	js := "{" + strings.TrimSuffix(strings.ReplaceAll(strings.ReplaceAll(b.String(), "=&", `":[],`), "n", `"n`), ",") + "}"
	if _, err := submissions.Parse("application/json", strings.NewReader(js), lim); !errors.As(err, &mal) || !strings.Contains(mal.Detail, "more than 500 fields") {
		t.Fatalf("JSON: err = %v", err)
	}
}

// Text that would be stored differently from how it was sent, or refused
// by the database, is malformed wherever it is: JSON strings and names
// (before encoding/json turns invalid UTF-8 into U+FFFD), multipart
// headers, file names and file Content-Types.
func TestParseText(t *testing.T) {
	t.Parallel()
	part := func(header textproto.MIMEHeader, content string) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, err := mw.CreatePart(header)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	file := func(disposition, contentType string) (string, []byte) {
		h := textproto.MIMEHeader{"Content-Disposition": {disposition}}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		return part(h, "content")
	}
	type tcase struct {
		name string
		ct   string
		body []byte
		want string // in the detail
	}
	js := func(name, s, want string) tcase { return tcase{name, "application/json", []byte(s), want} }
	mp := func(name string, ct string, b []byte, want string) tcase { return tcase{name, ct, b, want} }
	cases := []tcase{
		js("JSON value \\xff", "{\"a\":\"x\xffy\"}", "member #/a is not valid UTF-8"),
		js("JSON name \\xff", "{\"a\xff\":\"x\"}", "the name of member #/a\uFFFD is not valid UTF-8"),
		js("JSON array \\xff", "{\"a\":[\"ok\",\"\xc3\"]}", "member #/a/1 is not valid UTF-8"),
		js("JSON value \\u0000", `{"a":"x\u0000"}`, "member #/a contains a NUL character"),
		js("JSON name \\u0000", `{"a\u0000":"x"}`, `the name of member #/a\u0000 contains a NUL character`),
	}
	ct, b := file(`form-data; name="f"; filename="a.txt"`, "text/plain; x=\xff")
	cases = append(cases, mp("file Content-Type \\xff", ct, b, "the Content-Type header of a multipart part is not valid UTF-8"))
	ct, b = file("form-data; name=\"f\"; filename=\"a\xff.txt\"", "")
	cases = append(cases, mp("file name \\xff", ct, b, "the Content-Disposition header of a multipart part is not valid UTF-8"))
	ct, b = file("form-data; name=\"f\xff\"", "")
	cases = append(cases, mp("field name \\xff", ct, b, "the Content-Disposition header of a multipart part is not valid UTF-8"))
	ct, b = file(`form-data; name="f"; filename*=UTF-8''a%00.txt`, "")
	cases = append(cases, mp("file name NUL (RFC 2231)", ct, b, "contains a NUL character"))
	ct, b = file(`form-data; name="f"; filename*=UTF-8''a%FF.txt`, "")
	cases = append(cases, mp("file name \\xff (RFC 2231)", ct, b, "is not valid UTF-8"))
	for _, tc := range cases {
		_, err := submissions.Parse(tc.ct, bytes.NewReader(tc.body), submissions.DefaultLimits)
		var mal *submissions.MalformedError
		if !errors.As(err, &mal) || !strings.Contains(mal.Detail, tc.want) {
			t.Errorf("%s: err = %v, want malformed saying %q", tc.name, err, tc.want)
		}
	}
	// A literal U+FFFD is text like any other; the payload is not the one
	// with \xff (which is refused above), so the two cannot share a key.
	p, err := submissions.Parse("application/json", strings.NewReader(`{"a":"x\ufffdy"}`), submissions.DefaultLimits)
	if err != nil || p.First("a") != "x\uFFFDy" {
		t.Fatalf("literal U+FFFD: %v %+v", err, p)
	}
}

// A body whose read deadline passes is the client's slowness, never a
// net.Error that would read as the database's outage.
func TestParseBodyTimeout(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/json", "multipart/form-data; boundary=X"} {
		body := io.MultiReader(strings.NewReader("--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv"), errReader{os.ErrDeadlineExceeded})
		if _, err := submissions.Parse(ct, body, submissions.DefaultLimits); !errors.Is(err, submissions.ErrBodyTimeout) {
			t.Errorf("%s: err = %v, want ErrBodyTimeout", ct, err)
		}
		body = io.MultiReader(strings.NewReader("--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv"), errReader{io.ErrUnexpectedEOF})
		var mal *submissions.MalformedError
		if _, err := submissions.Parse(ct, body, submissions.DefaultLimits); !errors.As(err, &mal) {
			t.Errorf("%s cut short: err = %v, want malformed", ct, err)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
