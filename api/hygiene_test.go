package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

// Every client mistake is a 4xx, never a 500 and never silently changed;
// request parsing is bounded (docs/errors.md, docs/SECURITY.md).

// emptyParts is a multipart body of n empty parts of one field, files or
// not, written out directly (a multipart.Writer takes long for 100,000
// parts under the race detector).
func emptyParts(n int, files bool) (contentType string, body []byte) {
	part := "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\r\n"
	if files {
		part = "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n"
	}
	return "multipart/form-data; boundary=B", append(bytes.Repeat([]byte(part), n), "--B--\r\n"...)
}

// 100,000 empty parts (the bomb that took 25 s and 478 MB) answer 413
// within a second, and the heap does not grow past a few MB. Not
// parallel: the memory measured is this test's.
func TestSubmitMultipartBomb(t *testing.T) {
	b := setup(t)
	for _, tc := range []struct {
		files bool
		code  string
	}{{true, "TOO_MANY_FILES"}, {false, "TOO_MANY_PARTS"}} {
		ct, body := emptyParts(100_000, tc.files)
		req, err := http.NewRequest(http.MethodPost, b.server.URL+"/f/"+b.form.PublicID, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Accept", acceptJSON)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		r := reply{Status: resp.StatusCode, Header: resp.Header, Body: string(out)}
		// Checked against the description after the measurement: the
		// checker reads the whole request body.
		if err := checkExchange(http.MethodPost, req.URL.String(), req.Header, body, r.Status, r.Header, out); err != nil {
			t.Error(err)
		}
		if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, `"code":"`+tc.code+`"`) ||
			!strings.Contains(r.Body, "payload-too-large") {
			t.Fatalf("%d bytes of %d empty parts = %s, want 413 %s", len(body), 100_000, r, tc.code)
		}
		t.Logf("%s: %v, %d bytes allocated, heap %d → %d", tc.code, took, after.TotalAlloc-before.TotalAlloc, before.HeapAlloc, after.HeapAlloc)
		if took > time.Second {
			t.Errorf("%s answered in %v, want within a second", tc.code, took)
		}
		if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
			t.Errorf("%s: the heap grew by %d bytes, want at most a few MB", tc.code, grew)
		}
		// Allocations of the whole exchange, both ends: one body of ~7 MB
		// read once would be more than this.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6<<20 {
			t.Errorf("%s: %d bytes allocated, want at most a few MB", tc.code, alloc)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, b.form.ID); n != 0 {
		t.Errorf("%d submissions stored", n)
	}
}

// The limits are exact: 20 files and 1,000 parts are taken.
func TestSubmitMultipartAtTheLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("email", "limits@example.com")
	for i := range 979 {
		mw.WriteField("note", fmt.Sprint(i))
	}
	for i := range 20 {
		w, _ := mw.CreateFormFile("files", fmt.Sprintf("%d.txt", i))
		io.WriteString(w, "x")
	}
	mw.Close()
	r := b.submit(t, b.form.PublicID, mw.FormDataContentType(), buf.String(), "Accept", acceptJSON)
	mustAccepted(t, b, b.form, r)
}

