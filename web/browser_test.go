package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// TestBrowser drives the hosted pages and intake.js in headless Chromium
// against a real server and database. Each subtest is one person's story
// and ends by counting what Postgres holds. One browser serves every
// subtest, each in a tab and browser context of its own.
func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, tb *tab)
	}{
		{"HostedFormDoubleClick", testHostedFormDoubleClick},
		{"HostedFormEnterTwice", testHostedFormEnterTwice},
		{"CustomerSiteDoubleClick", testCustomerSiteDoubleClick},
		{"ReloadKeepsKey", testReloadKeepsKey},
		{"BackAfterSuccess", testBackAfterSuccess},
		{"NoScript", testNoScript},
		{"ValidationError", testValidationError},
		{"NoScriptValidationPage", testNoScriptValidationPage},
		{"MinFillTime", testMinFillTime},
		{"Dashboard", testDashboard},
		{"DashboardSnippets", testDashboardSnippets},
		{"DashboardTimes", testDashboardTimes},
		{"Members", testMembers},
		{"Inbox", testInbox},
		{"Branding", testBranding},
		{"EditorAdvanced", testEditorAdvanced},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newTab(t, browser))
		})
	}
}

// jane is what the person types.
var jane = map[string]string{
	"email":   "jane@example.com",
	"name":    "Jane Doe",
	"message": "Hello from a real browser.\nSecond line, with ünïcödé.",
}

// janeStored is jane as Intake stores it: a browser sends a textarea's line
// breaks as CRLF (HTML's form submission rules), and Intake keeps the data
// as sent.
var janeStored = map[string]string{
	"email":   jane["email"],
	"name":    jane["name"],
	"message": strings.ReplaceAll(jane["message"], "\n", "\r\n"),
}

// sendButton is the hosted form's submit button.
const sendButton = `form[data-intake] button[type=submit]`

// testHostedFormDoubleClick: a person fills the hosted form and
// double-clicks Send. intake.js locks the form on the first click, so one
// request leaves; one submission and one key are stored, with what was
// typed, and the person lands on the thank-you page.
func testHostedFormDoubleClick(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")
	tb.do(chromedp.Navigate(a.url("/f/" + f.PublicID)))
	tb.waitVisible(sendButton)
	tb.screenshots("hosted-form")
	tb.do(setDarkMode(true))
	tb.screenshot("hosted-form-dark-desktop")
	tb.do(setDarkMode(false))

	tb.fill(jane)
	tb.doubleClick(sendButton)
	tb.waitPath("/f/" + f.PublicID + "/thanks")
	if h1 := tb.text("h1"); h1 != "Thank you" {
		t.Errorf("thank-you page h1 = %q", h1)
	}
	if lead := tb.text(".lead"); !strings.Contains(lead, "Contact us") {
		t.Errorf("thank-you page says %q, want the form's name", lead)
	}
	tb.screenshots("thanks")

	key := checkOnce(t, a, f, janeStored)
	if strings.HasPrefix(key, "auto:") {
		t.Errorf("key %q is the server's implicit one; intake.js should have sent its own", key)
	}
	if posts := a.postsSeen(); len(posts) != 1 || posts[0].Status != http.StatusCreated || posts[0].Key != key {
		t.Errorf("POSTs to /f/ = %+v, want one 201 with key %s: intake.js locks the form on the first click", posts, key)
	}
}

// testHostedFormEnterTwice: Enter pressed twice, fast, in a field submits
// once.
func testHostedFormEnterTwice(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")
	tb.do(chromedp.Navigate(a.url("/f/" + f.PublicID)))
	tb.waitVisible(sendButton)
	tb.fill(jane)
	evalJS[any](tb, jsQuery(`form [name="name"]`)+".focus()")
	tb.do(chromedp.KeyEvent("\r\r"))
	tb.waitPath("/f/" + f.PublicID + "/thanks")

	checkOnce(t, a, f, janeStored)
	if posts := a.postsSeen(); len(posts) != 1 || posts[0].Status != http.StatusCreated {
		t.Errorf("POSTs to /f/ = %+v, want one 201: intake.js locks the form on the first Enter", posts)
	}
}

