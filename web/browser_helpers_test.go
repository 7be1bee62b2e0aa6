package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/pages"
	"github.com/intakehq/intake/web"
)

// Budgets of the browser tests: the whole of one test, and one wait inside it.
const (
	testTimeout = 60 * time.Second
	waitTimeout = 15 * time.Second
)

// Viewports of the screenshots: a laptop, and a phone (iPhone 12–15 sized).
const (
	desktopWidth, desktopHeight = 1280, 800
	phoneWidth, phoneHeight     = 390, 844
)

// startBrowser starts one headless Chromium for t and its subtests and
// returns the context that owns it; each test opens its own tab with newTab.
// It skips t when no browser is installed, unless INTAKE_REQUIRE_BROWSER is
// set (CI), where a missing browser fails.
//
// The browser belongs to a parent test rather than to TestMain, so that its
// cleanup runs after every parallel subtest and no TestMain is claimed in a
// test binary that other test files share.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := browserPath()
	if path == "" {
		if os.Getenv("INTAKE_REQUIRE_BROWSER") != "" {
			t.Fatal("no chromium or chromium-browser on PATH, and INTAKE_REQUIRE_BROWSER is set (apt-get install chromium)")
		}
		t.Skip("no chromium or chromium-browser on PATH; set INTAKE_REQUIRE_BROWSER=1 to fail instead")
	}
	// Exactly these flags (chromedp adds only its pipe and about:blank).
	// The machines that run the tests have no internet: without the
	// background-networking flags Chromium keeps dialling Google and floods
	// the log with refused connections.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the browser closes, the allocator
	// waits for its process, then t.TempDir removes the profile.
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancelBrowser)
	start := time.Now()
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Logf("started %s in %v", path, time.Since(start).Round(time.Millisecond))
	return browserCtx
}

func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab is one browser tab of a test, in a browser context of its own: its
// cookies and storage are not shared with the other tests' tabs, which all
// talk to servers on 127.0.0.1 (cookies ignore the port).
type tab struct {
	t   *testing.T
	ctx context.Context // ends testTimeout after newTab
	// browserCtx is the browser's, for a second tab of the same test (a
	// second person, with cookies of their own).
	browserCtx context.Context

	artifacts string // where screenshots go

	mu     sync.Mutex
	errors []string // uncaught exceptions and console.error calls of the page
}

// newTab opens a tab with a desktop viewport. When t ends the tab is
// closed; a failed test first saves a screenshot of where it stood, and any
// script error of the page fails the test.
func newTab(t *testing.T, browserCtx context.Context) *tab {
	t.Helper()
	tb := &tab{t: t, artifacts: artifactDir(t), browserCtx: browserCtx}
	tabCtx, cancelTab := chromedp.NewContext(browserCtx,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(tb.listen))
	if err := chromedp.Do(tabCtx); err != nil { // opens the tab, with no timeout
		cancelTab()
		t.Fatalf("open tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tabCtx, testTimeout)
	tb.ctx = ctx
	t.Cleanup(func() {
		if t.Failed() && ctx.Err() == nil {
			tb.screenshot("FAILED-" + artifactName(t.Name()))
		}
		cancel()
		cancelTab()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errors {
			t.Errorf("page script error: %s", e)
		}
	})
	tb.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
	return tb
}

// listen runs in the tab's event loop: it must return at once.
func (tb *tab) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil && ev.ExceptionDetails.Exception.Description != "" {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		msg = "console.error " + strings.Join(parts, " ")
	default:
		return
	}
	tb.mu.Lock()
	tb.errors = append(tb.errors, msg)
	tb.mu.Unlock()
}

// do runs actions in the tab and fails the test on the first error. Page
// interactions go through the helpers below, not chromedp's DOM queries:
// those wait forever on a page restored from the back-forward cache, whose
// document chromedp never learns about.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// evaluate runs a JavaScript expression in the page's main world through
// DevTools — which works with the page's own scripts off — awaits it and
// returns its value as JSON ("null" for undefined).
func (tb *tab) evaluate(ctx context.Context, expr string) ([]byte, error) {
	res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression: expr, ReturnByValue: new(true), AwaitPromise: new(true), Silent: new(true),
	})
	if err != nil {
		return nil, err
	}
	if e := res.ExceptionDetails; e != nil {
		msg := e.Text
		if e.Exception != nil {
			msg += " " + e.Exception.Description
		}
		return nil, errors.New(msg)
	}
	if res.Result == nil || len(res.Result.Value) == 0 {
		return []byte("null"), nil
	}
	return res.Result.Value, nil
}

