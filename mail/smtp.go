package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Default ports: submission with STARTTLS, and submissions (implicit TLS).
const (
	defaultPortSMTP  = 587
	defaultPortSMTPS = 465
)

// SMTP is the Mailer for INTAKE_SMTP_URL; it opens one connection per message.
// It is safe for concurrent use once configured.
type SMTP struct {
	// TLSConfig, when not nil, is used instead of the default configuration
	// (system roots, TLS 1.2 or later) for STARTTLS and smtps://; it is meant
	// for tests and private CAs. An empty ServerName is filled in with the host
	// of the URL. It must not be changed once Send has been called.
	TLSConfig *tls.Config

	host        string
	port        int
	user        string
	password    string
	implicitTLS bool // smtps://
	requireTLS  bool // smtp://…?starttls=required
}

// NewSMTP returns a Mailer for INTAKE_SMTP_URL: smtp://user:pass@host:port
// (STARTTLS when the server offers it; ?starttls=required insists) or
// smtps://user:pass@host:port for implicit TLS; ports default to 587 and 465.
//
// User and password are optional; with a user, Send authenticates with AUTH
// PLAIN, or LOGIN when only that is offered, and only over TLS or to a loopback
// host. Special characters in them must be percent-encoded. The error for a bad
// URL names what is wrong and never contains the password.
func NewSMTP(rawURL string) (*SMTP, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue.URL would repeat the password
		}
		return nil, fmt.Errorf("mail: SMTP URL does not parse: %w", err)
	}
	s := &SMTP{}
	switch u.Scheme {
	case "smtp":
		s.port = defaultPortSMTP
	case "smtps":
		s.port = defaultPortSMTPS
		s.implicitTLS = true
	case "":
		return nil, errors.New(`mail: SMTP URL has no scheme; it must start with "smtp://" or "smtps://"`)
	default:
		return nil, fmt.Errorf(`mail: SMTP URL scheme %q is not "smtp" or "smtps"`, u.Scheme)
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf(`mail: SMTP URL has no host; write %s://host:port`, u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL port %q is not a number from 1 to 65535", p)
		}
		s.port = n
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("mail: SMTP URL has a path %q; it takes none", u.Path)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
		if s.user == "" && s.password != "" {
			return nil, errors.New("mail: SMTP URL has a password but no user")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP URL query does not parse: %w", err)
	}
	for key, values := range q {
		if key != "starttls" {
			// A typo must not silently weaken TLS, so unknown options are errors.
			return nil, fmt.Errorf("mail: SMTP URL option %q is unknown; the only option is starttls=required", key)
		}
		if len(values) != 1 {
			return nil, errors.New("mail: SMTP URL option starttls is given more than once")
		}
		switch values[0] {
		case "required":
			s.requireTLS = true
		case "opportunistic":
		default:
			return nil, fmt.Errorf(`mail: SMTP URL option starttls=%q is unknown; use "required" or "opportunistic"`, values[0])
		}
		if s.implicitTLS {
			return nil, errors.New("mail: SMTP URL option starttls is for smtp://; smtps:// always uses TLS")
		}
	}
	return s, nil
}

// String returns the URL without the password, for logs.
func (s *SMTP) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(s.host, strconv.Itoa(s.port))}
	if s.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.user != "" {
		u.User = url.User(s.user)
	}
	if s.requireTLS {
		u.RawQuery = "starttls=required"
	}
	return u.String()
}

// Send sends m over one new connection and returns when the server has
// accepted it, refused it, or ctx is done.
//
// The error is a *PermanentError when the message cannot be sent as it is: a
// malformed address, Message-ID or header, or a 5xx reply to MAIL FROM, RCPT
// TO or DATA (Code holds the reply code), except 530 "authentication
// required". Every other error is worth retrying: 4xx replies, connection
// refused, timeouts, ctx ending (the error then wraps ctx's cause), TLS
// failures, and failures before the message is offered (the greeting,
// STARTTLS, AUTH), because those are the state of the server or of the
// configuration, not of the message. Once the server has accepted the data,
// Send returns nil even if closing the session then fails, so that a lost QUIT
// does not make the worker send the message twice.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: send: %w", context.Cause(ctx))
	}

	// go-mail bounds the dial by ctx but every later step only by its own
	// timeout, so the raw connection is closed as soon as ctx is done.
	var (
		conn net.Conn
		stop func() bool
	)
	defer func() {
		if stop != nil {
			stop()
		}
		if conn != nil {
			_ = conn.Close()
		}
	}()
	tlsConfig := s.tlsConfig()
	// go-mail writes the address as host:port, which breaks IPv6 literals.
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	dial := func(dialCtx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		conn = c
		stop = context.AfterFunc(ctx, func() { _ = c.Close() })
		if !s.implicitTLS {
			return c, nil
		}
		// go-mail's smtp client recognises TLS by the *tls.Conn type, so it
		// must be returned unwrapped.
		tc := tls.Client(c, tlsConfig)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		return tc, nil
	}

	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(tlsConfig),
	}
	switch {
	case s.implicitTLS:
		opts = append(opts, gomail.WithSSL()) // the dial did TLS; no STARTTLS
	case s.requireTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	// A Client per message: go-mail's Client keeps per-connection state.
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}

	client, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: connect to %s: %w", addr, errors.Join(context.Cause(ctx), err))
		}
		return fmt.Errorf("mail: connect to %s: %w", addr, err)
	}
	err = c.SendWithSMTPClient(client, msg)
	_ = c.CloseWithSMTPClient(client) // QUIT; its failure changes nothing
	if msg.IsDelivered() {
		return nil
	}
	return classify(ctx, err)
}

// classify turns go-mail's error for an undelivered message into Send's.
//
// go-mail reports the message transaction as *gomail.SendError values (joined
// with errors.Join); ErrorCode is the reply code of the failing command (for
// RCPT TO, of the last refused recipient), 0 when no reply came.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return errors.New("mail: send: message not accepted, no error reported")
	}
	if ctx.Err() != nil {
		return fmt.Errorf("mail: send: %w", errors.Join(context.Cause(ctx), err))
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		// 530 is "authentication required" (RFC 4954): the configuration
		// lacks credentials, which fixing it and retrying cures.
		if code := se.ErrorCode(); code >= 500 && code <= 599 && code != 530 {
			return &PermanentError{Code: code, Err: err}
		}
		if se.Reason == gomail.ErrGetSender || se.Reason == gomail.ErrGetRcpts {
			return &PermanentError{Err: err}
		}
	}
	return fmt.Errorf("mail: send: %w", err)
}

// tlsConfig returns the TLS configuration for the server.
func (s *SMTP) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}