// testCustomerSiteDoubleClick: the form lives on a customer's site, another
// origin, and loads intake.js from Intake, as the dashboard's snippet tells
// customers to. A double click sends one cross-origin request (preflight and
// CORS answered), one submission is stored, not as spam, and the person
// lands on Intake's thank-you page.
func testCustomerSiteDoubleClick(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Contact</title>
<script src="%s" defer></script></head>
<body><h1>Write to us</h1>
<form method="post" action="%s" data-intake>
<label>Email <input type="email" name="email" required></label>
<label>Name <input type="text" name="name"></label>
<label>Message <textarea name="message"></textarea></label>
<button type="submit">Send</button>
</form></body></html>`, html.EscapeString(a.url("/js/intake.js")), html.EscapeString(a.url("/f/"+f.PublicID)))
	}))
	t.Cleanup(site.Close)

	tb.do(chromedp.Navigate(site.URL + "/contact"))
	tb.waitFor("intake.js", `typeof window.Intake === "object"`)
	tb.fill(jane)
	tb.doubleClick(`form[data-intake] button`)
	tb.waitPath("/f/" + f.PublicID + "/thanks")

	checkOnce(t, a, f, janeStored)
	if posts := a.postsSeen(); len(posts) != 1 || posts[0].Status != http.StatusCreated {
		t.Errorf("POSTs to /f/ = %+v, want one 201", posts)
	}
}

// proxied is one answer of Intake that went through the test's proxy.
type proxied struct {
	Key      string // Idempotency-Key sent
	Status   int
	Replayed bool   // Idempotent-Replayed: true
	ID       string // the submission id in the JSON body
}

// testReloadKeepsKey: the answer to the first submit is lost — Intake took
// the submission, but the proxy in front of it holds the answer back — and
// the person reloads the page and sends again. intake.js kept the key in
// sessionStorage across the reload, so the second request is answered with
// a replay of the first: one submission.
func testReloadKeepsKey(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")

	// A customer's page with the form, posting through a proxy to /f/.
	a.site.HandleFunc("GET /site/contact", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Contact</title>
<script src="/js/intake.js" defer></script></head>
<body><h1>Write to us</h1>
<form method="post" action="/proxy/f/%s" data-intake>
<label>Email <input type="email" name="email" required></label>
<label>Name <input type="text" name="name"></label>
<label>Message <textarea name="message"></textarea></label>
<button type="submit">Send</button>
</form><footer>A customer's site</footer></body></html>`, html.EscapeString(f.PublicID))
	})
	var (
		mu       sync.Mutex
		answers  []proxied
		taken    = make(chan struct{}) // the first request was answered by Intake
		released = make(chan struct{}) // the browser gave up on the first request
	)
	a.site.HandleFunc("POST /proxy/f/{id}", func(w http.ResponseWriter, r *http.Request) {
		// Intake finishes the request even when the browser goes away.
		in := r.Clone(context.WithoutCancel(r.Context()))
		in.URL.Path, in.RequestURI = "/f/"+r.PathValue("id"), ""
		rec := httptest.NewRecorder()
		a.intake.ServeHTTP(rec, in)
		var body struct{ ID string }
		json.Unmarshal(rec.Body.Bytes(), &body)
		mu.Lock()
		answers = append(answers, proxied{Key: r.Header.Get("Idempotency-Key"), Status: rec.Code,
			Replayed: rec.Header().Get("Idempotent-Replayed") == "true", ID: body.ID})
		n := len(answers)
		mu.Unlock()
		if n == 1 {
			// The answer is lost on its way back: hold it until the
			// reload makes the browser give up on the request.
			close(taken)
			select {
			case <-r.Context().Done():
				close(released)
			case <-time.After(waitTimeout):
			}
			return
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})

	tb.do(chromedp.Navigate(a.url("/site/contact")))
	tb.waitVisible(`form[data-intake] button`)
	tb.fill(jane)
	tb.click(`form[data-intake] button`)
	select {
	case <-taken:
	case <-tb.ctx.Done():
		t.Fatal("the first submit never reached the proxy")
	}
	if s := a.stored(t, f); s.Submissions != 1 {
		t.Fatalf("after the first submit: %+v, want it taken", s)
	}
	if state := evalJS[string](tb, `document.querySelector("form").getAttribute("data-intake-state") || ""`); state != "sending" {
		t.Errorf("form state while the answer is out = %q, want sending", state)
	}
	before := intakeStorage(tb)

	tb.do(chromedp.Reload())
	select {
	case <-released:
	case <-time.After(waitTimeout):
		t.Error("the reload did not abort the first request")
	}
	tb.waitVisible(`form[data-intake] button`)
	after := intakeStorage(tb)
	if len(before) != 1 || fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("sessionStorage before the reload %v, after %v: want the same one key", before, after)
	}
	var key string
	for _, v := range before {
		key = v
	}

	tb.fill(jane) // the person types it again
	tb.click(`form[data-intake] button`)
	tb.waitPath("/f/" + f.PublicID + "/thanks")

	mu.Lock()
	got := append([]proxied(nil), answers...)
	mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("proxy saw %d requests, want 2: %+v", len(got), got)
	}
	first, second := got[0], got[1]
	if first.Status != http.StatusCreated || first.Replayed || first.ID == "" {
		t.Errorf("first answer %+v, want a fresh 201 with an id", first)
	}
	if second.Status != http.StatusCreated || !second.Replayed || second.ID != first.ID {
		t.Errorf("second answer %+v, want 201 with Idempotent-Replayed: true and id %s", second, first.ID)
	}
	if first.Key != key || second.Key != key {
		t.Errorf("keys sent %q then %q, want %q from sessionStorage both times", first.Key, second.Key, key)
	}
	if stored := checkOnce(t, a, f, janeStored); stored != key {
		t.Errorf("stored key %q, want %q", stored, key)
	}
	left := intakeStorage(tb)
	for k := range left {
		if strings.HasPrefix(k, "intake:answered:") {
			delete(left, k) // the answered key, kept for a Back and Send again
		}
	}
	if len(left) != 0 {
		t.Errorf("sessionStorage after the answer arrived: %v, want the intent ended", left)
	}
}