// evalJS evaluates a JavaScript expression in the page and decodes its value.
func evalJS[T any](tb *tab, expr string) T {
	tb.t.Helper()
	var v T
	raw, err := tb.evaluate(tb.ctx, expr)
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor evaluates expr until it gives something other than null, false
// or "", for up to waitTimeout, and returns that value as JSON.
func (tb *tab) waitFor(what, expr string) []byte {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	for {
		v, err := tb.evaluate(ctx, expr)
		if err == nil {
			switch string(v) {
			case "null", "false", `""`:
			default:
				return v
			}
		}
		select {
		case <-ctx.Done():
			at, _ := tb.evaluate(tb.ctx, "location.href")
			tb.t.Fatalf("waited %v for %s at %s: last %s %v", waitTimeout, what, at, v, err)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// jsQuery is the JavaScript for the first element sel matches, or null.
func jsQuery(sel string) string {
	lit, _ := json.Marshal(sel)
	return "document.querySelector(" + string(lit) + ")"
}

// waitVisible waits up to waitTimeout for sel to match a rendered element.
func (tb *tab) waitVisible(sel string) {
	tb.t.Helper()
	tb.waitFor(sel+" visible", `((el) => !!el && el.getClientRects().length > 0 &&
		getComputedStyle(el).visibility !== "hidden")(`+jsQuery(sel)+`)`)
}

// text returns the rendered text of sel, once it is visible.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	tb.waitVisible(sel)
	return evalJS[string](tb, jsQuery(sel)+".innerText.trim()")
}

// waitPath waits up to waitTimeout for the tab to show a loaded document
// whose URL path ends in path.
func (tb *tab) waitPath(path string) {
	tb.t.Helper()
	lit, _ := json.Marshal(path)
	tb.waitFor("a page at …"+path, `document.readyState === "complete" && location.pathname.endsWith(`+string(lit)+`)`)
}

// center scrolls sel into view and returns its middle in viewport
// coordinates.
func (tb *tab) center(sel string) (x, y float64) {
	tb.t.Helper()
	tb.waitVisible(sel)
	xy := evalJS[[2]float64](tb, `((el) => {
		el.scrollIntoView({block: "center"});
		const r = el.getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2];
	})(`+jsQuery(sel)+`)`)
	return xy[0], xy[1]
}

// click clicks the middle of sel with the mouse.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	x, y := tb.center(sel)
	tb.do(chromedp.MouseClickXY(x, y))
}

// doubleClick double-clicks sel as a person does: two press-and-release
// pairs at one point, the second with click count 2, back to back.
// chromedp.DoubleClick sends only the second pair, which the page gets as
// one click and a dblclick — one submit, not two. The point is read once,
// so the second click lands even when the first started a navigation.
func (tb *tab) doubleClick(sel string) {
	tb.t.Helper()
	x, y := tb.center(sel)
	tb.do(chromedp.MouseClickXY(x, y, chromedp.ClickCount(1)), chromedp.MouseClickXY(x, y, chromedp.ClickCount(2)))
}

// fill empties the named fields of the page's form and types values into
// them with the keyboard.
func (tb *tab) fill(values map[string]string) {
	tb.t.Helper()
	for _, name := range []string{"email", "name", "message"} {
		if v, ok := values[name]; ok {
			tb.typeInto(`form [name="`+name+`"]`, v)
		}
	}
}

// typeInto empties the input sel and types v into it with the keyboard.
func (tb *tab) typeInto(sel, v string) {
	tb.t.Helper()
	tb.waitVisible(sel)
	evalJS[any](tb, `((el) => { el.value = ""; el.focus(); })(`+jsQuery(sel)+`)`)
	tb.do(chromedp.KeyEvent(v))
}

// submitAndWait clicks sel, which posts a form or follows a link, and waits
// up to waitTimeout for the next document to be loaded, wherever it is.
func (tb *tab) submitAndWait(sel string) {
	tb.t.Helper()
	evalJS[any](tb, `window.__intakeTestOld = true`)
	tb.click(sel)
	tb.waitFor("the page after clicking "+sel, `!window.__intakeTestOld && document.readyState === "complete"`)
}

// setScripts turns the page's JavaScript on or off, as a browser setting
// does; the tab's next document loads that way.
func setScripts(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	})
}

