package web

import (
	"fmt"
	"github.com/intakehq/intake/submissions"
	"html/template"
	"strconv"
	"time"
)

// dashFuncs are the dashboard templates' functions besides asset.
var dashFuncs = template.FuncMap{
	"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when":     formatWhen,
	"whenExact": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006, 15:04:05 UTC")
	},
	"ago":    ago,
	"plural": plural,
	"inc":    func(i int) int { return i + 1 },
	"ms":     func(d time.Duration) int64 { return d.Milliseconds() },
	"bytes":  submissions.SizeText,
}

// formatWhen is an exact time for people: "22 Nov 2026, 10:34 UTC".
func formatWhen(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// ago is a time relative to now: "just now", "5 min ago", "3 days ago",
// then the date.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return formatWhen(t)
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return plural(int(d.Hours()), "hour", "hours") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d.Hours()/24), "day", "days") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

// plural is "1 submission", "3 submissions".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// orDefault returns s, or fallback when s is empty.
func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
