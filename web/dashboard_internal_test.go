package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// TestNewDashboardChecksTemplates checks that a broken dashboard template,
// or one that does not fit its view, fails NewDashboard (and New), so that
// start-up fails instead of a page view.
func TestNewDashboardChecksTemplates(t *testing.T) {
	t.Parallel()

	t.Run("Copy", func(t *testing.T) {
		t.Parallel()
		if _, err := newDashboard(testfactory.CopyFS(t, embedded), nil, nil, nil, "http://localhost:8080", nil); err != nil {
			t.Fatalf("newDashboard of an unchanged copy: %v", err)
		}
	})

	tests := []struct {
		name    string
		change  func(fstest.MapFS)
		wantErr string
	}{
		{"BrokenPage", func(m fstest.MapFS) {
			m["templates/dash_forms.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{range .Forms}}{{end}`)}
		}, "parse dash_forms.html"},
		{"BrokenLayout", func(m fstest.MapFS) {
			m["templates/dash_layout.html"] = &fstest.MapFile{Data: []byte(`<html>{{template "content" .}`)}
		}, "parse dash_layout.html"},
		{"FieldNotInView", func(m fstest.MapFS) {
			m["templates/dash_apikeys.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.NoSuchField}}{{end}}`)}
		}, "dash_apikeys.html does not fit its view"},
		{"MissingContent", func(m fstest.MapFS) {
			m["templates/dash_outbox.html"] = &fstest.MapFile{Data: []byte(`{{define "other"}}x{{end}}`)}
		}, `dash_outbox.html does not define "content"`},
		{"MissingPage", func(m fstest.MapFS) { delete(m, "templates/dash_webhook.html") }, "dash_webhook.html"},
		{"StrayTemplate", func(m fstest.MapFS) {
			m["templates/dash_old.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}x{{end}}`)}
		}, "templates/dash_old.html is not used"},
		// The assets are package pages' now; a template naming one it
		// lacks still fails.
		{"MissingAsset", func(m fstest.MapFS) {
			m["templates/dash_layout.html"] = &fstest.MapFile{Data: []byte(`<script src="{{asset "old.js"}}"></script>{{template "content" .}}`)}
		}, `uses asset "old.js"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testfactory.CopyFS(t, embedded)
			tt.change(m)
			_, err := newDashboard(m, nil, nil, nil, "http://localhost:8080", nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("newDashboard error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]bool{
		"/forms": true, "/forms/abc/submissions?spam=true": true,
		"": false, "forms": false, "//evil.example": false, "/\\evil.example": false, "https://evil.example/": false,
		"/x\r\nSet-Cookie: a=b": false, "javascript:alert(1)": false,
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %v, want %v", next, got, want)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	th := newLoginThrottle()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	// Per account and address: the eleventh try from that address waits
	// until the first failure leaves the window; the same account from
	// another address, and other accounts, are not held up.
	for i := range 10 {
		if w := th.wait("Ada@Example.com", "192.0.2.1", now); w != 0 {
			t.Fatalf("try %d waits %v", i+1, w)
		}
		th.failed("ada@example.com", "192.0.2.1", now.Add(time.Duration(i)*time.Minute))
	}
	if w := th.wait("ADA@example.com", "192.0.2.1", now.Add(10*time.Minute)); w != 5*time.Minute {
		t.Errorf("the account from the guessing address waits %v, want 5m", w)
	}
	if w := th.wait("ada@example.com", "198.51.100.7", now.Add(10*time.Minute)); w != 0 {
		t.Errorf("the account from another address waits %v: a stranger locked the owner out", w)
	}
	if w := th.wait("grace@example.com", "192.0.2.1", now.Add(10*time.Minute)); w != 0 {
		t.Errorf("another account waits %v", w)
	}
	if w := th.wait("ada@example.com", "192.0.2.1", now.Add(15*time.Minute)); w != 0 {
		t.Errorf("after the window the account waits %v", w)
	}
	// A success forgets that pair only.
	th.failed("ada@example.com", "198.51.100.7", now.Add(15*time.Minute))
	th.succeeded("ada@example.com", "192.0.2.1")
	if _, ok := th.fails[pairKey("ada@example.com", "192.0.2.1")]; ok {
		t.Error("a success kept the pair's failures")
	}
	if len(th.fails[pairKey("ada@example.com", "198.51.100.7")]) != 1 {
		t.Error("a success from one address forgot the failures from another")
	}

	// Per address: 50 failures over many accounts hold up the address only.
	for i := range 50 {
		th.failed(fmt.Sprintf("user%d@example.com", i), "203.0.113.9", now)
	}
	if w := th.wait("new@example.com", "203.0.113.9", now.Add(time.Minute)); w != 14*time.Minute {
		t.Errorf("the address waits %v, want 14m", w)
	}
	if w := th.wait("new@example.com", "203.0.113.10", now.Add(time.Minute)); w != 0 {
		t.Errorf("another address waits %v", w)
	}
	// Old entries are swept, so the map does not grow without bound.
	th.failed("", "203.0.113.11", now.Add(time.Hour))
	if len(th.fails) != 1 {
		t.Errorf("%d throttle entries after the sweep, want 1", len(th.fails))
	}
}

// An IPv6 client holds a whole /64 and can rotate through it: the throttle
// counts the /64 as one address, for the pair and for the address alone,
// as the API's limits do.
func TestLoginThrottleIPv6Prefix(t *testing.T) {
	t.Parallel()
	th := newLoginThrottle()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		th.failed("ada@example.com", fmt.Sprintf("2001:db8:1:2::%x", i+1), now)
	}
	if w := th.wait("ada@example.com", "2001:db8:1:2:ffff::9", now); w == 0 {
		t.Error("a fresh address in the same /64 guesses the same account again")
	}
	if w := th.wait("ada@example.com", "2001:db8:1:3::1", now); w != 0 {
		t.Errorf("another /64 waits %v", w)
	}
	for i := range 50 {
		th.failed(fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("2001:db8:9:9::%x", i+1), now)
	}
	if w := th.wait("new@example.com", "2001:db8:9:9:abcd::1", now); w == 0 {
		t.Error("50 failures spread over one /64 do not hold up that /64")
	}
}

// The reset requests of one address: 10 an hour, whatever email each names.
func TestForgotThrottle(t *testing.T) {
	t.Parallel()
	th := newForgotThrottle()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		if w := th.attempt("", "192.0.2.1", now.Add(time.Duration(i)*time.Minute)); w != 0 {
			t.Fatalf("request %d waits %v", i+1, w)
		}
	}
	if w := th.attempt("", "192.0.2.1", now.Add(10*time.Minute)); w != 50*time.Minute {
		t.Errorf("the eleventh request waits %v, want 50m", w)
	}
	if w := th.attempt("", "192.0.2.2", now.Add(10*time.Minute)); w != 0 {
		t.Errorf("another address waits %v", w)
	}
}

// TestEditorSettings checks that a save patches only the settings the
// editor shows, so that one it does not show keeps its value.
func TestEditorSettings(t *testing.T) {
	t.Parallel()
	window := forms.Duration(0)
	raw, err := editorSettings(forms.Settings{RedirectURL: "https://example.com/thanks", ImplicitDedupeWindow: &window,
		BlockedWords: []string{"casino"}}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(members)), slices.Sorted(slices.Values(settingKeys)); !slices.Equal(got, want) {
		t.Errorf("patched members %v, want the editor's %v", got, want)
	}
	if string(members["implicit_dedupe_window"]) != `"0"` || string(members["blocked_words"]) != `["casino"]` {
		t.Errorf("patch %s", raw)
	}
	// Every setting has an input: a new member of forms.Settings must get
	// one (and a place in settingKeys), or a page of its own
	// (settingPages), or the dashboard would never show it.
	all, _ := json.Marshal(forms.Settings{}.WithDefaults())
	var every map[string]json.RawMessage
	_ = json.Unmarshal(all, &every)
	for k := range every {
		if _, own := settingPages[k]; !slices.Contains(settingKeys, k) && !own {
			t.Errorf("setting %q has no input in the editor, nor a page of its own", k)
		}
	}
}

// Parallel guesses cannot slip in under the limit while the first ones are
// still being checked: the check and the count are one step, for the pair
// of account and address and for the address alone.
func TestThrottleAttemptIsAtomic(t *testing.T) {
	t.Parallel()
	th := newLoginThrottle()
	now := time.Now()
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			if th.attempt("victim@example.com", "198.51.100.1", now) == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != int32(th.perPair) {
		t.Fatalf("%d of 60 parallel attempts allowed, want %d", n, th.perPair)
	}
	if th.attempt("victim@example.com", "198.51.100.2", now) != 0 {
		t.Error("the same account from another address was held up")
	}
	th.succeeded("victim@example.com", "198.51.100.1")
	if th.attempt("victim@example.com", "198.51.100.1", now) != 0 {
		t.Error("after a success the account may try again from that address")
	}

	// Over many accounts, one address gets exactly perIP attempts.
	allowed.Store(0)
	for i := range 120 {
		wg.Go(func() {
			if th.attempt(fmt.Sprintf("user%d@example.com", i), "203.0.113.5", now) == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != int32(th.perIP) {
		t.Fatalf("%d of 120 parallel attempts from one address allowed, want %d", n, th.perIP)
	}
}

// A secret in a flash is sealed in its cookie: nothing that logs cookies
// on the way (the cookie's path is the whole site) can read it, and only
// the page that takes it sees it.
func TestFlashCookieIsSealed(t *testing.T) {
	t.Parallel()
	d := &Dashboard{flashKey: make([]byte, 32)}
	r := httptest.NewRequest("POST", "/apikeys", nil)
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, &reqState{}))
	w := httptest.NewRecorder()
	secret := "intk_" + strings.Repeat("s", 32)
	d.setFlash(w, r, flash{Kind: flashSuccess, Message: "made", Secret: secret})
	cookie := w.Result().Cookies()[0]
	raw, _ := base64.RawURLEncoding.DecodeString(cookie.Value)
	if strings.Contains(cookie.Value, secret) || strings.Contains(string(raw), secret) || strings.Contains(string(raw), "made") {
		t.Fatalf("the flash cookie carries its content readably: %q", raw)
	}
	next := httptest.NewRequest("GET", "/apikeys", nil)
	next = next.WithContext(context.WithValue(next.Context(), stateKey{}, &reqState{}))
	next.AddCookie(cookie)
	if f := d.takeFlash(httptest.NewRecorder(), next); f.Secret != secret || f.Message != "made" {
		t.Fatalf("takeFlash = %+v", f)
	}
	cookie.Value = cookie.Value[:len(cookie.Value)-2] + "AA"
	tampered := httptest.NewRequest("GET", "/apikeys", nil)
	tampered = tampered.WithContext(context.WithValue(tampered.Context(), stateKey{}, &reqState{}))
	tampered.AddCookie(cookie)
	if f := d.takeFlash(httptest.NewRecorder(), tampered); f != (flash{}) {
		t.Fatalf("a tampered flash was shown: %+v", f)
	}
}

// The dashboard's error page draws the body it shares with the public
// error page (pages' partial "error-body") inside its panel, with what
// only the dashboard shows: the request id of a 500 and a labelled way
// back.
func TestDashboardErrorPageSharesBody(t *testing.T) {
	t.Parallel()
	tmpls, err := parseTemplates(embedded)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	v := errorView{Status: 500, Heading: "Something broke", Message: "It is logged.", RequestID: "req-123",
		BackURL: "/forms", BackLabel: "Go to your forms"}
	if err := tmpls[tmplError.file].ExecuteTemplate(&buf, dashLayoutFile, v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<div class="panel narrow">`, `<p class="status">Error 500</p>`, "<h1>Something broke</h1>",
		`<p class="lead">It is logged.</p>`, "Request id: <code>req-123</code>", `<a class="button" href="/forms">Go to your forms</a>`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the error page lacks %q:\n%s", want, buf.String())
		}
	}
}

// The chart's description names the busiest day in the numbers its bar
// and the legend show (41 submissions and 2 spam), never a total of all
// three that neither shows.
func TestChartBusiestDayAgreesWithItsBar(t *testing.T) {
	day := func(d int, subs, spam, dup int64) submissions.Day {
		return submissions.Day{Date: time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC), Submissions: subs, Spam: spam, Duplicates: dup}
	}
	c := drawChart("c", []submissions.Day{day(20, 30, 0, 1), day(21, 41, 2, 0), day(22, 5, 0, 0)})
	want := "the busiest day was 21 November: 41 submissions, 2 spam, 0 duplicates absorbed."
	if !strings.HasSuffix(c.Desc, want) || c.Days[1].Label != "21 Nov: 41 submissions, 2 spam, 0 duplicates absorbed" {
		t.Errorf("desc %q, bar %q; want the busiest day as its bar says it", c.Desc, c.Days[1].Label)
	}
}
