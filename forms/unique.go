package forms

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Unique says what "the same thing" is for a form (README, "One answer per
// person: unique values"): the fields whose values together may be taken
// once — one RSVP per email, one entry per order number — forever or within
// a window. Off while Fields is empty.
type Unique struct {
	// Fields are the contract's fields whose values, normalised (trimmed;
	// lower case for email fields) and combined, must not repeat.
	Fields []string `json:"fields"`
	// Window is how long a value counts: "" for as long as its submission
	// is kept, else a duration from "1h" to "3650d". Each submission keeps
	// the window it was taken with.
	Window string `json:"window"`
	// OnDuplicate is the answer to a repeat: UniqueAccept (a success that
	// points at the submission already stored) or UniqueReject (409).
	OnDuplicate string `json:"on_duplicate"`
}

// Answers to a repeated unique value.
const (
	UniqueAccept = "accept"
	UniqueReject = "reject"
)

// Bounds of the unique setting.
const (
	MaxUniqueFields  = 5
	MinUniqueWindow  = time.Hour
	MaxUniqueWindow  = 3650 * 24 * time.Hour
	maxUniqueWindowS = "3650d"
)

// On reports whether the form takes each value once.
func (u Unique) On() bool { return len(u.Fields) > 0 }

// WindowDuration is how long a value counts; 0 is forever. A stored window
// that no longer parses counts forever, so nothing slips through.
func (u Unique) WindowDuration() time.Duration {
	if u.Window == "" {
		return 0
	}
	d, err := ParseDuration(u.Window)
	if err != nil {
		return 0
	}
	return time.Duration(d)
}

// Hash returns the hash of the values of u's fields in a submission (value
// gives a field's values, as sent), or nil when u is off or any of its
// fields is empty: a submission without the value is not a repeat of
// anything. Values are trimmed; an email field's are lower-cased (the
// whole address: mail providers treat the local part case-insensitively);
// a field with several values counts them as a set.
func (u Unique) Hash(contract []Field, value func(name string) []string) []byte {
	if !u.On() {
		return nil
	}
	parts := make([][]string, 0, len(u.Fields))
	for _, name := range u.Fields {
		email := slices.ContainsFunc(contract, func(f Field) bool { return f.Name == name && f.Type == TypeEmail })
		var vs []string
		for _, v := range value(name) {
			v = strings.TrimSpace(v)
			if email {
				v = strings.ToLower(v)
			}
			if v != "" {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			return nil
		}
		slices.Sort(vs)
		// The field's name leads its values: a value of one field never
		// matches the same value of another after the setting changes.
		parts = append(parts, append([]string{name}, slices.Compact(vs)...))
	}
	b, _ := json.Marshal(parts) // strings only: cannot fail
	sum := sha256.Sum256(b)
	return sum[:]
}

// check adds the problems of u for a form with fields.
func (u Unique) check(fields []Field, errs *ValidationError) {
	seen := map[string]bool{}
	for i, name := range u.Fields {
		p := Pointer("settings", "unique", "fields", fmt.Sprint(i))
		i := slices.IndexFunc(fields, func(f Field) bool { return f.Name == name })
		switch {
		case i < 0:
			errs.add("unique", CodeInvalid, "field", fmt.Sprintf("unique.fields: %q is not one of the form's fields", name), p)
		case fields[i].Type == TypeFile:
			errs.add("unique", CodeInvalid, "field", fmt.Sprintf("unique.fields: %q is a file field, and files cannot be compared", name), p)
		case seen[name]:
			errs.add("unique", CodeInvalid, "field", fmt.Sprintf("unique.fields: %q is listed twice", name), p)
		}
		seen[name] = true
	}
	if len(u.Fields) > MaxUniqueFields {
		errs.add("unique", CodeInvalid, "max", fmt.Sprintf("unique.fields: at most %d fields", MaxUniqueFields), Pointer("settings", "unique", "fields"))
	}
	if u.Window != "" {
		d, err := ParseDuration(u.Window)
		if err != nil || time.Duration(d) < MinUniqueWindow || time.Duration(d) > MaxUniqueWindow {
			errs.add("unique", CodeInvalid, "range", `unique.window must be "" (as long as the submission is kept) or a duration from 1h to `+maxUniqueWindowS+`, such as "24h" or "30d"`, Pointer("settings", "unique", "window"))
		}
	}
	if u.OnDuplicate != UniqueAccept && u.OnDuplicate != UniqueReject {
		errs.add("unique", CodeInvalid, "oneof", `unique.on_duplicate must be "accept" (answer as a success pointing at the first) or "reject" (409)`, Pointer("settings", "unique", "on_duplicate"))
	}
}
