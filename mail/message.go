package mail

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// maxSubject is the length, in characters, a subject is cut to.
const maxSubject = 200

// maxAddress is the longest address ValidAddress accepts (RFC 5321's path limit
// minus the angle brackets).
const maxAddress = 254

// Message is one email, ready to send.
type Message struct {
	From      string            // e.g. "Intake <no-reply@localhost>"
	To        []string          // at least one address
	Cc        []string          // may be empty
	ReplyTo   string            // may be empty
	Subject   string            // one line; made so again when sent
	Text      string            // text/plain body
	HTML      string            // text/html body (multipart/alternative with Text)
	MessageID string            // "<...@host>", set by the caller, sent as the Message-ID header verbatim
	Headers   map[string]string // extra headers, e.g. "Auto-Submitted": "auto-replied"
	// Link is the one link an account email (verification, password
	// reset) exists to deliver; it is in the bodies already and is not sent
	// apart. Only the Outbox uses it: with no SMTP server the log is the
	// one mailbox a person who cannot log in can read.
	Link string
	// Attachments are sent with the message, their bytes read as it is
	// written (never held whole); the caller bounds their total size.
	Attachments []Attachment
}

// Attachment is a file a message carries. Open is called each time the
// message is written (a retry writes it again).
type Attachment struct {
	Name        string // as the file was named; made safe to send
	ContentType string // believed only when it parses as a media type
	Open        func() (io.ReadCloser, error)
}

// Mailer sends a Message; an error is a *PermanentError when retrying cannot help.
type Mailer interface {
	Send(ctx context.Context, m *Message) error
}

// PermanentError is a refusal that retrying cannot fix (an SMTP 5xx reply to the
// message, a malformed address); Code is the SMTP reply code, 0 if none.
type PermanentError struct {
	Code int
	Err  error
}

// Error returns the reason, which includes the server's reply when there was one.
func (e *PermanentError) Error() string {
	return "mail: rejected permanently: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// permanent returns a *PermanentError without a reply code.
func permanent(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// ValidAddress reports whether s is one plain email address (net/mail), such as
// "ada@example.com": no display name, no angle brackets, no surrounding space,
// no CR, LF or other control character, at most 254 bytes.
func ValidAddress(s string) bool {
	if s == "" || len(s) > maxAddress || strings.IndexFunc(s, isBreak) >= 0 {
		return false
	}
	a, err := netmail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// Mailbox is the mailbox addr delivers to, as far as limits need to know:
// lower-cased, without a "+tag" in the local part (most providers deliver
// ada+1@ and ada+2@ to ada@), and for Gmail without dots, which it
// ignores, and googlemail.com as gmail.com. Two addresses with one
// Mailbox share a limit; the email still goes to addr as written.
func Mailbox(addr string) string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], addr[at+1:]
	if plus := strings.IndexByte(local, '+'); plus > 0 {
		local = local[:plus]
	}
	if domain == "googlemail.com" {
		domain = "gmail.com"
	}
	if domain == "gmail.com" {
		local = strings.ReplaceAll(local, ".", "")
	}
	return local + "@" + domain
}

// MessageID returns a stable Message-ID "<hex@host>" derived from parts (for
// instance submission id, recipient, kind): the same parts always give the same
// id, so a resend after a crash is recognisable as the same message.
//
// host is the host of INTAKE_BASE_URL; a port is dropped, and a host that cannot
// appear in a Message-ID (empty, or not plain ASCII letters, digits, dots and
// hyphens, or an IP address) becomes "localhost" or a bracketed literal.
func MessageID(host string, parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		// Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	sum := h.Sum(nil)
	return "<" + hex.EncodeToString(sum[:16]) + "@" + messageIDHost(host) + ">"
}

// messageIDHost turns host into a valid id-right of RFC 5322's msg-id.
func messageIDHost(host string) string {
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(host); ip != nil {
		return "[" + ip.String() + "]"
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return "localhost"
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return "localhost"
		}
	}
	return host
}

// isBreak reports whether r would break a header onto another line or hide in it.
func isBreak(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// oneLine makes s one line: every CR, LF and other control character becomes a
// space, runs of spaces become one, and the ends are trimmed.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || isBreak(r)
	}), " ")
}

// subjectLine makes s a subject: one line, at most maxSubject characters.
func subjectLine(s string) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) <= maxSubject {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxSubject-1])) + "…"
}

// reservedHeaders are the headers Message sets from its own fields, or that
// describe the MIME structure; Headers may not set them.
var reservedHeaders = map[string]bool{
	"From": true, "Sender": true, "To": true, "Cc": true, "Bcc": true, "Reply-To": true,
	"Subject": true, "Message-Id": true, "Date": true, "Return-Path": true,
	"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true,
}