// testBackAfterSuccess: after the thank-you page the person goes Back to
// the hosted form, which Chromium restores from its back-forward cache as
// it was left: locked, mid-redirect. intake.js releases and empties it on
// pageshow, and a new message is a new submission under a new key.
func testBackAfterSuccess(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")
	tb.do(chromedp.Navigate(a.url("/f/" + f.PublicID)))
	tb.fill(jane)
	evalJS[any](tb, `window.__intakeTestLeft = true`) // survives only in the back-forward cache
	tb.click(sendButton)
	tb.waitPath("/f/" + f.PublicID + "/thanks")

	tb.do(historyBack())
	tb.waitPath("/f/" + f.PublicID)
	tb.waitVisible(sendButton)
	cached := evalJS[bool](tb, `window.__intakeTestLeft === true`)
	t.Logf("restored from the back-forward cache: %v", cached)
	st := evalJS[fieldState](tb, fieldStateJS)
	if st.ButtonLocked || st.Busy != "" || st.ButtonText != "Send" {
		t.Errorf("form after Back: button %q disabled %v, aria-busy %q; want it released", st.ButtonText, st.ButtonLocked, st.Busy)
	}
	if email := evalJS[string](tb, jsQuery(`[name="email"]`)+".value"); cached && email != "" {
		t.Errorf("email after Back = %q, want the answered form emptied", email)
	}

	bob := map[string]string{"email": "bob@example.com", "name": "Bob", "message": "A second, different message."}
	tb.fill(bob)
	tb.click(sendButton)
	tb.waitPath("/f/" + f.PublicID + "/thanks")
	list := a.submissions(t, f)
	if len(list) != 2 || list[0].Data["email"] != jane["email"] || list[1].Data["email"] != bob["email"] || list[0].Key == list[1].Key {
		t.Errorf("stored %+v, want jane's then bob's submission under two keys", list)
	}
}

// intakeStorage returns intake.js's entries in the page's sessionStorage.
func intakeStorage(tb *tab) map[string]string {
	tb.t.Helper()
	return evalJS[map[string]string](tb, `Object.fromEntries(Object.keys(sessionStorage)
		.filter((k) => k.startsWith("intake:")).map((k) => [k, sessionStorage.getItem(k)]))`)
}

// testNoScript: with JavaScript off the hosted form is a plain HTML form.
// A double click posts it once or twice (Chromium mostly folds the second
// submission into the first navigation; when it does not, it aborts the
// first request), and going back and sending again posts once more. The
// server's implicit key makes all of it one submission, and every answer
// the browser waited for is a 303 to the thank-you page.
func testNoScript(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")
	tb.do(setScripts(false), chromedp.Navigate(a.url("/f/"+f.PublicID)))
	tb.waitVisible(sendButton)
	if hasIntake := evalJS[bool](tb, `typeof window.Intake !== "undefined"`); hasIntake {
		t.Fatal("intake.js ran with scripts off")
	}
	tb.fill(jane)
	tb.doubleClick(sendButton)
	tb.waitPath("/f/" + f.PublicID + "/thanks")
	if h1 := tb.text("h1"); h1 != "Thank you" {
		t.Errorf("thank-you page h1 = %q", h1)
	}
	clicks := len(a.postsSeen())

	// Back to the form and Send again.
	tb.do(historyBack())
	tb.waitPath("/f/" + f.PublicID)
	tb.waitVisible(sendButton)
	tb.fill(jane)
	tb.click(sendButton)
	tb.waitPath("/f/" + f.PublicID + "/thanks")

	key := checkOnce(t, a, f, janeStored)
	if !strings.HasPrefix(key, "auto:") {
		t.Errorf("key %q, want the implicit auto: key of a plain HTML post", key)
	}
	posts := a.postsSeen()
	t.Logf("the double click made %d POST(s); %d in all", clicks, len(posts))
	if len(posts) < 2 {
		t.Errorf("POSTs to /f/ = %+v, want at least 2", posts)
	}
	for _, p := range posts {
		if p.Status != http.StatusSeeOther && !p.Aborted {
			t.Errorf("POST answered %d, want 303 (%+v)", p.Status, posts)
		}
	}
	if last := posts[len(posts)-1]; !last.Replayed {
		t.Errorf("the resubmit after Back was not a replay: %+v", last)
	}
}

