package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/submissions"
)

// A form whose submissions carry 300,000 distinct field names (bots posting
// random names) still exports: the first byte within 2 s, the contract's
// columns, the 500 names found in the most submissions, and the rest of
// each row in one _other column as a JSON object.
//
// Not parallel: the 2 s bound is the issue's, and the other tests of the
// package would share the two cores with it.
func TestExportCapsExtraColumns(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	// 600 submissions × 500 names of their own, and "plan" in every one:
	// the most frequent extra name.
	const rows, perRow = 600, 500
	if _, err := b.db.Exec(ctx, `
INSERT INTO submissions (id, form_id, contract_version, data, created_at)
SELECT gen_random_uuid(), $1, $2,
	(SELECT jsonb_object_agg('n' || lpad((i * $4 + j)::text, 6, '0'), 'v' || j) FROM generate_series(0, $4 - 1) j)
		|| jsonb_build_object('email', 'p' || i || '@example.com', 'plan', 'pro'),
	now() - i * interval '1 second'
FROM generate_series(0, $3 - 1) i`, b.form.ID, b.form.Contract.Version, rows, perRow); err != nil {
		t.Fatal(err)
	}

	req, err := http.NewRequest(http.MethodGet, b.server.URL+"/api/v1/forms/"+b.form.PublicID+"/submissions.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer(b.account.APIKey))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1)
	if _, err := resp.Body.Read(first); err != nil {
		t.Fatalf("first byte: %v", err)
	}
	firstByte := time.Since(start)
	if firstByte > 2*time.Second {
		t.Errorf("first byte after %v, want under 2 s", firstByte)
	}
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records exported: the first byte after %v, the last after %v", len(records), firstByte, time.Since(start))
	if resp.StatusCode != http.StatusOK || len(records) != rows+1 {
		t.Fatalf("export = %d with %d records, want 200 with %d", resp.StatusCode, len(records), rows+1)
	}
	header := records[0]
	header[0] = string(first) + header[0]
	if len(header) != 3+2+submissions.MaxExtraColumns+1 {
		t.Fatalf("%d columns, want 3 + the contract's 2 + %d + _other", len(header), submissions.MaxExtraColumns)
	}
	if !slices.Equal(header[:5], []string{"id", "created_at", "spam", "email", "message"}) || header[len(header)-1] != "_other" {
		t.Errorf("header starts %q and ends %q", header[:5], header[len(header)-1])
	}
	extra := header[5 : len(header)-1]
	if !slices.Contains(extra, "plan") || !slices.IsSorted(extra) {
		t.Errorf("the extra columns are not sorted or lack the most frequent name, plan: %q…", extra[:5])
	}
	// Every field of every row is in its column or in _other, once.
	seen := map[string]bool{}
	for i, rec := range records[1:] {
		var other map[string]string
		if err := json.Unmarshal([]byte(rec[len(rec)-1]), &other); err != nil {
			t.Fatalf("row %d: _other = %q: %v", i, rec[len(rec)-1], err)
		}
		n := len(other)
		for name := range other {
			if slices.Contains(extra, name) || seen[name] {
				t.Fatalf("row %d: %s in _other twice or beside its column", i, name)
			}
			seen[name] = true
		}
		for j, v := range rec[3 : len(rec)-1] {
			if v != "" {
				n++
				if h := header[3+j]; h != "email" && h != "plan" {
					seen[h] = true
				}
			}
		}
		if n != perRow+2 {
			t.Errorf("row %d: %d fields exported, want %d", i, n, perRow+2)
		}
	}
	if len(seen) != rows*perRow {
		t.Errorf("%d distinct names exported, want %d", len(seen), rows*perRow)
	}

	// NDJSON has no columns: every row whole.
	nd := b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions.ndjson", "")
	if lines := strings.Count(nd.Body, "\n"); nd.Status != 200 || lines != rows {
		t.Errorf("ndjson = %d with %d lines, want 200 with %d", nd.Status, lines, rows)
	}
}

// No cell of a CSV export runs in a spreadsheet: header names (field
// names) and file names are defused like values; plain numbers stay
// numbers.
func TestExportDefusesHeadersAndFileNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.post(t, b.form.PublicID, `{"email":"a@example.com","=HYPERLINK(\"http://evil.example\",\"x\")":"-2+3","-count":-5}`, "1")
	body, ct := multipartBody(t, [][2]string{{"email", "b@example.com"}},
		[]testFile{{Field: "attachment", Name: "@SUM(1).pdf", Content: []byte("%PDF-1.4")}})
	if r := b.submit(t, b.form.PublicID, ct, body, "Idempotency-Key", "2", "Accept", "application/json"); r.Status != http.StatusCreated && r.Status != http.StatusSeeOther {
		t.Fatalf("upload = %s", r)
	}

	r := b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions.csv", "")
	records, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := records[0]
	for _, want := range []string{`'-count`, `'=HYPERLINK("http://evil.example","x")`} {
		if !slices.Contains(header, want) {
			t.Errorf("header %q lacks %q", header, want)
		}
	}
	col := func(name string) int { return slices.Index(header, name) }
	var cells []string
	for _, rec := range records[1:] {
		for _, name := range []string{"attachment", `'=HYPERLINK("http://evil.example","x")`, "'-count"} {
			cells = append(cells, fmt.Sprintf("%s=%s", strings.Trim(name, "'"), rec[col(name)]))
		}
	}
	// A file's cell gives its name and its download route in the API.
	if !slices.ContainsFunc(cells, func(c string) bool {
		return strings.HasPrefix(c, "attachment='@SUM(1).pdf (/api/v1/submissions/sub_") && strings.Contains(c, "/files/file_") && strings.HasSuffix(c, ")")
	}) {
		t.Errorf("cells %q lack the file's name and url", cells)
	}
	for _, want := range []string{`=HYPERLINK("http://evil.example","x")='-2+3`, "-count=-5"} {
		if !slices.Contains(cells, want) {
			t.Errorf("cells %q lack %q", cells, want)
		}
	}
	for _, rec := range records {
		for _, c := range rec {
			if c != "" && strings.ContainsRune("=+@\t\r", rune(c[0])) {
				t.Errorf("cell %q would run in a spreadsheet", c)
			}
		}
	}
}