// Text the database would refuse, or that would be stored changed, is a
// 400 on the public endpoint, wherever it is; nothing is stored.
func TestSubmitText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	part := func(disposition, contentType string) (string, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("email", "a@example.com") // valid but for the part: on main a 500 (Postgres 22021)
		h := textproto.MIMEHeader{"Content-Disposition": {disposition}}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "content")
		mw.Close()
		return mw.FormDataContentType(), buf.String()
	}
	type tcase struct{ name, ct, body, detail string }
	cases := []tcase{
		{"JSON value \\xff", ctJSON, "{\"email\":\"a@example.com\",\"message\":\"x\xffy\"}", "member #/message is not valid UTF-8"},
		{"JSON name \\xff", ctJSON, "{\"email\":\"a@example.com\",\"m\xff\":\"x\"}", "is not valid UTF-8"},
		{"JSON value \\u0000", ctJSON, `{"email":"a@example.com","message":"x\u0000"}`, "member #/message contains a NUL character"},
		{"JSON name \\u0000", ctJSON, `{"email":"a@example.com","m\u0000":"x"}`, "contains a NUL character"},
		{"urlencoded %FF", ctForm, "email=a%40example.com&message=%FF", "is not valid UTF-8"},
		{"urlencoded %00", ctForm, "email=a%40example.com&message=%00", "contains a NUL character"},
		{"urlencoded name %00", ctForm, "email=a%40example.com&m%00=x", "contains a NUL character"},
	}
	for _, p := range []struct{ name, disposition, contentType, detail string }{
		{"file Content-Type \\xff", `form-data; name="cv"; filename="cv.txt"`, "text/plain; charset=\xff", "Content-Type header of a multipart part is not valid UTF-8"},
		{"file name \\xff", "form-data; name=\"cv\"; filename=\"c\xffv.txt\"", "", "Content-Disposition header of a multipart part is not valid UTF-8"},
		{"file name NUL (RFC 2231)", `form-data; name="cv"; filename*=UTF-8''c%00v.txt`, "", "contains a NUL character"},
		{"file name \\xff (RFC 2231)", `form-data; name="cv"; filename*=UTF-8''c%FFv.txt`, "", "is not valid UTF-8"},
		{"field name \\xff", "form-data; name=\"c\xffv\"", "", "is not valid UTF-8"},
	} {
		ct, body := part(p.disposition, p.contentType)
		cases = append(cases, tcase{p.name, ct, body, p.detail})
	}
	for _, tc := range cases {
		r := b.submit(t, b.form.PublicID, tc.ct, tc.body, "Accept", acceptJSON, "Idempotency-Key", "text-"+strings.ReplaceAll(tc.name, " ", "-"))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "malformed-request") || !strings.Contains(r.Body, tc.detail) {
			t.Errorf("%s: %s, want 400 malformed-request saying %q", tc.name, r, tc.detail)
		}
	}
	if s := b.stored(t, b.form); s != (stored{}) {
		t.Errorf("stored %+v, want nothing", s)
	}
}

// A JSON number Postgres' numeric refuses — more than 16383 digits after
// the point, however written — is a 400 (it was a 500, from a stranger,
// failing the group write it shared), and the numbers just inside the
// limit are stored as sent.
func TestSubmitNumbersPostgresRefuses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	zeros := strings.Repeat("0", maxScale)
	for i, tc := range []struct {
		number string
		taken  bool
	}{
		{"1e-16383", true}, {"0.5e-16382", true}, {"0." + zeros[1:] + "1", true}, {"1." + zeros, true}, {"0e1000000", true}, {"4.9e-324", true},
		{"1e-16384", false}, {"1.5e-16383", false}, {"0." + zeros + "1", false}, {"1." + zeros + "0", false}, {"-0e-99999", false},
		{"0e9999999999", false}, {"1e400", false},
	} {
		body := fmt.Sprintf(`{"email":"a@example.com","n":%s}`, tc.number)
		r := b.submit(t, b.form.PublicID, ctJSON, body, "Accept", acceptJSON, "Idempotency-Key", fmt.Sprintf("number-%d", i))
		switch {
		case tc.taken && r.Status != http.StatusCreated:
			t.Errorf("%.20s… (%d bytes): %s, want 201", tc.number, len(tc.number), r)
		case !tc.taken && (r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "malformed-request")):
			t.Errorf("%.20s… (%d bytes): %s, want 400 malformed-request", tc.number, len(tc.number), r)
		}
	}
}

// maxScale is the most digits after the point Postgres' numeric keeps.
const maxScale = 16383

// A body with \xff was stored as U+FFFD (201) and then counted as the same
// payload as one with a real U+FFFD under one key. Now the first is a 400
// and the second is a new submission, stored as sent.
func TestSubmitInvalidUTF8IsNotReplacementCharacter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bad := "{\"email\":\"a@example.com\",\"message\":\"x\xffy\"}"
	literal := `{"email":"a@example.com","message":"x\ufffdy"}`
	if r := b.submit(t, b.form.PublicID, ctJSON, bad, "Idempotency-Key", "fffd"); r.Status != http.StatusBadRequest {
		t.Fatalf("\\xff: %s, want 400", r)
	}
	r := b.submit(t, b.form.PublicID, ctJSON, literal, "Idempotency-Key", "fffd")
	body := mustAccepted(t, b, b.form, r)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the U+FFFD body was answered as a replay")
	}
	if got := b.submission(t, body["id"].(string))["data"].(map[string]any)["message"]; got != "x\uFFFDy" {
		t.Errorf("stored message = %q", got)
	}
	// And the \xff body is not a replay of it either.
	if r := b.submit(t, b.form.PublicID, ctJSON, bad, "Idempotency-Key", "fffd"); r.Status != http.StatusBadRequest {
		t.Fatalf("\\xff after U+FFFD: %s, want 400", r)
	}
	if s := b.stored(t, b.form); s.Submissions != 1 {
		t.Errorf("stored %+v, want one submission", s)
	}
}

