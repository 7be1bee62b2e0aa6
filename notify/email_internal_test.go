package notify

import (
	"errors"
	"fmt"
	"testing"

	"github.com/riverqueue/river"

	"github.com/intakehq/intake/mail"
)

// classifySend decides a send's outcome from its error and the attempt
// alone, and jobError tells River the same.
func TestClassifySend(t *testing.T) {
	t.Parallel()
	refused := fmt.Errorf("send: %w", &mail.PermanentError{Code: 550, Err: errors.New("mailbox unavailable")})
	down := errors.New("connection refused")
	cases := []struct {
		name          string
		err           error
		attempt       int
		state, result string
		cancel, fails bool
	}{
		{"sent", nil, 1, EmailSent, EmailSent, false, false},
		{"refused for good", refused, 1, EmailFailed, "failed", true, true},
		{"refused for good on the last attempt", refused, 10, EmailFailed, "failed", true, true},
		{"transient", down, 3, "", "retry", false, true},
		{"transient on the last attempt", down, 10, EmailFailed, "failed", false, true},
	}
	for _, c := range cases {
		o := classifySend(c.err, c.attempt, 10, EmailSent)
		if o.state != c.state || o.result != c.result || o.cancel != c.cancel || (o.failure != nil) != c.fails {
			t.Errorf("%s: %+v", c.name, o)
		}
		var cancel *river.JobCancelError
		err := o.jobError(nil)
		if errors.As(err, &cancel) != c.cancel || (err != nil) != c.fails {
			t.Errorf("%s: jobError = %v", c.name, err)
		}
		if text := o.errorText(); (text != nil) != c.fails {
			t.Errorf("%s: errorText = %v", c.name, text)
		}
	}
	if o := classifySend(nil, 1, 10, EmailOutbox); o.state != EmailOutbox || o.result != EmailOutbox {
		t.Errorf("outbox: %+v", o)
	}
}