// fieldState is the hosted form as intake.js left it after an answer.
type fieldState struct {
	NextClass    string `json:"nextClass"`    // class of the element after the email input
	NextID       string `json:"nextId"`       // its id
	NextText     string `json:"nextText"`     // its text
	Invalid      string `json:"invalid"`      // the input's aria-invalid
	DescribedBy  string `json:"describedBy"`  // the input's aria-describedby
	Summary      string `json:"summary"`      // text of the error summary
	SummaryRole  string `json:"summaryRole"`  // its role
	Key          string `json:"key"`          // the _idempotency_key input's value
	ButtonText   string `json:"buttonText"`   // the submit button's text
	ButtonLocked bool   `json:"buttonLocked"` // the submit button is disabled
	Busy         string `json:"busy"`         // the form's aria-busy
}

const fieldStateJS = `(() => {
	const form = document.querySelector("form[data-intake]");
	const input = form.querySelector('[name="email"]');
	const next = input.nextElementSibling;
	const summary = form.querySelector(".intake-errors");
	const key = form.querySelector('[name="_idempotency_key"]');
	const button = form.querySelector("button[type=submit]");
	return {
		nextClass: next ? next.className : "",
		nextId: next ? next.id : "",
		nextText: next ? next.textContent : "",
		invalid: input.getAttribute("aria-invalid") || "",
		describedBy: input.getAttribute("aria-describedby") || "",
		summary: summary ? summary.textContent : "",
		summaryRole: summary ? summary.getAttribute("role") : "",
		key: key ? key.value : "",
		buttonText: button.textContent,
		buttonLocked: button.disabled,
		busy: form.getAttribute("aria-busy") || "",
	};
})()`

// testValidationError: an address the browser accepts but Intake does not
// (no dot in the domain) gets a 422; intake.js shows the error next to the
// field and nothing is stored. The corrected form is sent under the same
// key and stored once.
func testValidationError(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")
	tb.do(chromedp.Navigate(a.url("/f/" + f.PublicID)))
	tb.waitVisible(sendButton)
	bad := map[string]string{"email": "jane@example", "name": jane["name"], "message": jane["message"]}
	tb.fill(bad)
	tb.click(sendButton)
	tb.waitVisible(".intake-field-error")

	st := evalJS[fieldState](tb, fieldStateJS)
	if st.NextClass != "intake-field-error" || !strings.Contains(st.NextText, "valid email") {
		t.Errorf("after the email input: class %q text %q, want the field's error", st.NextClass, st.NextText)
	}
	if st.Invalid != "true" || !strings.Contains(" "+st.DescribedBy+" ", " "+st.NextID+" ") {
		t.Errorf("email input aria-invalid %q aria-describedby %q, want true and %q", st.Invalid, st.DescribedBy, st.NextID)
	}
	if st.SummaryRole != "alert" || !strings.Contains(st.Summary, "Please fix this problem") || !strings.Contains(st.Summary, "valid email") {
		t.Errorf("error summary (role %q) = %q", st.SummaryRole, st.Summary)
	}
	if st.ButtonLocked || st.Busy != "" || st.ButtonText != "Send" {
		t.Errorf("form still locked after the 422: button %q disabled %v, aria-busy %q", st.ButtonText, st.ButtonLocked, st.Busy)
	}
	if v := evalJS[string](tb, `document.querySelector('[name="message"]').value`); v != jane["message"] {
		t.Errorf("message after the 422 = %q, want what was typed kept", v)
	}
	if s := a.stored(t, f); s.Submissions != 0 || len(s.Keys) != 0 {
		t.Errorf("after the 422: %+v, want nothing stored", s)
	}
	if posts := a.postsSeen(); len(posts) != 1 || posts[0].Status != http.StatusUnprocessableEntity {
		t.Errorf("POSTs to /f/ = %+v, want one 422", posts)
	}
	tb.screenshots("validation-error")

	tb.fill(map[string]string{"email": jane["email"]})
	tb.click(sendButton)
	tb.waitPath("/f/" + f.PublicID + "/thanks")
	if key := checkOnce(t, a, f, janeStored); key != st.Key {
		t.Errorf("stored key %q, want %q, the one the refused attempt used", key, st.Key)
	}
}

// testNoScriptValidationPage: with JavaScript off, an invalid address gets
// the 422 page listing the problem; its link goes back to the form, and the
// corrected form is stored once.
func testNoScriptValidationPage(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")
	tb.do(setScripts(false), chromedp.Navigate(a.url("/f/"+f.PublicID)))
	tb.waitVisible(sendButton)
	tb.fill(map[string]string{"email": "jane@example", "name": jane["name"], "message": jane["message"]})
	tb.click(sendButton)
	tb.waitVisible(".error-list")
	if h1 := tb.text("h1"); h1 != "Please check your submission" {
		t.Errorf("422 page h1 = %q", h1)
	}
	if li := tb.text(".error-list li"); !strings.Contains(li, "Email") || !strings.Contains(li, "valid email") {
		t.Errorf("422 page lists %q", li)
	}
	if posts := a.postsSeen(); len(posts) != 1 || posts[0].Status != http.StatusUnprocessableEntity {
		t.Errorf("POSTs to /f/ = %+v, want one 422", posts)
	}
	if s := a.stored(t, f); s.Submissions != 0 || len(s.Keys) != 0 {
		t.Errorf("after the 422: %+v, want nothing stored", s)
	}
	tb.screenshots("validation-page")

	tb.click(`a.button`)
	tb.waitPath("/f/" + f.PublicID)
	tb.waitVisible(sendButton)
	tb.fill(jane)
	tb.click(sendButton)
	tb.waitPath("/f/" + f.PublicID + "/thanks")
	checkOnce(t, a, f, janeStored)
}

