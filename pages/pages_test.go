package pages

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/intakehq/intake/internal/testfactory"
)

func newTestPages(t *testing.T) *Pages {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// render calls page on a recorder and returns the response.
func render(t *testing.T, page func(w http.ResponseWriter, r *http.Request)) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	page(rec, httptest.NewRequest(http.MethodGet, "/f/abcdefgh", nil))
	res := rec.Result()
	return res, rec.Body.String()
}

// checkPage checks what every page must have: status, content type, the
// document frame, the hashed stylesheet, and nothing a strict CSP would block.
func checkPage(t *testing.T, p *Pages, res *http.Response, body string, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("status = %d, want %d", res.StatusCode, status)
	}
	if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	for _, want := range []string{
		"<!doctype html>",
		`<html lang="en">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<link rel="stylesheet" href="` + p.assets["intake.css"].path + `">`,
		"<main",
		"<title>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?i)\sstyle=|<style`).MatchString(body) {
		t.Error("page has an inline style")
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(body) {
		t.Error("page has an inline event handler")
	}
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("page has an inline script: %s", tag)
		}
	}
	if strings.Contains(body, "ZgotmplZ") {
		t.Error("page has a value html/template refused")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	p := newTestPages(t)
	if !regexp.MustCompile(`^/js/intake\.[0-9a-f]{8}\.js$`).MatchString(p.IntakeJSPath()) {
		t.Errorf("IntakeJSPath = %q", p.IntakeJSPath())
	}
	if !regexp.MustCompile(`^/static/intake\.[0-9a-f]{8}\.css$`).MatchString(p.assets["intake.css"].path) {
		t.Errorf("css path = %q", p.assets["intake.css"].path)
	}
}

