// Package captchatest runs a loopback siteverify server that speaks one
// CAPTCHA provider's protocol, for tests: it checks each request as the
// provider would (POST, urlencoded secret, response and remoteip), answers
// in that provider's JSON shape and error codes, treats tokens as single-use,
// counts its hits, and can be told to fail the ways a real provider does.
package captchatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/captcha"
)

// Tokens the server knows. Any token starting with GoodPrefix passes once;
// a second use is refused as a duplicate, as the providers do.
const (
	GoodPrefix = "good-"
	BadToken   = "bad-token"
)

// Mode is how the server behaves.
type Mode int

// Modes.
const (
	Normal  Mode = iota // judge tokens
	Down                // answer 503
	Garbage             // answer 200 with something that is not siteverify JSON
	Slow                // answer after Delay
	Hangup              // close the connection without an answer
)

// Hit is one request the server received.
type Hit struct {
	Secret, Response, RemoteIP string
}

// Server is a fake siteverify endpoint for one provider.
type Server struct {
	Provider captcha.Provider
	Secret   string // the form's secret it accepts
	URL      string // its siteverify URL
	Delay    time.Duration

	srv  *httptest.Server
	mu   sync.Mutex
	mode Mode
	hits []Hit
	used map[string]bool
	errs []string // protocol violations seen
}

// New starts a server for p that accepts secret; it stops when t ends, and
// t fails if a request broke the provider's protocol.
func New(t testing.TB, p captcha.Provider, secret string) *Server {
	t.Helper()
	s := &Server{Provider: p, Secret: secret, used: map[string]bool{}, Delay: 2 * time.Second}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + siteverifyPath(p)
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, e := range s.errs {
			t.Errorf("captchatest %s: %s", p, e)
		}
	})
	return s
}

// siteverifyPath is the path of p's real endpoint, so a wrong URL per
// provider shows up as a 404.
func siteverifyPath(p captcha.Provider) string {
	switch p {
	case captcha.Turnstile:
		return "/turnstile/v0/siteverify"
	case captcha.ReCAPTCHA:
		return "/recaptcha/api/siteverify"
	}
	return "/siteverify"
}

// SetMode changes how the server answers from now on.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Hits returns the requests so far.
func (s *Server) Hits() []Hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Hit(nil), s.hits...)
}

// Verifier returns a verifier that sends p's checks to s, with timeout
// (0: captcha.DefaultTimeout).
func (s *Server) Verifier(timeout time.Duration) *captcha.Verifier {
	return &captcha.Verifier{URLs: map[captcha.Provider]string{s.Provider: s.URL}, Timeout: timeout}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	mode := s.mode
	s.mu.Unlock()
	if r.URL.Path != siteverifyPath(s.Provider) {
		s.violation("request to %s, not %s", r.URL.Path, siteverifyPath(s.Provider))
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		s.violation("method %s, want POST", r.Method)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.violation("Content-Type %q, want application/x-www-form-urlencoded", ct)
	}
	if err := r.ParseForm(); err != nil {
		s.violation("body does not parse: %v", err)
	}
	for k := range r.PostForm {
		if k != "secret" && k != "response" && k != "remoteip" {
			s.violation("unexpected parameter %q", k)
		}
	}
	hit := Hit{Secret: r.PostForm.Get("secret"), Response: r.PostForm.Get("response"), RemoteIP: r.PostForm.Get("remoteip")}
	s.mu.Lock()
	s.hits = append(s.hits, hit)
	s.mu.Unlock()

	switch mode {
	case Down:
		http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		return
	case Garbage:
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>captive portal</html>"))
		return
	case Hangup:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case Slow:
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}

	var codes []string
	switch {
	case hit.Secret == "":
		codes = []string{"missing-input-secret"}
	case hit.Secret != s.Secret:
		codes = []string{"invalid-input-secret"}
	case hit.Response == "":
		codes = []string{"missing-input-response"}
	case !strings.HasPrefix(hit.Response, GoodPrefix):
		codes = []string{"invalid-input-response"}
	default:
		s.mu.Lock()
		seen := s.used[hit.Response]
		s.used[hit.Response] = true
		s.mu.Unlock()
		if seen {
			codes = []string{s.duplicateCode()}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.answer(codes))
}

// duplicateCode is how the provider refuses a token used before.
func (s *Server) duplicateCode() string {
	if s.Provider == captcha.HCaptcha {
		return "already-seen-response"
	}
	return "timeout-or-duplicate"
}

// answer is the provider's response shape: the members each one documents.
func (s *Server) answer(codes []string) map[string]any {
	ok := len(codes) == 0
	if codes == nil {
		codes = []string{}
	}
	a := map[string]any{"success": ok, "error-codes": codes}
	if ok {
		a["challenge_ts"] = time.Now().UTC().Format(time.RFC3339)
		a["hostname"] = "site.example"
	}
	switch s.Provider {
	case captcha.Turnstile:
		if ok {
			a["action"] = ""
			a["cdata"] = ""
			a["metadata"] = map[string]any{"interactive": false}
		}
	case captcha.HCaptcha:
		a["credit"] = false
	case captcha.ReCAPTCHA:
		if ok {
			a["score"] = 0.9
			a["action"] = "submit"
		}
	}
	return a
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}
