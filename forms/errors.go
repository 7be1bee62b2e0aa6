package forms

import (
	"errors"
	"strings"

	"github.com/intakehq/intake"
)

var (
	// ErrNotFound is returned when a form does not exist or belongs to another account.
	ErrNotFound error = &intake.Error{Kind: intake.NotFound, Type: intake.TypeNotFound, Msg: "form not found",
		Title: "Form not found", Detail: "No form has this id. Check the endpoint URL in your dashboard.", Code: "FORM_NOT_FOUND"}
	// ErrArchived is returned when a submission is made to an archived form.
	ErrArchived error = &intake.Error{Kind: intake.Gone, Type: intake.TypeFormInactive, Msg: "form is archived",
		Title: "Form is no longer active", Detail: "This form has been archived by its owner and takes no more submissions.", Code: "INACTIVE"}
	// ErrStale is returned by Update when the form changed after the time
	// the change was based on (Patch.UnchangedSince).
	ErrStale = errors.New("form changed since")
)

// Codes of field errors. The TYPE_* and REQUIRED_* ones are Formspree's, so
// clients written for it keep working.
const (
	CodeRequiredMissing = "REQUIRED_FIELD_MISSING"
	CodeRequiredEmpty   = "REQUIRED_FIELD_EMPTY"
	CodeTypeEmail       = "TYPE_EMAIL"
	CodeTypeNumeric     = "TYPE_NUMERIC"
	CodeTypeText        = "TYPE_TEXT"
	CodeEmpty           = "EMPTY"
	CodeUnexpected      = "UNEXPECTED_FIELD"
	CodeInvalid         = "INVALID" // a form definition (not a submission) is wrong
	// CodeTypeChoice is Intake's own, in Formspree's style: a value that is
	// not one of a select's or checkbox's options, or outside a oneof rule.
	// Formspree's client reads it as UNSPECIFIED and shows the message.
	CodeTypeChoice = "TYPE_CHOICE"
)

// FieldError is one thing wrong with one field.
type FieldError = intake.FieldError

// ValidationError carries every field error of a submission or of a form
// definition. It is returned as an error; callers answer 422 with it.
type ValidationError struct {
	Errors []FieldError
}

// Error implements error with the first problems, readable on one line.
func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		msgs = append(msgs, fe.Message)
	}
	return strings.Join(msgs, "; ")
}

// Describe says the submission or definition is invalid, field by field.
func (e *ValidationError) Describe() *intake.Error {
	return &intake.Error{Kind: intake.Invalid, Type: intake.TypeValidation, Title: "Validation failed",
		Detail: "One or more fields are invalid; see errors. Fix them and send again (the same Idempotency-Key may be reused).",
		Hint:   "Go back, correct the fields listed and send the form again.", Fields: e.Errors, Msg: e.Error()}
}

func (e *ValidationError) add(field, code, rule, message, pointer string) {
	e.Errors = append(e.Errors, FieldError{Field: field, Code: code, Rule: rule, Message: message, Pointer: pointer})
}

func (e *ValidationError) orNil() error {
	if e == nil || len(e.Errors) == 0 {
		return nil
	}
	return e
}

// Pointer returns the RFC 9457 JSON pointer ("#/a/b") for path segments,
// escaped per RFC 6901.
func Pointer(segments ...string) string {
	var b strings.Builder
	b.WriteString("#")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
	}
	return b.String()
}