func TestThanks(t *testing.T) {
	t.Parallel()
	p := newTestPages(t)

	t.Run("NameAndBack", func(t *testing.T) {
		t.Parallel()
		res, body := render(t, func(w http.ResponseWriter, r *http.Request) {
			p.Thanks(w, r, ThanksView{FormName: "<script>alert(1)</script>", BackURL: "https://example.com/contact?a=1&b=2"})
		})
		checkPage(t, p, res, body, http.StatusOK)
		if strings.Contains(body, "<script>alert(1)") {
			t.Error("form name is not escaped")
		}
		for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `href="https://example.com/contact?a=1&amp;b=2"`, "Back to the site", "Thank you"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("Bare", func(t *testing.T) {
		t.Parallel()
		res, body := render(t, func(w http.ResponseWriter, r *http.Request) { p.Thanks(w, r, ThanksView{}) })
		checkPage(t, p, res, body, http.StatusOK)
		if strings.Contains(body, "Back to the site") {
			t.Error("link without a BackURL")
		}
	})

	t.Run("JavaScriptURL", func(t *testing.T) {
		t.Parallel()
		_, body := render(t, func(w http.ResponseWriter, r *http.Request) {
			p.Thanks(w, r, ThanksView{BackURL: "javascript:alert(1)"})
		})
		if strings.Contains(body, "javascript:") {
			t.Error("a javascript: back URL reached the page")
		}
	})
}

func TestSubmissionErrors(t *testing.T) {
	t.Parallel()
	p := newTestPages(t)
	errs := []FieldError{
		{Field: "email", Label: "Your email", Message: "email must be a valid email address"},
		{Field: "<b>msg</b>", Message: "message is required"},
	}

	t.Run("WithBack", func(t *testing.T) {
		t.Parallel()
		res, body := render(t, func(w http.ResponseWriter, r *http.Request) {
			p.SubmissionErrors(w, r, ErrorsView{FormName: "<script>", Errors: errs, BackURL: "https://example.com/contact"})
		})
		checkPage(t, p, res, body, http.StatusUnprocessableEntity)
		for _, want := range []string{
			"&lt;script&gt;",
			"<strong>Your email</strong>: email must be a valid email address",
			"<strong>&lt;b&gt;msg&lt;/b&gt;</strong>: message is required", // label falls back to the field name
			`href="https://example.com/contact"`,
			`role="alert"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(body, "<script>") {
			t.Error("form name is not escaped")
		}
	})

	t.Run("WithoutBack", func(t *testing.T) {
		t.Parallel()
		res, body := render(t, func(w http.ResponseWriter, r *http.Request) {
			p.SubmissionErrors(w, r, ErrorsView{Errors: errs[:1]})
		})
		checkPage(t, p, res, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, "Back button") {
			t.Error("no Back button hint without a BackURL")
		}
		if strings.Contains(body, "Back to the form") {
			t.Error("link without a BackURL")
		}
	})
}

func TestError(t *testing.T) {
	t.Parallel()
	p := newTestPages(t)
	tests := []struct {
		status     int
		view       ErrorView
		wantStatus int
		want       []string
	}{
		{http.StatusNotFound, ErrorView{Title: "Form not found", Message: "There is no form <here>.", Hint: "Check the link.", BackURL: "/"}, 404,
			[]string{"<h1>Form not found</h1>", "There is no form &lt;here&gt;.", "Check the link.", `href="/"`, "Error 404"}},
		{http.StatusGone, ErrorView{Title: "This form is closed"}, 410, []string{"This form is closed"}},
		{http.StatusRequestEntityTooLarge, ErrorView{}, 413, []string{"<h1>Request Entity Too Large</h1>"}},
		{http.StatusUnsupportedMediaType, ErrorView{}, 415, []string{"Unsupported Media Type"}},
		{http.StatusBadRequest, ErrorView{}, 400, []string{"Bad Request"}},
		{http.StatusConflict, ErrorView{}, 409, []string{"Conflict"}},
		{http.StatusTooManyRequests, ErrorView{}, 429, []string{"Too Many Requests"}},
		{http.StatusServiceUnavailable, ErrorView{Title: "<script>"}, 503, []string{"&lt;script&gt;"}},
		{0, ErrorView{}, 500, []string{"Internal Server Error"}},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.wantStatus), func(t *testing.T) {
			t.Parallel()
			res, body := render(t, func(w http.ResponseWriter, r *http.Request) { p.Error(w, r, tt.status, tt.view) })
			checkPage(t, p, res, body, tt.wantStatus)
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if tt.view.BackURL == "" && strings.Contains(body, "Go back") {
				t.Error("link without a BackURL")
			}
		})
	}

	t.Run("KeepsCallerHeaders", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		rec.Header().Set("Retry-After", "5")
		p.Error(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusServiceUnavailable, ErrorView{})
		if rec.Code != 503 || rec.Header().Get("Retry-After") != "5" {
			t.Errorf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
	})
}

func TestHostedForm(t *testing.T) {
	t.Parallel()
	p := newTestPages(t)
	fields := []FormField{
		{Name: "name", Label: "Your name", Type: "text", Required: true},
		{Name: "email", Type: "email", Required: true},
		{Name: "age", Type: "number"},
		{Name: "site", Type: "url"},
		{Name: "phone", Type: "tel"},
		{Name: "day", Type: "date"},
		{Name: "message", Label: "Message", Type: "textarea", Required: true},
		{Name: "topic", Type: "select", Required: true, Options: []string{"Sales", "R&D"}},
		{Name: "colors", Type: "checkbox", Options: []string{"red", "blue"}},
		{Name: "consent", Label: "I agree", Type: "checkbox", Required: true},
		{Name: "source", Type: "hidden"},
		{Name: "cv", Type: "file"},
		{Name: "<x>", Type: "mystery"},
	}

	t.Run("EveryType", func(t *testing.T) {
		t.Parallel()
		res, body := render(t, func(w http.ResponseWriter, r *http.Request) {
			p.HostedForm(w, r, FormView{FormID: "abcdefgh", Name: "<script>Contact</script>", Action: "/f/abcdefgh", Fields: fields, HoneypotField: "_gotcha"})
		})
		checkPage(t, p, res, body, http.StatusOK)
		for _, want := range []string{
			`<form class="form" method="post" action="/f/abcdefgh" enctype="multipart/form-data" data-intake`,
			`<script src="` + p.IntakeJSPath() + `" defer></script>`,
			"&lt;script&gt;Contact&lt;/script&gt;",
			`<label for="field-1">Your name</label>`,
			`<input type="text" id="field-1" name="name" required>`,
			`<input type="email" id="field-2" name="email" required>`,
			`<input type="number" id="field-3" name="age" step="any">`,
			`<input type="url" id="field-4" name="site">`,
			`<input type="tel" id="field-5" name="phone">`,
			`<input type="date" id="field-6" name="day">`,
			`<label for="field-2">email</label>`, // required: no "(optional)"
			`<label for="field-3">age <span class="optional">(optional)</span></label>`,
			`<textarea id="field-7" name="message" rows="6" required></textarea>`,
			`<select id="field-8" name="topic" required>`,
			`<option value="">Choose…</option>`,
			"<option>Sales</option>",
			"<option>R&amp;D</option>",
			"<legend>colors <span",
			`<input type="checkbox" id="field-9-1" name="colors" value="red">`,
			`<label for="field-9-1">red</label>`,
			`<input type="checkbox" id="field-9-2" name="colors" value="blue">`,
			`<input type="checkbox" id="field-10" name="consent" value="on" required>`,
			`<label for="field-10">I agree</label>`,
			`<input type="hidden" name="source">`,
			`<input type="file" id="field-12" name="cv">`,
			`<input type="text" id="field-13" name="&lt;x&gt;">`,
			`<div class="hp" aria-hidden="true">`,
			`<input type="text" id="intake-hp" name="_gotcha" tabindex="-1" autocomplete="off">`,
			`<button type="submit"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("form lacks %q", want)
			}
		}
		if strings.Contains(body, `<label for="field-2">email <span class="optional">`) {
			t.Error("a required field is marked optional")
		}
		if strings.Contains(body, "_idempotency_key") {
			t.Error("the page renders the key field; intake.js adds it")
		}
	})

	t.Run("URLEncodedWithoutFile", func(t *testing.T) {
		t.Parallel()
		res, body := render(t, func(w http.ResponseWriter, r *http.Request) {
			p.HostedForm(w, r, FormView{Action: "https://intake.example/f/abcdefgh", Fields: fields[:2]})
		})
		checkPage(t, p, res, body, http.StatusOK)
		if !strings.Contains(body, `action="https://intake.example/f/abcdefgh" enctype="application/x-www-form-urlencoded" data-intake`) {
			t.Error("form without a file field is not urlencoded")
		}
		if strings.Contains(body, "multipart") || strings.Contains(body, `class="hp"`) {
			t.Error("multipart or honeypot without cause")
		}
		if strings.Contains(body, "captcha") {
			t.Error("a CAPTCHA widget without cause")
		}
	})

	// A form with a CAPTCHA shows its provider's widget with the site key;
	// the widget's script fills the token field the form then sends.
	for _, tc := range []struct{ provider, script, element string }{
		{"turnstile", `<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>`, `<div class="cf-turnstile" data-sitekey="0x4AAAAAAAkey"></div>`},
		{"hcaptcha", `<script src="https://js.hcaptcha.com/1/api.js" async defer></script>`, `<div class="h-captcha" data-sitekey="0x4AAAAAAAkey"></div>`},
		{"recaptcha", `<script src="https://www.google.com/recaptcha/api.js" async defer></script>`, `<div class="g-recaptcha" data-sitekey="0x4AAAAAAAkey"></div>`},
	} {
		t.Run("Captcha-"+tc.provider, func(t *testing.T) {
			t.Parallel()
			res, body := render(t, func(w http.ResponseWriter, r *http.Request) {
				p.HostedForm(w, r, FormView{Action: "/f/abcdefgh", Fields: fields[:2], Captcha: CaptchaWidget{Provider: tc.provider, SiteKey: "0x4AAAAAAAkey"}})
			})
			checkPage(t, p, res, body, http.StatusOK)
			head, content, _ := strings.Cut(body, "</head>")
			if !strings.Contains(head, tc.script) {
				t.Errorf("head lacks %s", tc.script)
			}
			if form := content[strings.Index(content, "<form"):strings.Index(content, "</form>")]; !strings.Contains(form, tc.element) {
				t.Errorf("form lacks %s", tc.element)
			}
		})
	}
}

func TestStatic(t *testing.T) {
	t.Parallel()
	p := newTestPages(t)
	js, css := p.IntakeJSPath(), p.assets["intake.css"].path
	jsETag := `"` + p.assets["intake.js"].hash + `"`
	const (
		jsType  = "text/javascript; charset=utf-8"
		cssType = "text/css; charset=utf-8"
	)
	tests := []struct {
		name        string
		method      string
		path        string
		ifNoneMatch string
		status      int
		ctype       string
		cache       string
	}{
		{"Alias", "GET", "/js/intake.js", "", 200, jsType, "public, max-age=300"},
		{"HashedJS", "GET", js, "", 200, jsType, "public, max-age=31536000, immutable"},
		{"HashedCSS", "GET", css, "", 200, cssType, "public, max-age=31536000, immutable"},
		{"Head", "HEAD", js, "", 200, jsType, "public, max-age=31536000, immutable"},
		{"NotModified", "GET", js, jsETag, 304, "", "public, max-age=31536000, immutable"},
		{"NotModifiedAlias", "GET", "/js/intake.js", `W/"x", ` + jsETag, 304, "", "public, max-age=300"},
		{"OtherETag", "GET", js, `"00000000"`, 200, jsType, "public, max-age=31536000, immutable"},
		{"WrongHash", "GET", "/js/intake.00000000.js", "", 404, "", ""},
		{"WrongCSSHash", "GET", "/static/intake.00000000.css", "", 404, "", ""},
		{"CSSUnderJS", "GET", strings.Replace(css, "/static/", "/js/", 1), "", 404, "", ""},
		{"Unhashed", "GET", "/static/intake.css", "", 404, "", ""},
		{"Post", "POST", js, "", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tt.ifNoneMatch)
			}
			rec := httptest.NewRecorder()
			p.Static().ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.ctype != "" && rec.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), tt.ctype)
			}
			if tt.cache != "" && rec.Header().Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", rec.Header().Get("Cache-Control"), tt.cache)
			}
			if tt.status == 200 || tt.status == 304 {
				wantETag := `"` + p.routes[tt.path].asset.hash + `"`
				if rec.Header().Get("ETag") != wantETag {
					t.Errorf("ETag = %q, want %q", rec.Header().Get("ETag"), wantETag)
				}
			}
			switch {
			case tt.status == 200 && tt.method == "GET":
				if rec.Body.String() != string(p.routes[tt.path].asset.body) {
					t.Error("body is not the file")
				}
			case tt.status == 304 || tt.method == "HEAD":
				if rec.Body.Len() != 0 {
					t.Error("body on a 304 or HEAD")
				}
			}
		})
	}
}

