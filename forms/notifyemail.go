package forms

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// NotificationEmail is the owner's wording of a form's notification email
// (README, "Notification emails"): Subject and Body, in which {{name}}
// stands for the submission's value of the field name, {{_form}} for the
// form's name and {{_id}} for the submission's id. An empty Subject keeps
// the submission's _subject, or else "New submission to <form>"; a Body
// is shown above the table of every field, which stays (as do the links
// to the dashboard and to unsubscribe). The email goes to the form's own
// confirmed addresses, so the values it carries are the ones the table
// shows anyway.
type NotificationEmail struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// Bounds of a notification email's wording, in characters.
const (
	MaxNotificationSubject = 200
	MaxNotificationBody    = 5000
)

// The placeholders every template may use besides the fields.
const (
	PlaceholderForm = "_form"
	PlaceholderID   = "_id"
)

var placeholder = regexp.MustCompile(`\{\{\s*([^{}\s]*)\s*\}\}`)

// Fill returns text with each {{name}} replaced by value(name) ("" for a
// name without one). Values are taken as they are: the caller makes them
// safe for where the text goes (one line for a subject, escaped in HTML).
func Fill(text string, value func(name string) string) string {
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		return value(placeholder.FindStringSubmatch(m)[1])
	})
}

// Placeholders returns the names text uses, in order, each once.
func Placeholders(text string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// check adds the problems of n to errs: text too long, or a placeholder
// that names no field of fields (when the form has fields; a form without
// fields takes any name) and none of the built-in ones.
func (n NotificationEmail) check(fields []Field, errs *ValidationError) {
	known := func(name string) bool {
		return name == PlaceholderForm || name == PlaceholderID || len(fields) == 0 && name != "" ||
			slices.ContainsFunc(fields, func(f Field) bool { return f.Name == name })
	}
	names := make([]string, 0, len(fields)+2)
	for _, f := range fields {
		names = append(names, f.Name)
	}
	names = append(names, PlaceholderForm, PlaceholderID)
	for _, part := range []struct {
		key, label, text string
		max              int
	}{
		{"subject", "The notification's subject", n.Subject, MaxNotificationSubject},
		{"body", "The notification's text", n.Body, MaxNotificationBody},
	} {
		p := Pointer("settings", "notification_email", part.key)
		if utf8.RuneCountInString(part.text) > part.max {
			errs.add("notification_email", CodeInvalid, "max", fmt.Sprintf("%s is longer than %d characters", part.label, part.max), p)
		}
		for _, name := range Placeholders(part.text) {
			if !known(name) {
				errs.add("notification_email", CodeInvalid, "placeholder", fmt.Sprintf("%s uses {{%s}}, which is not a field of this form: use one of {{%s}}",
					part.label, name, strings.Join(names, "}}, {{")), p)
			}
		}
	}
}
