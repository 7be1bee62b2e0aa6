package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// A submission's page lists its files: each a download link, an image
// (png, jpeg, gif, webp) with a preview too; an SVG, which can carry
// script, only downloads, even when its preview is asked for. A viewer
// may download; another form's path to the file finds nothing.
func TestDashboardSubmissionFiles(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	sub := b.submit(t, b.form, `{"email":"files@example.com"}`)
	id, err := submissions.ParseID(sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(ctx, `INSERT INTO submission_files (submission_id, field, position, filename, content_type, size, sha256, content) VALUES
($1, 'photo', 0, 'me.png', 'image/png', 4, 'aa', '\x89504e47'),
($1, 'logo', 0, 'logo.svg', 'image/svg+xml', 31, 'bb', convert_to('<svg onload="alert(1)"></svg>  ', 'UTF8'))`, id); err != nil {
		t.Fatal(err)
	}
	png := (&submissions.StoredFile{Field: "photo"}).FileID(id)
	svg := (&submissions.StoredFile{Field: "logo"}).FileID(id)
	base := "/forms/" + b.form.PublicID + "/submissions/" + sub

	viewer := testfactory.MemberWithPassword(ctx, t, b.db, b.acct.User.AccountID, accounts.RoleViewer, "files-viewer@example.com", testPassword)
	br := b.browser(t)
	br.login(t, viewer.Email, testPassword)
	page := html.UnescapeString(br.get(t, base).Body)
	wantContains(t, "the submission's page", page, `href="`+base+`/files/`+png+`" download>me.png</a>`, `src="`+base+`/files/`+png+`?inline=1"`,
		`href="`+base+`/files/`+svg+`" download>logo.svg</a>`, "4 bytes")
	if strings.Contains(page, svg+`?inline=1`) {
		t.Error("an SVG is previewed in the page")
	}

	for name, c := range map[string]struct{ path, ctype, disposition string }{
		"png download":        {base + "/files/" + png, "application/octet-stream", "attachment"},
		"png preview":         {base + "/files/" + png + "?inline=1", "image/png", "inline"},
		"svg preview refused": {base + "/files/" + svg + "?inline=1", "application/octet-stream", "attachment"},
	} {
		a := br.get(t, c.path)
		if a.Status != http.StatusOK || a.Header.Get("Content-Type") != c.ctype || !strings.HasPrefix(a.Header.Get("Content-Disposition"), c.disposition+";") ||
			a.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(a.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: %d %v", name, a.Status, a.Header)
		}
	}
	if a := br.get(t, base+"/files/"+svg); !strings.Contains(a.Body, "onload") {
		t.Errorf("the SVG's download is not its bytes: %q", a.Body)
	}
	// Under another of the account's forms the file is not found.
	other := testfactory.NewForm(ctx, t, b.db, b.acct.User.AccountID, &testfactory.FormOpts{Name: "Other"})
	wantStatus(t, "another form's path", br.get(t, "/forms/"+other.PublicID+"/submissions/"+sub+"/files/"+png), http.StatusNotFound)
	wantStatus(t, "a made-up file", br.get(t, base+"/files/file_aaaaaaaaaaaaaaaa"), http.StatusNotFound)
}
