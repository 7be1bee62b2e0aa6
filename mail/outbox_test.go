package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestOutboxLogs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	o := &Outbox{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	m := testMessage()

	if err := o.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil {
		t.Fatalf("log is not one JSON entry: %v\n%s", err, buf.String())
	}
	for key, want := range map[string]string{
		"level":      "INFO",
		"to":         "owner@example.com",
		"cc":         "cc@example.com",
		"subject":    m.Subject,
		"message_id": m.MessageID,
	} {
		if got, _ := entry[key].(string); got != want {
			t.Errorf("log %s = %q, want %q (entry %v)", key, got, want, entry)
		}
	}
	if _, ok := entry["link"]; ok {
		t.Errorf("a notification's log names a link: %v", entry)
	}
}

// Without SMTP the log is the one mailbox a person who cannot log in can
// read on a local instance: the outbox logs an account email's link.
func TestOutboxLogsAccountLink(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	o := &Outbox{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	link := "http://intake.test/reset?token=abc"
	m := PasswordReset("Intake <no-reply@intake.test>", "ada@example.com", link, time.Now().Add(time.Hour), "<1@intake.test>")
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil || entry["link"] != link {
		t.Errorf("log %s (%v), want the link %s", buf.String(), err, link)
	}
}

func TestOutboxRefusesWhatSMTPWould(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	o := &Outbox{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	m := testMessage()
	m.To = []string{"not an address"}

	var pe *PermanentError
	if err := o.Send(context.Background(), m); !errors.As(err, &pe) {
		t.Fatalf("Send = %v, want a *PermanentError", err)
	}
	if buf.Len() != 0 {
		t.Errorf("logged a message that was refused: %s", buf.String())
	}
}

func TestOutboxNilLogger(t *testing.T) {
	t.Parallel()
	if err := (&Outbox{}).Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
}
