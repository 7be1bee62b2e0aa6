package api

import "time"

// TakeForTest exposes SubmitLimiter.take to the black-box tests.
func TakeForTest(l *SubmitLimiter, ip string, form int64, now time.Time) error {
	return l.take(ip, form, now)
}

// TakeAddressForTest exposes SubmitLimiter.takeAddress to the black-box tests.
func TakeAddressForTest(l *SubmitLimiter, ip string, now time.Time) error {
	return l.takeAddress(ip, now)
}

// GiveBackForTest exposes SubmitLimiter.giveBack to the black-box tests.
func GiveBackForTest(l *SubmitLimiter, ip string, now time.Time) {
	l.giveBack(ip, now)
}

// FreezeForTest stops the limiter's clock at t, so that no token comes
// back while a slow test runs.
func FreezeForTest(l *SubmitLimiter, t time.Time) {
	l.clock = func() time.Time { return t }
}