func TestNewChecksFiles(t *testing.T) {
	t.Parallel()

	t.Run("Copy", func(t *testing.T) {
		t.Parallel()
		if _, err := newPages(testfactory.CopyFS(t, embedded)); err != nil {
			t.Fatalf("newPages of an unchanged copy: %v", err)
		}
	})

	tests := []struct {
		name    string
		change  func(fstest.MapFS)
		wantErr string
	}{
		{"UnusedStatic", func(m fstest.MapFS) { m["static/old.css"] = &fstest.MapFile{Data: []byte("p{}")} }, "static/old.css is not used"},
		{"UnusedTemplate", func(m fstest.MapFS) {
			m["templates/old.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}x{{end}}`)}
		}, "templates/old.html is not used"},
		{"BrokenTemplate", func(m fstest.MapFS) {
			m["templates/thanks.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}{{if}}{{end}}`)}
		}, "parse thanks.html"},
		{"MissingBlock", func(m fstest.MapFS) {
			m["templates/thanks.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}`)}
		}, `thanks.html does not define "content"`},
		{"MissingAsset", func(m fstest.MapFS) {
			m["templates/error.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}<img src="{{asset "logo.svg"}}" alt="">{{end}}`)}
		}, `uses asset "logo.svg"`},
		{"MissingPage", func(m fstest.MapFS) { delete(m, "templates/form.html") }, "form.html"},
		{"MissingIntakeJS", func(m fstest.MapFS) { delete(m, "static/intake.js") }, "static/intake.js is missing"},
		// Was web's TestNewDashboardChecksTemplates/MissingAsset ("uses asset
		// dashboard.js"): the file now lives here, and New misses it first.
		{"MissingDashboardJS", func(m fstest.MapFS) { delete(m, "static/dashboard.js") }, "static/dashboard.js is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testfactory.CopyFS(t, embedded)
			tt.change(m)
			_, err := newPages(m)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("newPages error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	t.Run("AssetUsedInsideBranches", func(t *testing.T) {
		t.Parallel()
		m := testfactory.CopyFS(t, embedded)
		m["static/logo.css"] = &fstest.MapFile{Data: []byte("p{}")}
		m["templates/error.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}{{if .Status}}{{range $i := .Status}}<link rel="stylesheet" href="{{(asset "logo.css")}}">{{end}}{{end}}{{end}}`)}
		if _, err := newPages(m); err != nil {
			t.Fatalf("newPages: %v", err)
		}
	})
}

// TestIntakeJSSyntax checks that intake.js parses, when node is installed.
func TestIntakeJSSyntax(t *testing.T) {
	t.Parallel()
	runNode(t, "--check", "static/intake.js")
}

// TestDashboardJSSyntax checks that dashboard.js parses, when node is installed.
func TestDashboardJSSyntax(t *testing.T) {
	t.Parallel()
	runNode(t, "--check", "static/dashboard.js")
}

// TestIntakeJSBehaviour runs testdata/intake_test.cjs, which drives intake.js
// on a small fake DOM: one key per intent, the lock, and what each kind of
// answer does to the key and the form.
func TestIntakeJSBehaviour(t *testing.T) {
	t.Parallel()
	runNode(t, "testdata/intake_test.cjs", "static/intake.js")
}

// runNode runs node with args, skipping the test when node is not on PATH.
func runNode(t *testing.T, args ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		// CI sets INTAKE_REQUIRE_BROWSER: there a missing JS runtime is a failure.
		if os.Getenv("INTAKE_REQUIRE_BROWSER") != "" {
			t.Fatal("node is not on PATH and INTAKE_REQUIRE_BROWSER is set")
		}
		t.Skip("node is not on PATH")
	}
	out, err := exec.Command(node, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// /favicon.ico is an icon a browser reads: an ICO whose one 32×32 image is
// a PNG that decodes.
func TestFavicon(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Favicon(rec, httptest.NewRequest("GET", "/favicon.ico", nil))
	b := rec.Body.Bytes()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/x-icon" || len(b) < 22 ||
		!bytes.Equal(b[:6], []byte{0, 0, 1, 0, 1, 0}) || b[6] != 32 || b[7] != 32 {
		t.Fatalf("favicon: %d %q, header % x", rec.Code, rec.Header().Get("Content-Type"), b[:min(len(b), 22)])
	}
	img, err := png.Decode(bytes.NewReader(b[22:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("the icon's image: %v %v", img, err)
	}
}
