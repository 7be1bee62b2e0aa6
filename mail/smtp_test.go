package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testMessage is a notification with everything set: Cc, Reply-To, both bodies.
func testMessage() *Message {
	m := Notification("Intake <no-reply@localhost>", "owner@example.com", []string{"cc@example.com"},
		"ada@example.org", "Hello from the contact form", testSubmission(),
		MessageID("localhost", "sub_123", "owner@example.com", "notification"))
	m.Headers = map[string]string{"Auto-Submitted": "auto-generated"}
	return m
}

// newTestSMTP returns the Mailer for rawURL, trusting the test certificate.
func newTestSMTP(t *testing.T, rawURL string) *SMTP {
	t.Helper()
	s, err := NewSMTP(rawURL)
	if err != nil {
		t.Fatalf("NewSMTP(%q): %v", rawURL, err)
	}
	s.TLSConfig = &tls.Config{RootCAs: testCert(t).pool}
	return s
}

func sendCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// onlyMessage returns the one message b received.
func onlyMessage(t *testing.T, b *backend) received {
	t.Helper()
	msgs := b.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func TestSMTPSendDelivers(t *testing.T) {
	t.Parallel()
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	m := testMessage()

	if err := newTestSMTP(t, "smtp://"+addr).Send(sendCtx(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := onlyMessage(t, b)
	if got.From != "no-reply@localhost" {
		t.Errorf("envelope sender = %q, want no-reply@localhost", got.From)
	}
	if want := []string{"owner@example.com", "cc@example.com"}; !slices.Equal(got.To, want) {
		t.Errorf("envelope recipients = %q, want %q", got.To, want)
	}
	raw := string(got.Data)
	if !strings.Contains(raw, "\r\nMessage-ID: "+m.MessageID+"\r\n") && !strings.HasPrefix(raw, "Message-ID: "+m.MessageID+"\r\n") {
		t.Errorf("raw data has no line %q:\n%s", "Message-ID: "+m.MessageID, raw)
	}

	p := parse(t, got.Data)
	for name, want := range map[string]string{
		"Message-ID":     m.MessageID,
		"From":           `"Intake" <no-reply@localhost>`,
		"To":             "<owner@example.com>",
		"Cc":             "<cc@example.com>",
		"Reply-To":       "<ada@example.org>",
		"Subject":        "Hello from the contact form",
		"Auto-Submitted": "auto-generated",
	} {
		if g := decodeHeader(t, p.Header.Get(name)); g != want {
			t.Errorf("header %s = %q, want %q", name, g, want)
		}
	}
	if p.Type != "multipart/alternative" {
		t.Errorf("Content-Type = %q, want multipart/alternative", p.Type)
	}
	if g := p.Parts["text/plain"]; g != m.Text {
		t.Errorf("text/plain part =\n%s\nwant\n%s", g, m.Text)
	}
	if g := p.Parts["text/html"]; g != m.HTML {
		t.Errorf("text/html part =\n%s\nwant\n%s", g, m.HTML)
	}
	if got.TLS {
		t.Error("session was TLS against a server without TLS")
	}
}

func TestSMTPSendTextOnlyNoReplyTo(t *testing.T) {
	t.Parallel()
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	m := &Message{
		From:      "no-reply@localhost",
		To:        []string{"owner@example.com"},
		Subject:   "Plain",
		Text:      "just text\n",
		MessageID: MessageID("localhost", "plain"),
	}
	if err := newTestSMTP(t, "smtp://"+addr).Send(sendCtx(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	p := parse(t, onlyMessage(t, b).Data)
	if p.Type != "text/plain" || p.Parts["text/plain"] != "just text\n" {
		t.Errorf("got %s %q, want text/plain %q", p.Type, p.Parts["text/plain"], "just text\n")
	}
	for _, h := range []string{"Reply-To", "Cc", "Auto-Submitted", "User-Agent", "X-Mailer"} {
		if v := p.Header.Get(h); v != "" {
			t.Errorf("header %s = %q, want none", h, v)
		}
	}
}

func TestSMTPSendHeaderInjection(t *testing.T) {
	t.Parallel()
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	m := Notification("Intake <no-reply@localhost>", "owner@example.com",
		[]string{"x@example.com\r\nBcc: cc-evil@example.net"},
		"ada@example.org\r\nBcc: rt-evil@example.net",
		"Hi\r\nBcc: subject-evil@example.net\r\n\r\nfake body",
		Submission{FormName: "Contact\r\nBcc: form-evil@example.net", SubmissionID: "sub_1"},
		MessageID("localhost", "sub_1"))
	m.Headers = map[string]string{"X-Note": "one\r\nBcc: header-evil@example.net"}

	if err := newTestSMTP(t, "smtp://"+addr).Send(sendCtx(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := onlyMessage(t, b)
	if want := []string{"owner@example.com"}; !slices.Equal(got.To, want) {
		t.Errorf("envelope recipients = %q, want %q", got.To, want)
	}
	p := parse(t, got.Data)
	if v := p.Header["Bcc"]; v != nil {
		t.Errorf("a Bcc header was injected: %q", v)
	}
	if v := p.Header.Get("Reply-To"); v != "" {
		t.Errorf("Reply-To = %q, want none (the value had a line break)", v)
	}
	if g, want := decodeHeader(t, p.Header.Get("Subject")), "Hi Bcc: subject-evil@example.net fake body"; g != want {
		t.Errorf("Subject = %q, want %q", g, want)
	}
	if g, want := decodeHeader(t, p.Header.Get("X-Note")), "one Bcc: header-evil@example.net"; g != want {
		t.Errorf("X-Note = %q, want %q", g, want)
	}
}

func TestSMTPAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		loginOnly bool
		userinfo  string
		wantErr   bool
	}{
		{name: "plain", userinfo: "ada:s3cret@"},
		{name: "login only", loginOnly: true, userinfo: "ada:s3cret@"},
		{name: "percent-encoded password", userinfo: "ada:p%40ss%3Aword@", wantErr: false},
		{name: "wrong password", userinfo: "ada:wrong@", wantErr: true},
		{name: "no credentials", userinfo: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			password := "s3cret"
			if tt.name == "percent-encoded password" {
				password = "p@ss:word"
			}
			b := &backend{User: "ada", Password: password, LoginOnly: tt.loginOnly}
			addr := startServer(t, b, serverOpts{})

			err := newTestSMTP(t, "smtp://"+tt.userinfo+addr).Send(sendCtx(t), testMessage())
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				onlyMessage(t, b)
				return
			}
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if n := len(b.Messages()); n != 0 {
				t.Errorf("server received %d messages, want 0", n)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestSMTPWrongPasswordIsNotPermanent(t *testing.T) {
	t.Parallel()
	b := &backend{User: "ada", Password: "s3cret"}
	addr := startServer(t, b, serverOpts{})
	err := newTestSMTP(t, "smtp://ada:wrong@"+addr).Send(sendCtx(t), testMessage())
	var pe *PermanentError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("Send = %v, want an error that is not a *PermanentError (the configuration, not the message, is wrong)", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q contains the password", err)
	}
}

func TestSMTPReplyCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		rcpt, data    int // reply codes
		wantPermanent bool
		wantCode      int
	}{
		{name: "RCPT 550", rcpt: 550, wantPermanent: true, wantCode: 550},
		{name: "RCPT 553", rcpt: 553, wantPermanent: true, wantCode: 553},
		{name: "DATA 554", data: 554, wantPermanent: true, wantCode: 554},
		{name: "DATA 552", data: 552, wantPermanent: true, wantCode: 552},
		{name: "RCPT 451", rcpt: 451},
		{name: "RCPT 450", rcpt: 450},
		{name: "DATA 451", data: 451},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &backend{RcptCode: tt.rcpt, DataCode: tt.data}
			addr := startServer(t, b, serverOpts{})
			err := newTestSMTP(t, "smtp://"+addr).Send(sendCtx(t), testMessage())
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			var pe *PermanentError
			if got := errors.As(err, &pe); got != tt.wantPermanent {
				t.Fatalf("errors.As(%v, *PermanentError) = %v, want %v", err, got, tt.wantPermanent)
			}
			if tt.wantPermanent && pe.Code != tt.wantCode {
				t.Errorf("Code = %d, want %d (error %v)", pe.Code, tt.wantCode, err)
			}
			if n := len(b.Messages()); n != 0 {
				t.Errorf("server kept %d messages, want 0", n)
			}
		})
	}
}

func TestSMTPClosedPortIsNotPermanent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	err = newTestSMTP(t, "smtp://"+addr).Send(sendCtx(t), testMessage())
	var pe *PermanentError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("Send = %v, want an error that is not a *PermanentError", err)
	}
}

func TestSMTPRespectsContext(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	s := newTestSMTP(t, "smtp://"+l.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, testMessage())
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Send took %v after its context ended", elapsed)
	}
	var pe *PermanentError
	if err == nil || errors.As(err, &pe) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want a non-permanent error wrapping context.DeadlineExceeded", err)
	}

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := s.Send(cancelled, testMessage()); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestSMTPTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scheme  string
		query   string
		opts    serverOpts
		auth    bool
		trust   bool
		wantErr bool
		wantTLS bool
	}{
		{name: "smtps", scheme: "smtps", opts: serverOpts{ImplicitTLS: true}, trust: true, wantTLS: true},
		{name: "smtps with auth", scheme: "smtps", opts: serverOpts{ImplicitTLS: true}, auth: true, trust: true, wantTLS: true},
		{name: "starttls required", scheme: "smtp", query: "?starttls=required", opts: serverOpts{StartTLS: true}, trust: true, wantTLS: true},
		{name: "starttls required with auth", scheme: "smtp", query: "?starttls=required", opts: serverOpts{StartTLS: true}, auth: true, trust: true, wantTLS: true},
		{name: "starttls when offered", scheme: "smtp", opts: serverOpts{StartTLS: true}, trust: true, wantTLS: true},
		{name: "starttls required but not offered", scheme: "smtp", query: "?starttls=required", opts: serverOpts{}, trust: true, wantErr: true},
		{name: "smtps with an untrusted certificate", scheme: "smtps", opts: serverOpts{ImplicitTLS: true}, wantErr: true},
		{name: "starttls with an untrusted certificate", scheme: "smtp", opts: serverOpts{StartTLS: true}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &backend{}
			userinfo := ""
			if tt.auth {
				b.User, b.Password = "ada", "s3cret"
				userinfo = "ada:s3cret@"
			}
			addr := startServer(t, b, tt.opts)
			s, err := NewSMTP(tt.scheme + "://" + userinfo + addr + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if tt.trust {
				s.TLSConfig = &tls.Config{RootCAs: testCert(t).pool}
			}

			err = s.Send(sendCtx(t), testMessage())
			if tt.wantErr {
				var pe *PermanentError
				if err == nil || errors.As(err, &pe) {
					t.Fatalf("Send = %v, want an error that is not a *PermanentError", err)
				}
				if n := len(b.Messages()); n != 0 {
					t.Errorf("server received %d messages, want 0", n)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := onlyMessage(t, b); got.TLS != tt.wantTLS {
				t.Errorf("session TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
		})
	}
}

func TestSMTPRefusesMalformedMessages(t *testing.T) {
	t.Parallel()
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	s := newTestSMTP(t, "smtp://"+addr)
	tests := map[string]func(m *Message){
		"bad From":              func(m *Message) { m.From = "not an address" },
		"From with CRLF":        func(m *Message) { m.From = "a@example.com\r\nBcc: b@example.com" },
		"no To":                 func(m *Message) { m.To = nil },
		"bad To":                func(m *Message) { m.To = []string{"owner@"} },
		"bad Cc":                func(m *Message) { m.Cc = []string{"@example.com"} },
		"bad Reply-To":          func(m *Message) { m.ReplyTo = "x" },
		"Reply-To with LF":      func(m *Message) { m.ReplyTo = "a@example.com\nX: y" },
		"no Message-ID":         func(m *Message) { m.MessageID = "" },
		"Message-ID no angles":  func(m *Message) { m.MessageID = "abc@localhost" },
		"Message-ID with CRLF":  func(m *Message) { m.MessageID = "<a@b>\r\nBcc: c@d" },
		"header name with CRLF": func(m *Message) { m.Headers = map[string]string{"X-A\r\nBcc": "c@d"} },
		"header name colon":     func(m *Message) { m.Headers = map[string]string{"X-A:": "b"} },
		"reserved header":       func(m *Message) { m.Headers = map[string]string{"bcc": "c@example.com"} },
		"reserved Message-Id":   func(m *Message) { m.Headers = map[string]string{"message-id": "<x@y>"} },
	}
	for name, change := range tests {
		m := testMessage()
		change(m)
		err := s.Send(sendCtx(t), m)
		var pe *PermanentError
		if !errors.As(err, &pe) || pe.Code != 0 {
			t.Errorf("%s: Send = %v, want a *PermanentError with Code 0", name, err)
		}
	}
	if n := len(b.Messages()); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	valid := []struct {
		url, want string
		user, pw  string
	}{
		{url: "smtp://mail.example.com", want: "smtp://mail.example.com:587"},
		{url: "SMTP://mail.example.com:2525/", want: "smtp://mail.example.com:2525"},
		{url: "smtps://mail.example.com", want: "smtps://mail.example.com:465"},
		{url: "smtp://ada:s3cret@mail.example.com:25", want: "smtp://ada@mail.example.com:25", user: "ada", pw: "s3cret"},
		{url: "smtp://ada%40example.com:p%40ss%3Aw@mail.example.com", want: "smtp://ada%40example.com@mail.example.com:587", user: "ada@example.com", pw: "p@ss:w"},
		{url: "smtp://ada@mail.example.com", want: "smtp://ada@mail.example.com:587", user: "ada"},
		{url: "smtp://mail.example.com?starttls=required", want: "smtp://mail.example.com:587?starttls=required"},
		{url: "smtp://mail.example.com?starttls=opportunistic", want: "smtp://mail.example.com:587"},
		{url: "smtp://[::1]:1025", want: "smtp://[::1]:1025"},
		{url: "  smtp://mailpit:1025  ", want: "smtp://mailpit:1025"},
	}
	for _, tt := range valid {
		s, err := NewSMTP(tt.url)
		if err != nil {
			t.Errorf("NewSMTP(%q): %v", tt.url, err)
			continue
		}
		if got := s.String(); got != tt.want {
			t.Errorf("NewSMTP(%q).String() = %q, want %q", tt.url, got, tt.want)
		}
		if s.user != tt.user || s.password != tt.pw {
			t.Errorf("NewSMTP(%q) user, password = %q, %q, want %q, %q", tt.url, s.user, s.password, tt.user, tt.pw)
		}
	}

	invalid := []struct{ url, mention string }{
		{"", "scheme"},
		{"mail.example.com:587", "scheme"},
		{"http://mail.example.com", "scheme"},
		{"smtp://", "no host"},
		{"smtp://ada:s3cret@", "no host"},
		{"smtp://:25", "no host"},
		{"smtp:mail.example.com", "no host"},
		{"smtp://mail.example.com:0", "port"},
		{"smtp://mail.example.com:70000", "port"},
		{"smtp://ada:s3cret@mail.example.com:abc", "parse"},
		{"smtp://mail.example.com/relay", "path"},
		{"smtp://mail.example.com?starttls=yes", "starttls"},
		{"smtp://mail.example.com?starttls=required&starttls=required", "more than once"},
		{"smtp://mail.example.com?tls=required", "unknown"},
		{"smtps://mail.example.com?starttls=required", "smtps"},
		{"smtp://:s3cret@mail.example.com", "no user"},
		{"smtp://ada:s3cret@mail example.com", "parse"},
	}
	for _, tt := range invalid {
		_, err := NewSMTP(tt.url)
		if err == nil {
			t.Errorf("NewSMTP(%q) succeeded, want an error", tt.url)
			continue
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("NewSMTP(%q) = %q, want it to mention %q", tt.url, err, tt.mention)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewSMTP(%q) = %q, which contains the password", tt.url, err)
		}
	}
}

func TestSMTPTLSConfigIsNotModified(t *testing.T) {
	t.Parallel()
	s := newTestSMTP(t, "smtps://127.0.0.1:1")
	cfg := s.tlsConfig()
	if cfg.ServerName != "127.0.0.1" || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("tlsConfig() ServerName, MinVersion = %q, %x", cfg.ServerName, cfg.MinVersion)
	}
	if s.TLSConfig.ServerName != "" {
		t.Error("tlsConfig() changed the caller's TLSConfig")
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	t.Parallel()
	b := &backend{User: "ada", Password: "s3cret"}
	addr := startServer(t, b, serverOpts{StartTLS: true})
	s := newTestSMTP(t, "smtp://ada:s3cret@"+addr+"?starttls=required")

	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			m := testMessage()
			m.MessageID = MessageID("localhost", "concurrent", strconv.Itoa(i))
			errs <- s.Send(sendCtx(t), m)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(b.Messages()); got != n {
		t.Errorf("server received %d messages, want %d", got, n)
	}
}

func TestSMTPIPv6Host(t *testing.T) {
	t.Parallel()
	b := &backend{User: "ada", Password: "s3cret"}
	addr := startServer(t, b, serverOpts{Host: "::1", ImplicitTLS: true})
	if err := newTestSMTP(t, "smtps://ada:s3cret@"+addr).Send(sendCtx(t), testMessage()); err != nil {
		t.Fatalf("Send to %s: %v", addr, err)
	}
	onlyMessage(t, b)
}
