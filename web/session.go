package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/httpedge"
)

// reqState is what the dashboard knows of a request: its session, if any.
// Log-in and password changes replace the session mid-request, so it is a
// pointer the handlers can update.
type reqState struct {
	session *accounts.Session
	token   string
}

type stateKey struct{}

func state(r *http.Request) *reqState {
	if s, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return s
	}
	return &reqState{}
}

// user returns the logged-in session; requireLogin guarantees one.
func user(r *http.Request) *accounts.Session { return state(r).session }

func (d *Dashboard) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			s, err := accounts.SessionFor(r.Context(), d.DB, c.Value)
			switch {
			case err == nil:
				st.session, st.token = s, c.Value
				if s.Extended {
					// The server gave the session a new lifetime: so does the cookie.
					d.setSessionCookie(w, c.Value, time.Until(s.ExpiresAt))
				}
			case errors.Is(err, accounts.ErrNoSession):
				d.clearCookie(w, sessionCookie) // expired or ended elsewhere
			default:
				d.error(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireLogin sends a logged-out visitor to the log-in page, which brings
// them back here afterwards.
func (d *Dashboard) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if state(r).session != nil {
			next.ServeHTTP(w, r)
			return
		}
		d.toLogin(w, r)
	})
}

// toLogin sends a logged-out visitor to the log-in page, with the page
// they asked for to come back to.
func (d *Dashboard) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	} else {
		d.setFlash(w, r, flash{Kind: flashError, Message: "Your session has ended. Log in again, then repeat what you were doing."})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// startSession logs u in: a new session (any session the request came with
// is ended, so a token planted before log-in is worth nothing after it)
// and its cookie.
func (d *Dashboard) startSession(w http.ResponseWriter, r *http.Request, u *accounts.User) error {
	ctx := r.Context()
	st := state(r)
	if st.token != "" {
		if err := accounts.EndSession(ctx, d.DB, st.token); err != nil {
			return err
		}
	}
	token, err := accounts.NewSession(ctx, d.DB, u, d.clientIP(r), r.UserAgent())
	if err != nil {
		return err
	}
	st.token = token
	st.session = &accounts.Session{UserID: u.ID, AccountID: u.AccountID, Role: u.Role, Email: u.Email, Verified: u.Verified, ExpiresAt: time.Now().Add(accounts.SessionLifetime)}
	d.setSessionCookie(w, token, accounts.SessionLifetime)
	return nil
}

// setSessionCookie sets the cookie that holds the session's token, to last
// as long as the session does on the server.
func (d *Dashboard) setSessionCookie(w http.ResponseWriter, token string, lifetime time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		MaxAge: max(int(lifetime.Seconds()), 1), HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (d *Dashboard) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
}

// localPath reports whether next is a path on this site, safe to redirect
// to after log-in (never another host, never a scheme).
func localPath(next string) bool {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// clientIP is the visitor's address behind the trusted proxies
// (httpedge.ClientIP), for the per-address log-in throttle.
func (d *Dashboard) clientIP(r *http.Request) string { return httpedge.ClientIP(r, d.TrustedProxies) }

// actor is who the audit log says makes the request's change: the session's
// user, from the client's address.
func (d *Dashboard) actor(r *http.Request) audit.Actor {
	return audit.User(user(r).UserID, d.clientIP(r))
}
