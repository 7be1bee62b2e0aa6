package api_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// postFiles submits files (and an email) to the bundle's form as a browser
// page's multipart post answered in JSON, and returns the stored
// submission as the API shows it.
func (b *testBundle) postFiles(t *testing.T, files []testFile) map[string]any {
	t.Helper()
	body, ct := multipartBody(t, [][2]string{{"email", "files@example.com"}}, files)
	r := b.call(t, "POST", "/f/"+b.form.PublicID, []byte(body), hdr("Content-Type", ct, "Accept", "application/json"))
	if r.Status != http.StatusCreated {
		t.Fatalf("submit with files = %s", r)
	}
	id := jsonBody(t, r)["id"].(string)
	got := b.call(t, "GET", "/api/v1/submissions/"+id, nil, hdr("Authorization", bearer(b.account.APIKey)))
	if got.Status != http.StatusOK {
		t.Fatalf("get the submission = %s", got)
	}
	return jsonBody(t, got)
}

// TestFilesComeBack: a submission lists its files; each downloads with a
// key of its account as an attachment (never a page, whatever the sender
// claimed), by HEAD and by a conditional GET too; another account's key,
// a made-up file and another submission's file are not found.
func TestFilesComeBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pdf := []byte("%PDF-1.4\nnot really a PDF\n")
	page := []byte("<script>alert(document.cookie)</script>")
	sub := b.postFiles(t, []testFile{
		{Field: "cv", Name: "Résumé \"final\".pdf", Content: pdf},
		{Field: "cv", Name: "../../etc/evil.html", Content: page},
	})
	files, _ := sub["files"].([]any)
	if len(files) != 2 {
		t.Fatalf("files = %v, want 2", sub["files"])
	}
	key := hdr("Authorization", bearer(b.account.APIKey))
	// The field's values stay file objects and name the same id and url.
	values, _ := sub["data"].(map[string]any)["cv"].([]any)
	for i, want := range [][]byte{pdf, page} {
		f := files[i].(map[string]any)
		if v, _ := values[i].(map[string]any); v["filename"] != f["name"] || v["id"] != f["id"] || v["url"] != f["url"] || v["sha256"] != f["sha256"] {
			t.Errorf("data.cv[%d] = %v, want the file object of %v", i, values[i], f)
		}
		url, _ := f["url"].(string)
		if f["field"] != "cv" || !strings.HasPrefix(url, "/api/v1/submissions/"+sub["id"].(string)+"/files/file_") || f["size"] != float64(len(want)) {
			t.Errorf("file %d = %v", i, f)
		}
		r := b.call(t, "GET", url, nil, key)
		if r.Status != http.StatusOK || r.Body != string(want) {
			t.Fatalf("download %s = %d %q", url, r.Status, r.Body)
		}
		for h, v := range map[string]string{"Content-Type": "application/octet-stream", "X-Content-Type-Options": "nosniff",
			"Content-Length": fmt.Sprint(len(want)), "ETag": `"` + f["sha256"].(string) + `"`} {
			if r.Header.Get(h) != v {
				t.Errorf("download %d: %s = %q, want %q", i, h, r.Header.Get(h), v)
			}
		}
		cd := r.Header.Get("Content-Disposition")
		if !strings.HasPrefix(cd, "attachment;") || strings.Contains(cd, "/") || strings.Contains(cd, `\"`) {
			t.Errorf("download %d: Content-Disposition %q, want an attachment without path or quote tricks", i, cd)
		}
		if i == 0 && !strings.Contains(cd, "filename*=utf-8''R%C3%A9sum%C3%A9") {
			t.Errorf("the UTF-8 name is not in filename*: %q", cd)
		}
		if status := b.head(t, url, b.account.APIKey); status != http.StatusOK {
			t.Errorf("HEAD %s = %d", url, status)
		}
		if c := b.call(t, "GET", url, nil, hdr("Authorization", bearer(b.account.APIKey), "If-None-Match", r.Header.Get("ETag"))); c.Status != http.StatusNotModified {
			t.Errorf("conditional GET = %d, want 304", c.Status)
		}
	}
	first := files[0].(map[string]any)["url"].(string)
	other := testfactory.NewAccount(context.Background(), t, b.db)
	mustProblem(t, b.call(t, "GET", first, nil, hdr("Authorization", bearer(other.APIKey))), http.StatusNotFound, "not-found")
	mustProblem(t, b.call(t, "GET", "/api/v1/submissions/"+sub["id"].(string)+"/files/file_aaaaaaaaaaaaaaaa", nil, key), http.StatusNotFound, "not-found")
	// A file id is its submission's: under another submission it is no file.
	second := b.postFiles(t, []testFile{{Field: "cv", Name: "other.pdf", Content: []byte("other")}})
	fileID := files[0].(map[string]any)["id"].(string)
	mustProblem(t, b.call(t, "GET", "/api/v1/submissions/"+second["id"].(string)+"/files/"+fileID, nil, key), http.StatusNotFound, "not-found")
	// A submission without files lists none.
	plain := b.call(t, "POST", "/f/"+b.form.PublicID, []byte(`{"email":"plain@example.com"}`), hdr("Content-Type", "application/json"))
	got := jsonBody(t, b.call(t, "GET", "/api/v1/submissions/"+jsonBody(t, plain)["id"].(string), nil, key))
	if fs, ok := got["files"].([]any); !ok || len(fs) != 0 {
		t.Errorf("files of a submission without any = %v, want []", got["files"])
	}
}