// artifactDir is where screenshots go: $INTAKE_ARTIFACTS/browser when set
// (CI keeps it), else a directory removed when t ends.
func artifactDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("INTAKE_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func artifactName(s string) string { return strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-") }

// screenshot saves a full-page PNG of the tab as it is now, at the current
// viewport, as name.png in the artifact directory.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(tb.artifacts, artifactName(name)+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	tb.t.Logf("screenshot %s", file)
}

// screenshots saves the page at desktop size and at phone size (390×844,
// a mobile viewport at device scale 2), as name-desktop.png and
// name-phone.png, and leaves the tab at desktop size.
//
// At phone size it also fails the test when the page is wider than the
// screen, the usual way a layout breaks on a phone.
func (tb *tab) screenshots(name string) {
	tb.t.Helper()
	// From the top, so that sticky parts land in the same place each run.
	evalJS[any](tb, `window.scrollTo(0, 0)`)
	tb.screenshot(name + "-desktop")
	tb.do(chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	evalJS[any](tb, `window.scrollTo(0, 0)`)
	tb.screenshot(name + "-phone")
	// Against the screen's width, not innerWidth: an emulated phone widens
	// its layout viewport to fit a page that overflows.
	if w := evalJS[int](tb, `document.documentElement.scrollWidth`); w > phoneWidth {
		tb.t.Errorf("%s is %d px wide on a %d px phone screen: it scrolls sideways", name, w, phoneWidth)
	}
	for _, p := range evalJS[[]string](tb, fmt.Sprintf(phoneProblems, phoneWidth)) {
		tb.t.Errorf("%s on a %d px phone screen: %s", name, phoneWidth, p)
	}
	tb.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
}

// phoneProblems lists, in words, what breaks a page on a phone besides
// its width: a list (table) that scrolls sideways inside the page, a link
// or button of a list outside the screen, a dashboard header taller than
// 120 px.
const phoneProblems = `(() => {
	const out = [], width = %d;
	for (const el of document.querySelectorAll("main .table-wrap, main table")) {
		if (el.scrollWidth > el.clientWidth + 1) {
			out.push("a list scrolls sideways (" + el.scrollWidth + " px in " + el.clientWidth + "): " + (el.getAttribute("aria-label") || el.className || el.tagName));
		}
	}
	for (const a of document.querySelectorAll("main table a, main table button, main table input")) {
		const r = a.getBoundingClientRect();
		if (r.width > 0 && (r.right > width + 1 || r.left < -1)) {
			out.push("off the screen: " + (a.textContent || a.getAttribute("aria-label") || a.name).trim().slice(0, 40));
		}
	}
	const h = document.querySelector(".dash-header");
	if (h && h.getBoundingClientRect().height > 120) {
		out.push("the header is " + Math.round(h.getBoundingClientRect().height) + " px tall");
	}
	return out;
})()`

// app is one running Intake on its own database, as serve wires it, with
// room for test-only routes in front of it.
type app struct {
	db      *pgxpool.Pool
	server  *httptest.Server
	api     *api.Server
	account *testfactory.Account
	// site holds the test's own routes (a customer's page, a proxy); every
	// other path goes to intake.
	site   *http.ServeMux
	intake http.Handler // Intake's router, noting the POSTs to /f/

	mu    sync.Mutex
	posts []formPost
}

// formPost is one POST that reached Intake's /f/ endpoint, and its answer.
type formPost struct {
	Path     string
	Key      string // the Idempotency-Key header sent
	Status   int
	Replayed bool // Idempotent-Replayed: true
	// Aborted: the browser gave up on the request before the answer (a
	// second click replaced the navigation); what Intake answered went
	// nowhere.
	Aborted bool
}

func newApp(t *testing.T) *app {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	pages, err := pages.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := &api.Server{
		DB:        db,
		Validator: forms.NewValidator(),
		Pages:     pages,
		Metrics:   api.NewMetrics(db),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	a := &app{db: db, api: srv, site: http.NewServeMux()}
	a.server = httptest.NewServer(nil)
	t.Cleanup(a.server.Close)
	srv.BaseURL = a.server.URL
	srv.Submissions = testfactory.Submissions(t, db, a.server.URL)
	dash, err := web.NewDashboard(db, testfactory.River(t, db), srv.Validator, a.server.URL, srv.Logger)
	if err != nil {
		t.Fatal(err)
	}
	dash.Submissions = srv.Submissions
	srv.Dashboard = dash
	a.intake = a.record(srv.Handler())
	a.site.Handle("/", a.intake)
	a.server.Config.Handler = a.site
	a.account = testfactory.NewAccount(ctx, t, db)
	return a
}

// record notes every POST under /f/ and how Intake answered it.
func (a *app) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/f/") {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.posts = append(a.posts, formPost{
			Path: r.URL.Path, Key: r.Header.Get("Idempotency-Key"), Status: sw.status,
			Replayed: w.Header().Get("Idempotent-Replayed") == "true", Aborted: r.Context().Err() != nil,
		})
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// postsSeen returns the POSTs to /f/ so far.
func (a *app) postsSeen() []formPost {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]formPost(nil), a.posts...)
}

