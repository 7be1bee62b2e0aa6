package mail

import (
	"context"
	"log/slog"
	"strings"
)

// Outbox is the Mailer used when INTAKE_SMTP_URL is empty: it sends nothing and
// logs the message (to, subject, message id, and an account email's Link) at
// info level; the worker records
// it in the database with the state "outbox".
type Outbox struct {
	Logger *slog.Logger // nil means slog.Default()
}

// Send logs m and returns nil, or the *PermanentError that SMTP.Send would
// return for a message that cannot be sent (a malformed address, Message-ID or
// header), so that development finds what production would refuse.
func (o *Outbox) Send(ctx context.Context, m *Message) error {
	if _, err := build(m); err != nil {
		return err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs := []slog.Attr{
		slog.String("to", strings.Join(m.To, ", ")),
		slog.String("subject", subjectLine(m.Subject)),
		slog.String("message_id", m.MessageID),
	}
	if len(m.Cc) > 0 {
		attrs = append(attrs, slog.String("cc", strings.Join(m.Cc, ", ")))
	}
	if m.Link != "" {
		// Without SMTP nothing reaches the recipient: someone running
		// Intake locally verifies or resets from here (or the dashboard's
		// outbox). An SMTP Mailer never logs the link.
		attrs = append(attrs, slog.String("link", m.Link))
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "mail: not sent, no SMTP server configured (outbox)", attrs...)
	return nil
}