// Every text the management API takes, each with a NUL and with invalid
// UTF-8, is a 400 naming the member (never a 500, never stored as U+FFFD),
// and nothing is stored or changed.
func TestAPIText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v1/forms/" + b.form.PublicID
	before := b.apiGet(t, path, b.account.APIKey).Body
	sub := b.post(t, b.form.PublicID, `{"email":"a@example.com"}`, "api-text")

	// Each template has one $ where the bad text goes; pointer is the
	// member it names.
	for _, tc := range []struct{ method, path, body, pointer string }{
		{"POST", "/api/v1/forms", `{"name":"$"}`, "#/name"},
		{"POST", "/api/v1/forms", `{"name":"f","fields":[{"name":"$","type":"text"}]}`, "#/fields/0/name"},
		{"POST", "/api/v1/forms", `{"name":"f","fields":[{"name":"a","type":"text","label":"$"}]}`, "#/fields/0/label"},
		{"POST", "/api/v1/forms", `{"name":"f","fields":[{"name":"a","type":"$"}]}`, "#/fields/0/type"},
		{"POST", "/api/v1/forms", `{"name":"f","fields":[{"name":"a","type":"text","rules":"$"}]}`, "#/fields/0/rules"},
		{"POST", "/api/v1/forms", `{"name":"f","fields":[{"name":"a","type":"select","options":["x","$"]}]}`, "#/fields/0/options/1"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"redirect_url":"https://example.com/$"}}`, "#/settings/redirect_url"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"allowed_redirect_hosts":["$"]}}`, "#/settings/allowed_redirect_hosts/0"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"allowed_origins":["https://$.example"]}}`, "#/settings/allowed_origins/0"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"idempotency_retention":"$"}}`, "#/settings/idempotency_retention"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"implicit_dedupe_window":"$"}}`, "#/settings/implicit_dedupe_window"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"unknown_fields":"$"}}`, "#/settings/unknown_fields"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"notify_emails":["$@example.com"]}}`, "#/settings/notify_emails/0"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"autoresponse":{"subject":"$"}}}`, "#/settings/autoresponse/subject"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"autoresponse":{"body":"$"}}}`, "#/settings/autoresponse/body"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"honeypot_field":"$"}}`, "#/settings/honeypot_field"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"blocked_words":["$"]}}`, "#/settings/blocked_words/0"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"blocked_emails":["$@example.com"]}}`, "#/settings/blocked_emails/0"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"blocked_ips":["$"]}}`, "#/settings/blocked_ips/0"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"captcha":{"provider":"$"}}}`, "#/settings/captcha/provider"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"captcha":{"site_key":"$"}}}`, "#/settings/captcha/site_key"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"captcha":{"secret":"$"}}}`, "#/settings/captcha/secret"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"captcha":{"on_outage":"$"}}}`, "#/settings/captcha/on_outage"},
		{"POST", "/api/v1/forms", `{"name":"f","settings":{"submission_retention":"$"}}`, "#/settings/submission_retention"},
		{"POST", "/api/v1/forms", `{"name":"f","$":1}`, "#/"},
		{"PATCH", path, `{"name":"$"}`, "#/name"},
		{"PATCH", path, `{"fields":[{"name":"a","type":"text","label":"$"}]}`, "#/fields/0/label"},
		{"PATCH", path, `{"settings":{"blocked_words":["ok","$"]}}`, "#/settings/blocked_words/1"},
		{"PATCH", path, `{"settings":{"$":true}}`, "#/settings/"},
		{"POST", "/api/v1/apikeys", `{"name":"$"}`, "#/name"},
		{"POST", path + "/webhooks", `{"url":"https://example.com/$"}`, "#/url"},
		{"PATCH", "/api/v1/submissions/" + sub, `{"spam":true,"$":1}`, "#/"},
		{"POST", "/api/v1/erasures", `{"email":"a$@example.com"}`, "#/email"},
	} {
		for _, bad := range []struct{ name, json string }{{"NUL", `\u0000`}, {"invalid UTF-8", "\xff"}} {
			body := strings.Replace(tc.body, "$", "x"+bad.json, 1)
			r := b.call(t, tc.method, tc.path, []byte(body), hdr("Authorization", bearer(b.account.APIKey), "Content-Type", ctJSON))
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "malformed-request") || !strings.Contains(r.Body, tc.pointer) {
				t.Errorf("%s %s %s with %s: %s, want 400 naming %s", tc.method, tc.path, tc.body, bad.name, r, tc.pointer)
			}
		}
	}
	if n := b.count(t, `SELECT count(*) FROM forms WHERE account_id = $1`, b.account.User.AccountID); n != 1 {
		t.Errorf("%d forms, want the one there was", n)
	}
	if n := b.count(t, `SELECT count(*) FROM api_keys WHERE account_id = $1`, b.account.User.AccountID); n != 1 {
		t.Errorf("%d API keys, want the one there was", n)
	}
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE form_id = $1`, b.form.ID); n != 0 {
		t.Errorf("%d webhook endpoints stored", n)
	}
	if after := b.apiGet(t, path, b.account.APIKey).Body; after != before {
		t.Errorf("the form changed:\n%s\n%s", before, after)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1 AND spam`, b.form.ID); n != 0 {
		t.Errorf("the submission was marked spam")
	}
}

// An id in the path that cannot be text — a NUL, invalid UTF-8 — is a
// 4xx on every route that takes one, never a 500 (Postgres refuses such
// text outright).
func TestAPIPathIDsNotText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.post(t, b.form.PublicID, `{"email":"a@example.com"}`, "path-ids")
	for _, route := range []struct{ method, path string }{
		{"GET", "/api/v1/forms/$"}, {"PATCH", "/api/v1/forms/$"}, {"DELETE", "/api/v1/forms/$"},
		{"GET", "/api/v1/forms/$/submissions"}, {"GET", "/api/v1/forms/$/submissions.csv"}, {"GET", "/api/v1/forms/$/stats"},
		{"GET", "/api/v1/forms/$/sample"}, {"GET", "/api/v1/forms/$/webhooks"}, {"POST", "/api/v1/forms/$/webhooks"},
		{"GET", "/api/v1/submissions/$"}, {"PATCH", "/api/v1/submissions/$"}, {"DELETE", "/api/v1/submissions/$"},
		{"POST", "/api/v1/submissions/$/merge"}, {"GET", "/api/v1/submissions/$/files/x"}, {"GET", "/api/v1/submissions/" + sub + "/files/$"},
		{"DELETE", "/api/v1/apikeys/$"},
		{"GET", "/api/v1/webhooks/$"}, {"PATCH", "/api/v1/webhooks/$"}, {"DELETE", "/api/v1/webhooks/$"},
		{"POST", "/api/v1/webhooks/$/rotate"}, {"POST", "/api/v1/webhooks/$/test"}, {"GET", "/api/v1/webhooks/$/deliveries"},
		{"GET", "/api/v1/deliveries/$"}, {"POST", "/api/v1/deliveries/$/redeliver"},
		{"GET", "/f/$"}, {"POST", "/f/$"}, {"GET", "/f/$/thanks"}, {"GET", "/files/" + sub + "/$"},
	} {
		for _, bad := range []string{"%00", "%FF", "x%00y"} {
			path := strings.Replace(route.path, "$", bad, 1)
			r := b.call(t, route.method, path, []byte(`{}`), hdr("Authorization", bearer(b.account.APIKey), "Content-Type", ctJSON, "Accept", acceptJSON))
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("%s %s: %s, want a 4xx", route.method, path, r)
			}
		}
	}
}

type syncBuffer = testfactory.LockedBuffer

// A body sent too slowly ended in "503 database cannot be reached",
// logged at ERROR. It is the client's: 408 request-timeout, logged at info
// with outcome client_timeout. The server is a real http.Server whose
// ReadTimeout (as cmd/intake sets it, shorter) passes while the client,
// on a raw connection, has sent its headers and part of its body.
func TestSlowBodyIsRequestTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	logs := &syncBuffer{}
	b.api.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	slow := httptest.NewUnstartedServer(b.api.Handler())
	slow.Config.ReadTimeout = 500 * time.Millisecond
	slow.Start()
	t.Cleanup(slow.Close)

	send := func(method, path, contentType, auth, body string) (*http.Response, string) {
		t.Helper()
		conn, err := net.Dial("tcp", slow.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: intake.test\r\nContent-Type: %s\r\nAccept: application/json\r\nContent-Length: %d\r\n", method, path, contentType, len(body)+100)
		if auth != "" {
			fmt.Fprintf(conn, "Authorization: Bearer %s\r\n", auth)
		}
		io.WriteString(conn, "\r\n"+body) // and the rest never comes
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, string(out)
	}
	for _, tc := range []struct{ name, method, path, ct, auth, body, code string }{
		{"urlencoded", "POST", "/f/" + b.form.PublicID, ctForm, "", "email=slow%40example.com&message=", `"code":"REQUEST_TIMEOUT"`},
		{"JSON", "POST", "/f/" + b.form.PublicID, ctJSON, "", `{"email":"slow@example.com","message":"`, `"code":"REQUEST_TIMEOUT"`},
		{"multipart", "POST", "/f/" + b.form.PublicID, "multipart/form-data; boundary=X", "", "--X\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nslow@example.com\r\n--X\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.txt\"\r\n\r\nabc", `"code":"REQUEST_TIMEOUT"`},
		{"API", "PATCH", "/api/v1/forms/" + b.form.PublicID, ctJSON, b.account.APIKey, `{"name":"slow`, ""},
	} {
		resp, body := send(tc.method, tc.path, tc.ct, tc.auth, tc.body)
		if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(body, "https://intake.dev/problems/request-timeout") || !strings.Contains(body, tc.code) {
			t.Errorf("%s: %d %s %s, want 408 request-timeout problem+json", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if err := checkExchange(tc.method, slow.URL+tc.path, http.Header{"Content-Type": {tc.ct}, "Accept": {acceptJSON}}, nil,
			resp.StatusCode, resp.Header, []byte(body)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	out := logs.String()
	if strings.Contains(out, `"level":"ERROR"`) || strings.Contains(out, "database") {
		t.Errorf("a slow client was logged as the server's failure:\n%s", out)
	}
	if n := strings.Count(out, `"outcome":"client_timeout"`); n != 3 || !strings.Contains(out, `"status":408`) {
		t.Errorf("want three submissions refused with outcome client_timeout and status 408 in the log:\n%s", out)
	}
	if s := b.stored(t, b.form); s != (stored{}) {
		t.Errorf("stored %+v", s)
	}
	if name := b.count(t, `SELECT count(*) FROM forms WHERE id = $1 AND name LIKE 'slow%'`, b.form.ID); name != 0 {
		t.Errorf("the form was renamed")
	}
}

// A header value may hold any byte from 0x80 up. The Origin is stored in a
// spam reason when the form does not allow it: a byte that is not UTF-8
// must not fail the write (and with it the group it was written in).
func TestOriginNotText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	restricted := b.newForm(t, &testfactory.FormOpts{Settings: forms.Settings{AllowedOrigins: []string{"https://good.example"}}})
	r := b.submit(t, restricted.PublicID, ctJSON, `{"email":"x@example.com"}`, "Origin", "https://ev\xffil.example")
	if r.Status != http.StatusCreated {
		t.Fatalf("an Origin that is not UTF-8: %d %s, want 201 (stored as spam)", r.Status, r.Body)
	}
	var reason string
	if err := b.db.QueryRow(context.Background(), `SELECT spam_reason FROM submissions s JOIN forms f ON f.id = s.form_id WHERE f.public_id = $1`,
		restricted.PublicID).Scan(&reason); err != nil || reason != "origin https://ev\uFFFDil.example is not an allowed origin" {
		t.Errorf("spam reason %q (%v)", reason, err)
	}
}