// TestFileLinks: a signed link downloads its one file without a key for
// 7 days; changed in any part it is not found, expired it is 410.
func TestFileLinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.postFiles(t, []testFile{{Field: "cv", Name: "cv.pdf", Content: []byte("the CV")}, {Field: "photo", Name: "me.png", Content: []byte("png")}})
	id, _ := submissions.ParseID(sub["id"].(string))
	files := sub["files"].([]any)
	cv, photo := files[0].(map[string]any)["id"].(string), files[1].(map[string]any)["id"].(string)
	link := b.api.FileLinks.URL(id, cv, time.Now())
	path := strings.TrimPrefix(link, b.server.URL)
	if r := b.call(t, "GET", path, nil, nil); r.Status != http.StatusOK || r.Body != "the CV" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("the signed link = %s", r)
	}
	for name, p := range map[string]string{
		"another file":        strings.Replace(path, cv, photo, 1),
		"a later expiry":      strings.Replace(path, "expires=", "expires=9", 1),
		"a changed signature": path[:len(path)-2] + "AA",
		"no signature":        path[:strings.Index(path, "&sig=")],
		"a made-up expiry":    strings.Replace(path, "expires=", "expires=x", 1),
	} {
		mustProblem(t, b.call(t, "GET", p, nil, nil), http.StatusNotFound, "not-found")
		_ = name
	}
	old := strings.TrimPrefix(b.api.FileLinks.URL(id, cv, time.Now().Add(-8*24*time.Hour)), b.server.URL)
	mustProblem(t, b.call(t, "GET", old, nil, nil), http.StatusGone, "link-expired")
	// The submission deleted: its links find nothing.
	b.call(t, "DELETE", "/api/v1/submissions/"+sub["id"].(string), nil, hdr("Authorization", bearer(b.account.APIKey)))
	mustProblem(t, b.call(t, "GET", path, nil, nil), http.StatusNotFound, "not-found")
}