// validHeaderName reports whether name is an RFC 5322 field name.
func validHeaderName(name string) bool {
	if name == "" || len(name) > 76 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// validMessageID reports whether id looks like "<left@right>" on one line.
func validMessageID(id string) bool {
	if len(id) < 5 || id[0] != '<' || id[len(id)-1] != '>' {
		return false
	}
	inner := id[1 : len(id)-1]
	at := strings.IndexByte(inner, '@')
	if at <= 0 || at == len(inner)-1 {
		return false
	}
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// parseAddress parses one address header value (a display name is allowed),
// refusing control characters net/mail would otherwise pass through.
func parseAddress(what, s string) (*netmail.Address, error) {
	if strings.IndexFunc(s, isBreak) >= 0 {
		return nil, permanent("%s address contains a line break or control character", what)
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, permanent("%s address %q: %w", what, s, err)
	}
	return a, nil
}

// build turns m into a go-mail message, checking every address; what cannot be
// sent is a *PermanentError.
func build(m *Message) (*gomail.Msg, error) {
	if m == nil {
		return nil, permanent("no message")
	}
	if !validMessageID(m.MessageID) {
		return nil, permanent("Message-ID %q is not of the form <id@host>", m.MessageID)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())

	from, err := parseAddress("From", m.From)
	if err != nil {
		return nil, err
	}
	msg.FromMailAddress(from)

	if len(m.To) == 0 {
		return nil, permanent("no recipient")
	}
	var to, cc []*netmail.Address
	for _, s := range m.To {
		a, err := parseAddress("To", s)
		if err != nil {
			return nil, err
		}
		to = append(to, a)
	}
	msg.ToMailAddress(to...)
	for _, s := range m.Cc {
		a, err := parseAddress("Cc", s)
		if err != nil {
			return nil, err
		}
		cc = append(cc, a)
	}
	if len(cc) > 0 {
		msg.CcMailAddress(cc...)
	}
	if m.ReplyTo != "" {
		a, err := parseAddress("Reply-To", m.ReplyTo)
		if err != nil {
			return nil, err
		}
		msg.ReplyToMailAddress(a)
	}

	msg.Subject(subjectLine(m.Subject))
	msg.SetGenHeader(gomail.HeaderMessageID, m.MessageID)
	for name, value := range m.Headers {
		if !validHeaderName(name) {
			return nil, permanent("header name %q is not valid", name)
		}
		if reservedHeaders[textproto.CanonicalMIMEHeaderKey(name)] {
			return nil, permanent("header %q is set from the Message's fields, not Headers", name)
		}
		msg.SetGenHeader(gomail.Header(name), oneLine(value))
	}

	switch {
	case m.HTML == "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	case m.Text == "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	if len(m.Attachments) > 0 {
		files := attachmentFS(m.Attachments)
		for i, a := range m.Attachments {
			ct := "application/octet-stream"
			if mt, _, err := mime.ParseMediaType(a.ContentType); err == nil && strings.Count(mt, "/") == 1 {
				ct = mt
			}
			name := strings.Map(func(r rune) rune {
				if r < ' ' || r == 0x7f || r == '/' || r == '\\' || r == '"' {
					return -1
				}
				return r
			}, a.Name)
			if strings.TrimSpace(name) == "" {
				name = "file"
			}
			if err := msg.AttachFromIOFS(strconv.Itoa(i), files, gomail.WithFileName(name), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
				return nil, fmt.Errorf("mail: attach %q: %w", name, err)
			}
		}
	}
	return msg, nil
}

// attachmentFS serves a message's attachments to go-mail by index, which
// opens one when it writes it: the bytes stream from their store into
// the SMTP connection.
type attachmentFS []Attachment

func (a attachmentFS) Open(name string) (fs.File, error) {
	i, err := strconv.Atoi(name)
	if err != nil || i < 0 || i >= len(a) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	rc, err := a[i].Open()
	if err != nil {
		return nil, err
	}
	return attachmentFile{rc, name}, nil
}

type attachmentFile struct {
	io.ReadCloser
	name string
}

func (f attachmentFile) Stat() (fs.FileInfo, error) { return attachmentInfo(f.name), nil }

type attachmentInfo string

func (n attachmentInfo) Name() string     { return string(n) }
func (attachmentInfo) Size() int64        { return -1 }
func (attachmentInfo) Mode() fs.FileMode  { return 0o444 }
func (attachmentInfo) ModTime() time.Time { return time.Time{} }
func (attachmentInfo) IsDir() bool        { return false }
func (attachmentInfo) Sys() any           { return nil }
