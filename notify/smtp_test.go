package notify_test

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/mail"
)

// smtpServer is a real SMTP server in-process that keeps what it receives.
type smtpServer struct {
	addr     string
	mu       sync.Mutex
	messages [][]byte
	rcpts    []string
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }

func (s *smtpServer) received() ([][]byte, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.messages...), append([]string(nil), s.rcpts...)
}

type smtpSession struct {
	s  *smtpServer
	to []string
}

func (x *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	x.s.mu.Lock()
	x.s.messages = append(x.s.messages, b)
	x.s.rcpts = append(x.s.rcpts, x.to...)
	x.s.mu.Unlock()
	return err
}
func (x *smtpSession) Reset()        { x.to = nil }
func (x *smtpSession) Logout() error { return nil }

// Through real SMTP: one notification per submission however often it is
// retried, with the Message-ID the outbox row records.
func TestSMTPOneEmailPerSubmission(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m, err := mail.NewSMTP("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, m)
	for range 5 {
		b.Submit(t, "once", testfactory.Contact(1))
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { b.Submit(t, "twins", testfactory.Contact(2)) })
	}
	wg.Wait()
	b.Settle(t)

	msgs, rcpts := srv.received()
	if len(msgs) != 2 {
		t.Fatalf("the SMTP server got %d messages, want 2", len(msgs))
	}
	for _, r := range rcpts {
		if r != b.Account.User.Email {
			t.Errorf("recipient %q, want the owner", r)
		}
	}
	rows, err := b.DB.Query(t.Context(), `SELECT message_id FROM outbound_emails WHERE state = 'sent'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		rows.Scan(&id)
		n++
		found := false
		for _, msg := range msgs {
			if bytes.Contains(msg, []byte("Message-ID: "+id)) || strings.Contains(unfold(string(msg)), "Message-ID: "+id) {
				found = true
			}
		}
		if !found {
			t.Errorf("no message on the wire carries the recorded Message-ID %s", id)
		}
	}
	if n != 2 {
		t.Errorf("sent rows = %d, want 2", n)
	}
}

func unfold(s string) string { return strings.NewReplacer("\r\n ", " ", "\r\n\t", " ").Replace(s) }
