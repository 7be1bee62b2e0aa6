package mail

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the test SMTP server got it.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool // whether the session was encrypted when DATA came
}

// backend is a go-smtp Backend that records every message and can be told to
// refuse RCPT or DATA with a reply code, or to require AUTH.
type backend struct {
	RcptCode  int    // non-zero: answer RCPT TO with this code
	DataCode  int    // non-zero: answer DATA with this code
	User      string // non-empty: require AUTH with User and Password
	Password  string
	LoginOnly bool // offer AUTH LOGIN instead of PLAIN

	mu       sync.Mutex
	messages []received
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, conn: c}, nil
}

// Messages returns what was received so far.
func (b *backend) Messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.messages...)
}

func codeError(code int) *smtp.SMTPError {
	return &smtp.SMTPError{
		Code:         code,
		EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
		Message:      "refused by the test server",
	}
}

type session struct {
	b      *backend
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string {
	switch {
	case s.b.User == "":
		return nil
	case s.b.LoginOnly:
		return []string{"LOGIN"}
	default:
		return []string{sasl.Plain}
	}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		if username != s.b.User || password != s.b.Password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.User != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.RcptCode != 0 {
		return codeError(s.b.RcptCode)
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.DataCode != 0 {
		return codeError(s.b.DataCode)
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, received{From: s.from, To: s.to, Data: data, TLS: isTLS})
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl does not have.
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(response) > 0 { // initial response: the username
			l.username = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.username, string(response))
	}
	return nil, true, errors.New("unexpected LOGIN step")
}

// serverOpts says how the test server speaks TLS.
type serverOpts struct {
	ImplicitTLS       bool   // smtps: TLS from the first byte
	StartTLS          bool   // offer STARTTLS
	AllowInsecureAuth bool   // allow AUTH without TLS (default off only when TLS is on)
	Host              string // the address to listen on; default 127.0.0.1
}

// startServer runs a go-smtp server for b (on 127.0.0.1 unless o.Host says
// otherwise) and returns its address.
func startServer(t *testing.T, b *backend, o serverOpts) string {
	t.Helper()
	s := smtp.NewServer(b)
	s.Domain = "localhost"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.AllowInsecureAuth = o.AllowInsecureAuth || (!o.ImplicitTLS && !o.StartTLS)
	s.ErrorLog = log.New(io.Discard, "", 0)

	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		// Only the IPv6 test may skip, on a machine without IPv6 loopback
		// (unless INTAKE_REQUIRE_IPV6 is set, as CI does); the SMTP server
		// on 127.0.0.1 is what every other test needs.
		if strings.Contains(host, ":") && os.Getenv("INTAKE_REQUIRE_IPV6") == "" {
			t.Skipf("no IPv6 loopback here: %v; set INTAKE_REQUIRE_IPV6=1 to fail instead", err)
		}
		t.Fatalf("cannot listen on %s: %v", host, err)
	}
	if o.ImplicitTLS || o.StartTLS {
		cfg := &tls.Config{Certificates: []tls.Certificate{testCert(t).cert}, MinVersion: tls.VersionTLS12}
		if o.StartTLS {
			s.TLSConfig = cfg
		}
		if o.ImplicitTLS {
			l = tls.NewListener(l, cfg)
		}
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().String()
}

type certPair struct {
	cert tls.Certificate
	pool *x509.CertPool
}

var (
	certOnce sync.Once
	certVal  certPair
	certErr  error
)

// testCert returns a self-signed certificate for 127.0.0.1 and localhost, and
// a pool that trusts it.
func testCert(t *testing.T) certPair {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "intake mail test"},
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			DNSNames:              []string{"localhost"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			certErr = err
			return
		}
		pool := x509.NewCertPool()
		pool.AddCert(leaf)
		certVal = certPair{
			cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
			pool: pool,
		}
	})
	if certErr != nil {
		t.Fatal(certErr)
	}
	return certVal
}

// parsed is a received message taken apart.
type parsed struct {
	Header netmail.Header
	Parts  map[string]string // decoded body by media type
	Type   string            // the top-level media type
}

// parse takes raw message data apart, decoding quoted-printable bodies and
// normalising line ends to "\n".
func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	p := parsed{Header: msg.Header, Parts: map[string]string{}}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	p.Type = mediaType
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.Parts[mediaType] = decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		p.Parts[pt] = decodeBody(t, part.Header.Get("Content-Transfer-Encoding"), part)
	}
	return p
}

func decodeBody(t *testing.T, encoding string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// decodeHeader decodes RFC 2047 encoded words.
func decodeHeader(t *testing.T, s string) string {
	t.Helper()
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		t.Fatalf("header %q: %v", s, err)
	}
	return d
}
