package notify_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
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

// A notification attaches the submission's files while they fit in the
// limit, in field order, and links the rest with a signed link; the
// autoresponse never carries a file. Read back as MIME parts from a real
// SMTP server.
func TestSMTPNotificationAttachesFiles(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m, err := mail.NewSMTP("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	fileLinks, err := submissions.NewFileLinks("test secret key", "http://intake.test")
	if err != nil {
		t.Fatal(err)
	}
	b := setupDeps(t, m, 0, func(d *notify.Deps) { d.MaxAttached = 1000; d.FileLinks = fileLinks })
	small := bytes.Repeat([]byte("a"), 600)
	big := bytes.Repeat([]byte("b"), 700) // 600 + 700 > 1000: linked
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("email", "ada@example.com")
	for _, f := range []struct {
		field, name string
		content     []byte
	}{{"cv", "cv.pdf", small}, {"portfolio", "portfolio.zip", big}} {
		w, _ := mw.CreateFormFile(f.field, f.name)
		w.Write(f.content)
	}
	mw.Close()
	p, err := submissions.Parse(mw.FormDataContentType(), &body, submissions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Svc.Accept(t.Context(), submissions.Request{FormID: b.Form.PublicID, Payload: p, Key: "files", IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	b.Settle(t)
	msgs, _ := srv.received()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	attached := map[string][]byte{}
	var text string
	var walk func(r io.Reader, ct string)
	walk = func(r io.Reader, ct string) {
		mt, params, _ := mime.ParseMediaType(ct)
		if !strings.HasPrefix(mt, "multipart/") {
			return
		}
		mr := multipart.NewReader(r, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				return
			}
			pct := part.Header.Get("Content-Type")
			var content io.Reader = part
			if part.Header.Get("Content-Transfer-Encoding") == "base64" {
				content = base64.NewDecoder(base64.StdEncoding, part)
			} else if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
				content = quotedprintable.NewReader(part)
			}
			_, dparams, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			data, _ := io.ReadAll(content)
			switch {
			case dparams["filename"] != "":
				attached[dparams["filename"]] = data
			case strings.HasPrefix(pct, "text/plain"):
				text = string(data)
			case strings.HasPrefix(pct, "multipart/"):
				walk(bytes.NewReader(data), pct)
			}
		}
	}
	walk(msg.Body, msg.Header.Get("Content-Type"))
	if len(attached) != 1 || !bytes.Equal(attached["cv.pdf"], small) {
		t.Errorf("attachments = %d %v, want cv.pdf alone with its bytes", len(attached), slices.Collect(maps.Keys(attached)))
	}
	if !strings.Contains(text, "cv.pdf (600 bytes), attached") || !strings.Contains(text, "portfolio.zip (700 bytes), too big to attach: http://intake.test/files/sub_") {
		t.Errorf("the text does not say what is attached and link the rest:\n%s", text)
	}
}
