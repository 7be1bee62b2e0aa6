package httpedge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// RequestIDHeader carries a request's id both ways: a sane one the client
// sends is kept, and every answer carries it; the logs carry it too
// (README, "Operations"; docs/errors.md, internal-error).
const RequestIDHeader = "X-Request-Id"

type requestKey struct{}

// requestInfo is what RequestID puts in a request's context.
type requestInfo struct {
	id     string
	logger *slog.Logger
}

// RequestID takes a sane incoming X-Request-Id or makes one, echoes it, and
// puts it and base carrying it in the request's context, for RequestIDFrom
// and Logger.
func RequestID(base *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if id == "" || len(id) > 64 || !printable(id) {
				b := make([]byte, 8)
				rand.Read(b)
				id = hex.EncodeToString(b)
			}
			w.Header().Set(RequestIDHeader, id)
			info := &requestInfo{id: id, logger: base.With("request_id", id)}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, info)))
		})
	}
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// RequestIDFrom is the id RequestID gave the request; "" outside it.
func RequestIDFrom(ctx context.Context) string {
	if info, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// Logger is the logger RequestID put in ctx, carrying the request id;
// slog.Default outside it.
func Logger(ctx context.Context) *slog.Logger {
	if info, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return info.logger
	}
	return slog.Default()
}

// LogRequests logs every request at debug level once it is answered, and
// hands count its route pattern ("unmatched" for none) and status, for the
// request metrics.
func LogRequests(count func(route string, status int)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			count(route, ww.Status())
			Logger(r.Context()).DebugContext(r.Context(), "http request", "method", r.Method, "path", LogPath(r),
				"status", ww.Status(), "duration", time.Since(start))
		})
	}
}

// Recoverer turns a handler's panic into a logged internal error that
// answer writes (http.ErrAbortHandler, the deliberate abort, goes on up).
func Recoverer(answer http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					Logger(r.Context()).ErrorContext(r.Context(), "panic", "panic", v, "stack", string(debug.Stack()))
					answer(w, r)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// LogPath is r's path as logs may hold it: a route parameter named token
// (an invitation's link, /invites/{token}) is replaced by "[token]", as
// links that carry their token in the query never show it. Whoever reads
// the logs must not be able to follow a live link.
func LogPath(r *http.Request) string {
	path := r.URL.Path
	if rc := chi.RouteContext(r.Context()); rc != nil {
		for i, k := range rc.URLParams.Keys {
			if k == "token" && i < len(rc.URLParams.Values) && rc.URLParams.Values[i] != "" {
				path = strings.ReplaceAll(path, rc.URLParams.Values[i], "[token]")
			}
		}
	}
	return path
}