// checkOnce checks that Postgres holds exactly one submission of f, with
// the values in want, and exactly one idempotency key, the submission's;
// it returns the key.
// testMinFillTime: intake.js reports how long the hosted form was open.
// Sent at once on a form whose minimum is 30 s, the submission is answered
// as a success (the person sees the thank-you page) and stored as spam
// with a reason people can read. On a form whose minimum is 1 s, a person
// who takes longer is not spam. Either way the time is kept in the
// metadata, not the data.
func testMinFillTime(t *testing.T, tb *tab) {
	a := newApp(t)
	ctx := context.Background()
	quick := testfactory.NewForm(ctx, t, a.db, a.account.User.AccountID, &testfactory.FormOpts{Name: "Quick", Fields: contactFields, Settings: forms.Settings{MinFillSeconds: 30}})
	tb.do(chromedp.Navigate(a.url("/f/" + quick.PublicID)))
	tb.waitVisible(sendButton)
	tb.fill(jane)
	tb.click(sendButton)
	tb.waitPath("/f/" + quick.PublicID + "/thanks")
	spam, reason, fill := a.spamAndFill(t, quick)
	if !spam || !regexp.MustCompile(`^filled in \d+\.\d s; the form's minimum is 30 s$`).MatchString(reason) {
		t.Errorf("spam %v, reason %q; want spam, filled in … s; the form's minimum is 30 s", spam, reason)
	}
	if fill <= 0 || fill >= 30000 {
		t.Errorf("meta.fill_ms = %d, want the time the page was open (under 30 s)", fill)
	}

	patient := testfactory.NewForm(ctx, t, a.db, a.account.User.AccountID, &testfactory.FormOpts{Name: "Patient", Fields: contactFields, Settings: forms.Settings{MinFillSeconds: 1}})
	tb.do(chromedp.Navigate(a.url("/f/" + patient.PublicID)))
	tb.waitVisible(sendButton)
	tb.fill(jane)
	time.Sleep(1200 * time.Millisecond) // a person reading the form
	tb.click(sendButton)
	tb.waitPath("/f/" + patient.PublicID + "/thanks")
	checkOnce(t, a, patient, janeStored)
	if _, _, fill := a.spamAndFill(t, patient); fill < 1200 {
		t.Errorf("meta.fill_ms = %d, want at least the 1.2 s waited", fill)
	}
}

// spamAndFill returns the form's one submission's spam flag and reason and
// its meta.fill_ms (-1 when absent), failing if _fill_ms is in the data.
func (a *app) spamAndFill(t *testing.T, f *forms.Form) (bool, string, int64) {
	t.Helper()
	var (
		spam    bool
		reason  string
		fill    int64
		hasData bool
	)
	err := a.db.QueryRow(context.Background(), `SELECT spam, coalesce(spam_reason, ''), coalesce((meta->>'fill_ms')::bigint, -1), data ? '_fill_ms'
		FROM submissions WHERE form_id = $1`, f.ID).Scan(&spam, &reason, &fill, &hasData)
	if err != nil {
		t.Fatal(err)
	}
	if hasData {
		t.Error("_fill_ms is stored as data")
	}
	return spam, reason, fill
}

func checkOnce(t *testing.T, a *app, f *forms.Form, want map[string]string) string {
	t.Helper()
	s := a.stored(t, f)
	sub := a.only(t, f)
	checkData(t, sub.Data, want)
	if sub.Spam {
		t.Errorf("submission stored as spam")
	}
	if len(s.Keys) != 1 || s.Keys[0] != sub.Key {
		t.Errorf("idempotency keys %q, want exactly the submission's %q", s.Keys, sub.Key)
	}
	return sub.Key
}

