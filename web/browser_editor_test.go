package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// editorHeightBefore is the new-form page's height at 1280×800 when every
// setting was inline (measured in Chromium before "Advanced" existed);
// editorHeightMax is what the page may grow to now, well under half.
const (
	editorHeightBefore = 5372
	editorHeightMax    = 2400
)

// testEditorAdvanced: the new-form page shows the essentials (name,
// fields, notification emails, redirect address) with every other setting
// in a closed "Advanced", so the page is much shorter; a mistake inside
// Advanced comes back with it open, the error beside its input and linked
// from the summary.
func testEditorAdvanced(t *testing.T, tb *tab) {
	a := newApp(t)
	tb.do(chromedp.Navigate(a.url("/login")))
	tb.typeInto("#email", a.account.User.Email)
	tb.typeInto("#password", "correct horse battery")
	tb.submitAndWait(`form[action="/login"] button[type=submit]`)
	tb.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
	tb.do(chromedp.Navigate(a.url("/forms/new")))
	tb.waitVisible("#name")
	tb.screenshots("dash-form-new-essentials")

	height := evalJS[int](tb, `document.documentElement.scrollHeight`)
	t.Logf("the new-form page is %d px tall at %d px wide (it was %d)", height, desktopWidth, editorHeightBefore)
	if height > editorHeightMax {
		t.Errorf("the new-form page is %d px tall, want at most %d (it was %d with every setting inline)", height, editorHeightMax, editorHeightBefore)
	}
	// checkVisibility, since a closed details hides its content with
	// content-visibility, which leaves client rects in place.
	visible := `(sel) => { const el = document.querySelector(sel); return !!el && el.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true}); }`
	for _, sel := range []string{"#name", "#f0-name", "#f1-name", "#add-field", "#s-notify_emails", "#s-redirect_url", "details.advanced > summary"} {
		if !evalJS[bool](tb, "("+visible+")("+jsString(sel)+")") {
			t.Errorf("%s is not visible on the new-form page", sel)
		}
	}
	if evalJS[bool](tb, `document.querySelector("details.advanced").open`) {
		t.Error("Advanced is open on a new form")
	}
	for _, sel := range []string{"#s-min_fill_seconds", "#s-autoresponse-enabled", "#s-implicit_dedupe_window", "#s-captcha-provider"} {
		if evalJS[bool](tb, "("+visible+")("+jsString(sel)+")") {
			t.Errorf("%s is visible with Advanced closed", sel)
		}
	}

	// Open Advanced: words of the machinery are not shown to someone
	// making a contact form, there either.
	tb.click("details.advanced > summary")
	tb.waitVisible("#s-min_fill_seconds")
	text := strings.ToLower(evalJS[string](tb, `document.querySelector("main").innerText`))
	for _, word := range []string{"idempotency", "contract", "implicit", "dedupe", "keyless", "pkg.go.dev"} {
		if strings.Contains(text, word) {
			t.Errorf("the new-form page says %q", word)
		}
	}
	if !strings.Contains(text, "repeated sends") {
		t.Errorf("the open Advanced does not show its settings: %q", text)
	}

	// Get the minimum fill time wrong, create: the page comes back with
	// Advanced open and the error beside the input.
	evalJS[any](tb, `document.getElementById("s-min_fill_seconds").value = "soon"`)
	tb.submitAndWait(`.sticky-actions button[name=op][value=save]`)
	tb.waitVisible("#error-summary")
	if !evalJS[bool](tb, `document.querySelector("details.advanced").open`) {
		t.Error("Advanced is closed although an error is inside it")
	}
	if got := tb.text("#s-min_fill_seconds-error"); got != "Minimum time to fill in: write a number of seconds, such as 3 or 2.5, or 0 to turn it off." {
		t.Errorf("the error beside the input says %q", got)
	}
	if !evalJS[bool](tb, "("+visible+")("+jsString("#s-min_fill_seconds-error")+")") {
		t.Error("the error inside Advanced is not visible")
	}
	if href := evalJS[string](tb, `document.querySelector("#error-summary a").getAttribute("href")`); href != "#s-min_fill_seconds" {
		t.Errorf("the summary links to %q", href)
	}
	tb.screenshots("dash-form-new-advanced-error")

	// An error outside Advanced leaves it closed.
	evalJS[any](tb, `document.getElementById("s-min_fill_seconds").value = "3"`)
	evalJS[any](tb, `document.getElementById("s-redirect_url").value = "example.com/thanks"`)
	tb.submitAndWait(`.sticky-actions button[name=op][value=save]`)
	tb.waitVisible("#s-redirect_url-error")
	if evalJS[bool](tb, `document.querySelector("details.advanced").open`) {
		t.Error("Advanced is open for an error outside it")
	}
}