// TestFileDownloadStreams: a 10 MiB file is sent without ever holding it
// whole in memory. Not parallel: it reads the process's heap.
func TestFileDownloadStreams(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	const size = 10 << 20
	sub := b.postFiles(t, []testFile{{Field: "cv", Name: "big.bin", Content: []byte("placeholder")}})
	// The stored bytes grow to 10 MiB in place (uploads are bounded below
	// that in all; the file store's reads are what is measured).
	if _, err := b.db.Exec(ctx, `UPDATE submission_files SET content = convert_to(repeat('x', $1), 'UTF8'), size = $1`, size); err != nil {
		t.Fatal(err)
	}
	url := jsonBody(t, b.call(t, "GET", "/api/v1/submissions/"+sub["id"].(string), nil, hdr("Authorization", bearer(b.account.APIKey))))["files"].([]any)[0].(map[string]any)["url"].(string)

	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	req, _ := http.NewRequest("GET", b.server.URL+url, nil)
	req.Header.Set("Authorization", bearer(b.account.APIKey))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	close(done)
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("sent %d bytes; the heap grew by at most %d KiB", n, grew>>10)
	if n != size || resp.StatusCode != http.StatusOK {
		t.Fatalf("downloaded %d bytes (status %d), want %d", n, resp.StatusCode, size)
	}
	if grew > 6<<20 {
		t.Errorf("the heap grew by %d MiB sending a 10 MiB file: it is held whole, not streamed", grew>>20)
	}
}

func (b *testBundle) attachFile(t *testing.T, sub string) string {
	return testfactory.AttachFile(t, b.db, sub)
}

// TestFileLinksLimited: an address fetches at most FileLinkLimit's
// PerMinute file links a minute, good or guessed; the rest are 429 with
// Retry-After, before the signature is checked.
func TestFileLinksLimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.FileLinkLimit = &api.FileLinkLimiter{PerMinute: 2}
	sub := b.postFiles(t, []testFile{{Field: "cv", Name: "cv.pdf", Content: []byte("the CV")}})
	id, _ := submissions.ParseID(sub["id"].(string))
	path := strings.TrimPrefix(b.api.FileLinks.URL(id, sub["files"].([]any)[0].(map[string]any)["id"].(string), time.Now()), b.server.URL)
	if r := b.call(t, "GET", path, nil, nil); r.Status != http.StatusOK || r.Body != "the CV" {
		t.Fatalf("the first fetch = %s", r)
	}
	mustProblem(t, b.call(t, "GET", path[:len(path)-2]+"AA", nil, nil), http.StatusNotFound, "not-found")
	for _, p := range []string{path, path[:len(path)-2] + "AA"} {
		r := b.call(t, "GET", p, nil, nil)
		mustProblem(t, r, http.StatusTooManyRequests, "rate-limited")
		if r.Header.Get("Retry-After") == "" || r.Header.Get("RateLimit-Limit") != "2" {
			t.Fatalf("a limited fetch's headers = %v", r.Header)
		}
	}
	// The API's own route is not this limit's.
	if r := b.call(t, "GET", sub["files"].([]any)[0].(map[string]any)["url"].(string), nil, hdr("Authorization", bearer(b.account.APIKey))); r.Status != http.StatusOK {
		t.Fatalf("the API's download = %s", r)
	}
}

// TestEventFileLinkFetches: the event a webhook's receiver gets (the
// sample renders it with the worker's EventOf) carries each file with a
// signed link, in files and in the field's value alike, that fetches the
// file's bytes without a key.
func TestEventFileLinkFetches(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.postFiles(t, []testFile{{Field: "cv", Name: "cv.pdf", Content: []byte("%PDF the CV")}})
	r := b.call(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/sample", nil, hdr("Authorization", bearer(b.account.APIKey)))
	event := jsonBody(t, r)
	data, _ := event["data"].(map[string]any)
	files, _ := data["files"].([]any)
	if r.Status != http.StatusOK || len(files) != 1 {
		t.Fatalf("sample = %s", r)
	}
	link, _ := files[0].(map[string]any)["url"].(string)
	if v, _ := data["data"].(map[string]any)["cv"].(map[string]any); v["url"] != link {
		t.Errorf("data.cv = %v, want the url %s", v, link)
	}
	if !strings.HasPrefix(link, b.server.URL+"/files/") || !strings.Contains(link, "sig=") {
		t.Fatalf("the event's file url = %q, want a signed link", link)
	}
	if got := b.call(t, "GET", strings.TrimPrefix(link, b.server.URL), nil, nil); got.Status != http.StatusOK || got.Body != "%PDF the CV" {
		t.Fatalf("fetching the event's link = %s", got)
	}
}
