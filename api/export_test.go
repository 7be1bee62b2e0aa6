package api

import "time"

// TakeForTest exposes SubmitLimiter.take to the black-box tests.
func TakeForTest(l *SubmitLimiter, ip string, form int64, now time.Time) error {
	return l.take(ip, form, now)
}