// testDashboard is an owner's first session: sign up, create a form with
// three fields in the contract editor, read its endpoint from the form's
// page, open the hosted page there and double-click Send; the one
// submission shows in the submissions table, search finds it, and the CSV
// export carries it.
func testDashboard(t *testing.T, tb *tab) {
	a := newApp(t)
	owner := "owner-" + strings.ToLower(artifactName(t.Name())) + "@example.com"

	// Sign up.
	tb.do(chromedp.Navigate(a.url("/signup")))
	tb.waitVisible(`form[action="/signup"] button[type=submit]`)
	tb.screenshots("dash-signup")
	tb.typeInto("#email", owner)
	tb.typeInto("#password", "correct horse battery staple")
	tb.submitAndWait(`form[action="/signup"] button[type=submit]`)
	tb.waitPath("/forms")
	if flash := tb.text(".flash"); !strings.Contains(flash, "Welcome") {
		t.Errorf("after sign-up the flash says %q", flash)
	}
	tb.screenshots("dash-forms-empty")

	// A form with three fields: the editor starts with email and message;
	// add name and move it up between them.
	tb.do(chromedp.Navigate(a.url("/forms/new")))
	tb.waitVisible("#add-field")
	tb.typeInto("#name", "Contact us")
	tb.submitAndWait("#add-field")
	tb.waitVisible("#f2-name")
	// autofocus lands when the browser next renders, a moment after the
	// element is visible: wait for it a little before judging.
	focused := ""
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if focused = evalJS[string](tb, `document.activeElement.id`); focused == "f2-name" {
			break
		}
	}
	if focused != "f2-name" {
		t.Errorf("after Add a field the focus is on %q, want the new row's name", focused)
	}
	tb.typeInto("#f2-name", "name")
	tb.typeInto("#f2-label", "Name")
	tb.submitAndWait("#f2-up")
	if got := evalJS[[]string](tb, `[0, 1, 2].map((i) => document.getElementById("f" + i + "-name").value)`); fmt.Sprint(got) != "[email name message]" {
		t.Fatalf("rows after Move up: %v", got)
	}
	tb.screenshots("dash-form-new")
	tb.submitAndWait(`.sticky-actions button[name=op][value=save]`)

	// The form's page: the endpoint is the copy button's target.
	if flash := tb.text(".flash"); !strings.Contains(flash, "created") {
		t.Errorf("after Create form the flash says %q", flash)
	}
	target := evalJS[string](tb, `document.querySelector("button[data-copy]").getAttribute("data-copy")`)
	endpoint := evalJS[string](tb, jsQuery(target)+".value")
	id, ok := strings.CutPrefix(endpoint, a.url("/f/"))
	if !ok || len(id) != 8 {
		t.Fatalf("endpoint %q (copy target %s), want %s/f/<id>", endpoint, target, a.server.URL)
	}
	if !evalJS[bool](tb, `!document.querySelector("button[data-copy]").hidden`) {
		t.Error("the copy button is still hidden: dashboard.js did not run")
	}
	tb.screenshots("dash-form")
	tb.click("button[data-copy]")
	tb.waitFor("the copy button's answer", `document.getElementById("live").textContent`)
	var f *forms.Form
	if got, err := forms.ByPublicID(context.Background(), a.db, id); err != nil {
		t.Fatalf("the form of endpoint %s: %v", endpoint, err)
	} else {
		f = got
	}
	var names []string
	for _, fl := range f.Contract.Fields {
		names = append(names, fmt.Sprintf("%s:%s:%v", fl.Name, fl.Type, fl.Required))
	}
	if fmt.Sprint(names) != "[email:email:true name:text:false message:textarea:false]" {
		t.Errorf("stored contract %v", names)
	}

	// The hosted page, double-clicked.
	tb.do(chromedp.Navigate(endpoint))
	tb.waitVisible(sendButton)
	tb.fill(jane)
	tb.doubleClick(sendButton)
	tb.waitPath("/f/" + id + "/thanks")
	checkOnce(t, a, f, janeStored)

	// The submissions table.
	tb.do(chromedp.Navigate(a.url("/forms/" + id + "/submissions")))
	tb.waitVisible(".table-submissions")
	if rows := submissionRows(tb); len(rows) != 1 || !strings.Contains(rows[0], jane["email"]) || !strings.Contains(rows[0], jane["name"]) {
		t.Errorf("submissions table rows %q, want one with %s", rows, jane["email"])
	}
	tb.screenshots("dash-submissions")

	// Search: a word of the message finds it, another word nothing.
	tb.typeInto("#q", "browser")
	tb.submitAndWait(`form.search button[type=submit]`)
	if rows := submissionRows(tb); len(rows) != 1 || !strings.Contains(rows[0], jane["email"]) {
		t.Errorf("search for browser: rows %q, want the submission", rows)
	}
	tb.typeInto("#q", "zebra")
	tb.submitAndWait(`form.search button[type=submit]`)
	if rows := submissionRows(tb); len(rows) != 0 {
		t.Errorf("search for zebra: rows %q, want none", rows)
	}
	if empty := tb.text(".empty"); !strings.Contains(empty, "zebra") {
		t.Errorf("search for zebra says %q", empty)
	}

	// The CSV export, fetched with the session's cookie.
	tb.do(chromedp.Navigate(a.url("/forms/" + id + "/submissions")))
	tb.waitVisible(".table-submissions")
	href := evalJS[string](tb, `document.querySelector("a[download]").getAttribute("href")`)
	var csvAnswer struct {
		Status      int    `json:"status"`
		Type        string `json:"type"`
		Disposition string `json:"disposition"`
		Body        string `json:"body"`
	}
	raw := evalJS[json.RawMessage](tb, `fetch(`+jsString(href)+`).then(async (r) => ({status: r.status,
		type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition"), body: await r.text()}))`)
	if err := json.Unmarshal(raw, &csvAnswer); err != nil {
		t.Fatal(err)
	}
	if csvAnswer.Status != http.StatusOK || !strings.HasPrefix(csvAnswer.Type, "text/csv") || !strings.Contains(csvAnswer.Disposition, "attachment") {
		t.Errorf("GET %s = %d %q %q", href, csvAnswer.Status, csvAnswer.Type, csvAnswer.Disposition)
	}
	records, err := csv.NewReader(strings.NewReader(csvAnswer.Body)).ReadAll()
	if err != nil || len(records) != 2 {
		t.Fatalf("CSV export: %d records, %v, want a header and one row:\n%s", len(records), err, csvAnswer.Body)
	}
	row := map[string]string{}
	for i, name := range records[0] {
		if i < len(records[1]) {
			row[name] = records[1][i]
		}
	}
	for k, v := range janeStored {
		// encoding/csv reads a quoted CRLF as LF.
		if v = strings.ReplaceAll(v, "\r\n", "\n"); row[k] != v {
			t.Errorf("CSV %s = %q, want %q (header %q)", k, row[k], v, records[0])
		}
	}

	// The submission's page, and the forms list with its chart.
	tb.submitAndWait(`.table-submissions tbody a`)
	tb.waitVisible("main h1")
	tb.screenshots("dash-submission")
	tb.do(chromedp.Navigate(a.url("/forms")))
	tb.waitVisible(".card")
	if total := tb.text(".card .stats div:first-child dd"); total != "1" {
		t.Errorf("forms list shows %q submissions, want 1", total)
	}
	tb.screenshots("dash-forms")
}

