package api

import "time"

// FreezeAuthForTest stops the unknown-key limiter's clock at t, so that no
// token comes back while a slow test runs.
func FreezeAuthForTest(l *AuthLimiter, t time.Time) {
	l.clock = func() time.Time { return t }
}
