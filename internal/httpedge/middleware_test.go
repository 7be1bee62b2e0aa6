package httpedge

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sent string
		keep bool
	}{
		{"Sane", "abc-123", true},
		{"None", "", false},
		{"TooLong", strings.Repeat("a", 65), false},
		{"Space", "a b", false},
		{"NotASCII", "é", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			var seen string
			h := RequestID(slog.New(slog.NewTextHandler(&logs, nil)))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = RequestIDFrom(r.Context())
				Logger(r.Context()).Info("hello")
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.sent != "" {
				req.Header.Set(RequestIDHeader, tt.sent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(RequestIDHeader)
			if tt.keep && got != tt.sent {
				t.Errorf("id = %q, want the client's %q", got, tt.sent)
			}
			if !tt.keep && (got == tt.sent || len(got) != 16) {
				t.Errorf("id = %q, want a new one", got)
			}
			if seen != got {
				t.Errorf("RequestIDFrom = %q, the answer says %q", seen, got)
			}
			if !strings.Contains(logs.String(), "request_id="+got) {
				t.Errorf("the request's logger lacks its id: %s", logs.String())
			}
		})
	}
}

func TestOutsideRequestID(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	if id := RequestIDFrom(r.Context()); id != "" {
		t.Errorf("RequestIDFrom = %q", id)
	}
	if Logger(r.Context()) != slog.Default() {
		t.Error("Logger is not slog.Default outside RequestID")
	}
}

func TestLogRequests(t *testing.T) {
	t.Parallel()
	counted := map[string]int{}
	r := chi.NewRouter()
	r.Use(LogRequests(func(route string, status int) { counted[route] = status }))
	r.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, path := range []string{"/things/1", "/nowhere"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	if counted["/things/{id}"] != http.StatusTeapot || counted["unmatched"] != http.StatusNotFound || len(counted) != 2 {
		t.Errorf("counted %v", counted)
	}
}

func TestRecoverer(t *testing.T) {
	t.Parallel()
	answer := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}

	t.Run("Panic", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		h := RequestID(slog.New(slog.NewTextHandler(&logs, nil)))(Recoverer(answer)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("boom")
		})))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("status = %d", rec.Code)
		}
		if !strings.Contains(logs.String(), "panic=boom") || !strings.Contains(logs.String(), "request_id=") {
			t.Errorf("the panic was not logged with the request id: %s", logs.String())
		}
	})

	t.Run("Abort", func(t *testing.T) {
		t.Parallel()
		h := Recoverer(answer)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler to go on up", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
}

// A route's token parameter never reaches the logs; other parameters do.
func TestLogPathHidesTokens(t *testing.T) {
	t.Parallel()
	var got []string
	r := chi.NewRouter()
	for _, p := range []string{"/invites/{token}", "/forms/{id}"} {
		r.Get(p, func(w http.ResponseWriter, r *http.Request) { got = append(got, LogPath(r)) })
	}
	for _, path := range []string{"/invites/s3cr3t-t0ken", "/forms/abc"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	if len(got) != 2 || got[0] != "/invites/[token]" || got[1] != "/forms/abc" {
		t.Errorf("logged paths %q", got)
	}
}