// submissionRows returns the text of each row of the submissions table.
func submissionRows(tb *tab) []string {
	tb.t.Helper()
	return evalJS[[]string](tb, `Array.from(document.querySelectorAll(".table-submissions tbody tr"), (tr) => tr.innerText)`)
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// testDashboardSnippets: the owner logs in, and the snippets of the form's
// page work as pasted into a customer's site (another origin): the plain
// HTML form and the intake.js form, each double-clicked, and the fetch
// snippet run as is. Each makes exactly one submission.
func testDashboardSnippets(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Contact us")

	// The form's page sends a logged-out visitor to log in, and back.
	tb.do(chromedp.Navigate(a.url("/forms/" + f.PublicID)))
	tb.waitPath("/login")
	tb.screenshots("dash-login")
	tb.typeInto("#email", a.account.User.Email)
	tb.typeInto("#password", "correct horse battery") // testfactory's
	tb.submitAndWait(`form[action="/login"] button[type=submit]`)
	tb.waitPath("/forms/" + f.PublicID)
	snippets := evalJS[map[string]string](tb, `Object.fromEntries(Array.from(document.querySelectorAll("pre.code code[id]"), (c) => [c.id, c.textContent]))`)
	for _, id := range []string{"snippet-html", "snippet-intakejs", "snippet-fetch"} {
		if !strings.Contains(snippets[id], a.url("/f/"+f.PublicID)) {
			t.Fatalf("snippet %s does not name the endpoint:\n%s", id, snippets[id])
		}
	}

	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Contact</title></head>\n<body>\n%s\n</body></html>",
			snippets[strings.TrimPrefix(r.URL.Path, "/")])
	}))
	t.Cleanup(site.Close)

	bob := map[string]string{"email": "bob@example.com", "name": "Bob", "message": "Sent with the plain HTML snippet."}
	for _, c := range []struct {
		snippet string
		person  map[string]string
	}{{"snippet-html", bob}, {"snippet-intakejs", jane}} {
		tb.do(chromedp.Navigate(site.URL + "/" + c.snippet))
		tb.fill(c.person)
		tb.doubleClick(`form button[type=submit]`)
		if c.snippet == "snippet-html" {
			tb.waitPath("/f/" + f.PublicID + "/thanks")
			continue
		}
		// intake.js with data-intake-inline: the answer in the page, which
		// stays the customer's.
		tb.waitVisible(`[data-intake-notice] [role=status]`)
		if path := evalJS[string](tb, "location.pathname"); path != "/"+c.snippet {
			t.Errorf("the intake.js snippet left the page for %s", path)
		}
	}
	tb.do(chromedp.Navigate(site.URL + "/none"))
	type fetched struct {
		Status int `json:"status"`
		Answer struct {
			OK bool   `json:"ok"`
			ID string `json:"id"`
		} `json:"answer"`
	}
	got := evalJS[fetched](tb, "(async () => {\n"+snippets["snippet-fetch"]+"\nreturn {status: res.status, answer};\n})()")
	if got.Status != http.StatusCreated || !got.Answer.OK || got.Answer.ID == "" {
		t.Errorf("the fetch snippet got %+v, want 201 ok with an id", got)
	}

	list := a.submissions(t, f)
	var emails, keys []string
	for _, s := range list {
		emails = append(emails, fmt.Sprint(s.Data["email"]))
		kind := "key"
		if strings.HasPrefix(s.Key, "auto:") {
			kind = "auto"
		}
		keys = append(keys, kind)
		if s.Spam {
			t.Errorf("submission from %v stored as spam", s.Data["email"])
		}
	}
	if fmt.Sprint(emails) != "[bob@example.com jane@example.com ada@example.com]" || fmt.Sprint(keys) != "[auto key key]" {
		t.Errorf("stored submissions from %v with keys %v, want bob (implicit key), jane and ada (their own keys)", emails, keys)
	}
	if s := a.stored(t, f); len(s.Keys) != 3 {
		t.Errorf("idempotency keys %q, want 3", s.Keys)
	}
}