// contactFields are the form of the browser tests: a required email, a
// name and a message.
var contactFields = []forms.Field{
	{Name: "email", Type: forms.TypeEmail, Required: true, Label: "Email"},
	{Name: "name", Type: forms.TypeText, Label: "Name"},
	{Name: "message", Type: forms.TypeTextarea, Rules: "max=500", Label: "Message"},
}

// newForm makes a contact form with contactFields for the app's account.
func (a *app) newForm(t *testing.T, name string) *forms.Form {
	t.Helper()
	return testfactory.NewForm(context.Background(), t, a.db, a.account.User.AccountID,
		&testfactory.FormOpts{Name: name, Fields: contactFields})
}

// url is the app's absolute URL of path.
func (a *app) url(path string) string { return a.server.URL + path }

// stored is what the database holds for one form.
type stored struct {
	Submissions int
	Keys        []string // idempotency_keys.key, oldest first
}

func (a *app) stored(t *testing.T, f *forms.Form) stored {
	t.Helper()
	ctx := context.Background()
	var s stored
	if err := a.db.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE form_id = $1`, f.ID).Scan(&s.Submissions); err != nil {
		t.Fatal(err)
	}
	rows, err := a.db.Query(ctx, `SELECT key FROM idempotency_keys WHERE form_id = $1 ORDER BY created_at`, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		s.Keys = append(s.Keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// storedSubmission is a submission as Postgres holds it.
type storedSubmission struct {
	ID   string
	Data map[string]any
	Key  string
	Spam bool
}

// submissions returns the form's submissions as stored, oldest first.
func (a *app) submissions(t *testing.T, f *forms.Form) []storedSubmission {
	t.Helper()
	rows, err := a.db.Query(context.Background(),
		`SELECT id::text, data, coalesce(idempotency_key, ''), spam FROM submissions WHERE form_id = $1 ORDER BY created_at`, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var list []storedSubmission
	for rows.Next() {
		var s storedSubmission
		if err := rows.Scan(&s.ID, &s.Data, &s.Key, &s.Spam); err != nil {
			t.Fatal(err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return list
}

// only returns the form's single submission, failing unless there is
// exactly one.
func (a *app) only(t *testing.T, f *forms.Form) storedSubmission {
	t.Helper()
	list := a.submissions(t, f)
	if len(list) != 1 {
		t.Fatalf("form %s has %d submissions, want exactly 1", f.PublicID, len(list))
	}
	return list[0]
}

// checkData fails unless every value in want is stored as that string.
func checkData(t *testing.T, got map[string]any, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stored %s = %#v, want %q (data %v)", k, got[k], v, got)
		}
	}
}

// setDarkMode makes the page see prefers-color-scheme: dark, or takes the
// override away.
func setDarkMode(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := emulation.SetEmulatedMediaParams{}
		if on {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return err
	})
}

// historyBack goes one step back in the tab's history without waiting for
// a load event: a page restored from the back-forward cache fires none,
// which makes chromedp.NavigateBack wait forever. Follow it with waitPath.
func historyBack() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		h, err := cdp.Call(ctx, t, page.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		if h.CurrentIndex <= 0 || int(h.CurrentIndex) >= len(h.Entries) {
			return fmt.Errorf("back: no earlier history entry (at %d of %d)", h.CurrentIndex, len(h.Entries))
		}
		_, err = cdp.Call(ctx, t, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID})
		return err
	})
}
