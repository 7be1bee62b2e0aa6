package testfactory

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// Endpoint adds a webhook endpoint to form that may point at loopback (a
// Receiver), checks that its secret is stored sealed, and returns it with
// Secret in clear, as the receiver holds it.
func Endpoint(t testing.TB, db *pgxpool.Pool, s *seal.Sealer, form *forms.Form, url string, includeSpam bool) *webhooks.Endpoint {
	t.Helper()
	e, secret, err := webhooks.Create(context.Background(), db, s, webhooks.URLPolicy{AllowPrivate: true}, audit.System, form, webhooks.Input{URL: &url, IncludeSpam: &includeSpam})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Secret, "sealed:v1:") || strings.Contains(e.Secret, secret[6:]) {
		t.Fatalf("the stored secret is not sealed: %q", e.Secret)
	}
	e.Secret = secret
	return e
}

// Submit sends fields as JSON to form formID through svc with the
// idempotency key key, from 192.0.2.1.
func Submit(t testing.TB, svc *submissions.Service, formID, key string, fields map[string]any) *submissions.Result {
	t.Helper()
	body, _ := json.Marshal(fields)
	p, err := submissions.Parse("application/json", bytes.NewReader(body), submissions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Accept(context.Background(), submissions.Request{
		FormID: formID, Payload: p, Key: key, IP: "192.0.2.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// SubmitFile sends a multipart submission with the email and one file
// (name, content) in field to form formID through svc with the key.
func SubmitFile(t testing.TB, svc *submissions.Service, formID, key, email, field, name string, content []byte) *submissions.Result {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("email", email)
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	p, err := submissions.Parse(mw.FormDataContentType(), &buf, submissions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Accept(context.Background(), submissions.Request{FormID: formID, Payload: p, Key: key, IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Settle waits until no job but the periodic sweep is left to run (or
// t's patience, 20 s, ends).
func Settle(t testing.TB, db *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var open int
		err := db.QueryRow(context.Background(), `SELECT count(*) FROM river_job
WHERE state NOT IN ('completed', 'cancelled', 'discarded') AND kind <> 'idempotency.sweep'`).Scan(&open)
		if err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("jobs did not settle within 20 s")
}

// Count runs sql, a count, and returns it.
func Count(t testing.TB, db *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// AttachFile stores a file "cv.pdf" (the bytes "abc") under field cv of
// the submission sub (a public id), as a multipart post would, and
// returns its file id: the route tables' {file_id}.
func AttachFile(t testing.TB, db *pgxpool.Pool, sub string) string {
	t.Helper()
	id, err := submissions.ParseID(sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), `INSERT INTO submission_files (submission_id, field, position, filename, content_type, size, sha256, content)
VALUES ($1, 'cv', 0, 'cv.pdf', 'application/pdf', 3, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'abc')`, id); err != nil {
		t.Fatal(err)
	}
	return (&submissions.StoredFile{Field: "cv", Position: 0}).FileID(id)
}