// TestBrowserTwoFactor is two-factor log-in in Chromium: the owner turns it
// on from the account page (the QR code must render under the dashboard's
// Content-Security-Policy), keeps the recovery codes, logs out, and logs
// in again with the password and a code computed here.
func TestBrowserTwoFactor(t *testing.T) {
	t.Parallel()
	tb := newTab(t, startBrowser(t))
	a := newApp(t)

	tb.do(chromedp.Navigate(a.url("/account")))
	tb.waitPath("/login")
	tb.typeInto("#email", a.account.User.Email)
	tb.typeInto("#password", "correct horse battery") // testfactory's
	tb.submitAndWait(`form[action="/login"] button[type=submit]`)
	tb.waitPath("/account")
	tb.submitAndWait(`a[href="/account/two-factor"]`)
	tb.waitPath("/account/two-factor")
	tb.waitFor("the QR code drawn", `((img) => !!img && img.complete && img.naturalWidth > 0)(`+jsQuery("#totp-qr")+`)`)
	tb.screenshots("dash-two-factor-enrol")
	secret := tb.text("#totp-secret")
	tb.typeInto("#code", totpCode(t, secret, 0))
	tb.submitAndWait(`form[action="/account/two-factor"] button[type=submit]`)
	codes := evalJS[[]string](tb, `Array.from(document.querySelectorAll("#recovery-codes code"), (c) => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	tb.submitAndWait(`a.button[href="/account"]`)
	tb.waitPath("/account")
	if got := tb.text("#twofactor-h + p"); !strings.Contains(got, "is on") {
		t.Errorf("the account page says %q", got)
	}

	tb.submitAndWait(`form[action="/logout"] button`)
	tb.waitPath("/login")
	tb.typeInto("#email", a.account.User.Email)
	tb.typeInto("#password", "correct horse battery")
	tb.submitAndWait(`form[action="/login"] button[type=submit]`)
	tb.waitPath("/login/two-factor")
	tb.screenshots("dash-two-factor-code")
	// The enrolment used this step's code: a code works once, so the next
	// step's (accepted a step early, for clocks apart).
	tb.typeInto("#code", totpCode(t, secret, 30*time.Second))
	tb.submitAndWait(`form[action="/login/two-factor"] button[type=submit]`)
	tb.waitPath("/forms")
}

// testDashboardTimes: a viewer in Tokyo reads a submission's time in
// Tokyo's time, the UTC time on hover; without JavaScript it stays UTC.
func testDashboardTimes(t *testing.T, tb *tab) {
	a := newApp(t)
	f := a.newForm(t, "Times")
	res := testfactory.Submit(t, a.api.Submissions, f.PublicID, "times", map[string]any{"email": "tz@example.com"})
	tb.do(chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	tb.do(chromedp.Navigate(a.url("/forms/" + f.PublicID + "/submissions/" + submissions.FormatID(res.SubmissionID))))
	tb.waitPath("/login")
	tb.typeInto("#email", a.account.User.Email)
	tb.typeInto("#password", "correct horse battery")
	tb.submitAndWait(`form[action="/login"] button[type=submit]`)
	tb.waitPath("/forms/" + f.PublicID + "/submissions/" + submissions.FormatID(res.SubmissionID))
	got := evalJS[map[string]string](tb, `(() => { const el = document.querySelector("h1 time"); return {text: el.textContent, title: el.title, dt: el.getAttribute("datetime")}; })()`)
	stamp, err := time.Parse(time.RFC3339, got["dt"])
	if err != nil {
		t.Fatalf("the time's datetime %q: %v", got["dt"], err)
	}
	tokyo := stamp.In(time.FixedZone("JST", 9*3600))
	if strings.HasSuffix(got["text"], "UTC") || !(strings.Contains(got["text"], tokyo.Format("15:04")) || strings.Contains(got["text"], tokyo.Format("03:04 PM"))) || !strings.HasSuffix(got["title"], "UTC") {
		t.Errorf("the time reads %q (hover %q), want Tokyo's %s with UTC on hover", got["text"], got["title"], tokyo.Format("15:04"))
	}
}
