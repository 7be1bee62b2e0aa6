package httpedge

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// File is a stored file as an edge sends it.
type File struct {
	Name        string // as the sender named it
	ContentType string // as the sender said; believed only for Inline
	Size        int64
	SHA256      string // hex: the ETag
}

// inlineTypes are the only types a file is ever shown as, in the
// dashboard's preview: images a browser draws and cannot run (never SVG,
// which can carry script).
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// Inline reports whether f may be shown in a page rather than downloaded.
func (f File) Inline() bool {
	mt, _, err := mime.ParseMediaType(f.ContentType)
	return err == nil && inlineTypes[mt]
}

// SendFile streams body, f's bytes, as a download: Content-Disposition
// attachment with its name (RFC 6266, UTF-8 as filename*), the type
// application/octet-stream, nosniff and a CSP that runs nothing, so a file
// a stranger sent cannot act as a page of this origin. With inline (and an
// image type that Inline allows) it is sent as that image instead, for a
// preview. The ETag is its SHA-256: a conditional GET is 304, a HEAD sends
// no body. A read failing mid-way aborts the response, so the client sees
// a short body, never a whole-looking wrong one.
func SendFile(w http.ResponseWriter, r *http.Request, f File, body io.Reader, inline bool) {
	h := w.Header()
	etag := `"` + f.SHA256 + `"`
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=300")
	disposition := "attachment"
	h.Set("Content-Type", "application/octet-stream")
	if inline && f.Inline() {
		disposition = "inline"
		mt, _, _ := mime.ParseMediaType(f.ContentType)
		h.Set("Content-Type", mt)
	}
	h.Set("Content-Disposition", contentDisposition(disposition, f.Name))
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if n, err := io.Copy(w, body); err != nil || n != f.Size {
		if err != nil && r.Context().Err() == nil {
			Logger(r.Context()).ErrorContext(r.Context(), "file send failed", "err", err, "sent", n, "size", f.Size)
		}
		panic(http.ErrAbortHandler)
	}
}

// contentDisposition is the header for a file named name: control and
// path characters dropped, "file" for a name left empty; non-ASCII goes in
// filename* (RFC 6266, 5987), which mime.FormatMediaType writes.
func contentDisposition(kind, name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == '\\' || r == '"' {
			return -1
		}
		return r
	}, name)
	if name = strings.TrimSpace(name); name == "" || name == "." || name == ".." {
		name = "file"
	}
	if v := mime.FormatMediaType(kind, map[string]string{"filename": name}); v != "" {
		return v
	}
	return kind + `; filename="file"`
}
