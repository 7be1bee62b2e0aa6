package mail

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestMessageID(t *testing.T) {
	t.Parallel()
	wellFormed := regexp.MustCompile(`^<[0-9a-f]{32}@localhost>$`)

	a := MessageID("localhost", "sub_1", "owner@example.com", "notification")
	if a != MessageID("localhost", "sub_1", "owner@example.com", "notification") {
		t.Error("equal parts gave different ids")
	}
	if !wellFormed.MatchString(a) || !validMessageID(a) {
		t.Errorf("MessageID = %q, not <32 hex@localhost>", a)
	}

	seen := map[string][]string{}
	for _, parts := range [][]string{
		{"sub_1", "owner@example.com", "notification"},
		{"sub_2", "owner@example.com", "notification"},
		{"sub_1", "other@example.com", "notification"},
		{"sub_1", "owner@example.com", "autoresponse"},
		{"ab", "c"},
		{"a", "bc"},
		{"abc"},
		{"abc", ""},
		{},
	} {
		id := MessageID("localhost", parts...)
		if other, ok := seen[id]; ok {
			t.Errorf("parts %q and %q gave the same id %s", parts, other, id)
		}
		seen[id] = parts
	}
}

func TestMessageIDHost(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"intake.example.com":      "intake.example.com",
		"Intake.Example.COM":      "intake.example.com",
		"intake.example.com:8080": "intake.example.com",
		"localhost:8080":          "localhost",
		"":                        "localhost",
		"bad host":                "localhost",
		"évian.example":           "localhost",
		"a..b":                    "localhost",
		"127.0.0.1:8080":          "[127.0.0.1]",
		"[::1]:8080":              "[::1]",
		"::1":                     "[::1]",
		"example.com.":            "example.com",
		"x>\r\nBcc: y@z":          "localhost",
	}
	for host, want := range tests {
		id := MessageID(host, "p")
		if !strings.HasSuffix(id, "@"+want+">") || !validMessageID(id) {
			t.Errorf("MessageID(%q) = %q, want host %q", host, id, want)
		}
	}
	if MessageID("localhost:8080", "p") != MessageID("localhost", "p") {
		t.Error("the port changed the id")
	}
}

func TestValidAddress(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"ada@example.org":                 true,
		"ada.lovelace+forms@example.org":  true,
		"no-reply@localhost":              true,
		"":                                false,
		"ada":                             false,
		"@example.org":                    false,
		"ada@":                            false,
		" ada@example.org":                false,
		"ada@example.org ":                false,
		"<ada@example.org>":               false,
		"Ada <ada@example.org>":           false,
		"ada@example.org, b@example.org":  false,
		"ada@example.org\r\nBcc: b@x.org": false,
		"ada@example.org\n":               false,
		"ada\r@example.org":               false,
		"ada@exa\x00mple.org":             false,
		"ada@example.org\u2028":           false,
		strings.Repeat("a", 250) + "@example.org": false,
	}
	for s, want := range tests {
		if got := ValidAddress(s); got != want {
			t.Errorf("ValidAddress(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestPermanentError(t *testing.T) {
	t.Parallel()
	inner := errors.New("550 5.1.1 no such mailbox")
	var err error = &PermanentError{Code: 550, Err: inner}
	wrapped := fmt.Errorf("worker: %w", err)
	var pe *PermanentError
	if !errors.As(wrapped, &pe) || pe.Code != 550 {
		t.Fatalf("errors.As = %v, %+v", errors.As(wrapped, &pe), pe)
	}
	if !errors.Is(wrapped, inner) {
		t.Error("PermanentError does not unwrap to its cause")
	}
	if !strings.Contains(err.Error(), "550 5.1.1 no such mailbox") {
		t.Errorf("Error() = %q", err)
	}
}

func TestBuildSanitisesSubject(t *testing.T) {
	t.Parallel()
	m := &Message{
		From:      "no-reply@localhost",
		To:        []string{"owner@example.com"},
		Subject:   "a\r\nBcc: evil@example.net",
		MessageID: "<x@localhost>",
	}
	if _, err := build(m); err != nil {
		t.Fatal(err)
	}
	if got := subjectLine(m.Subject); got != "a Bcc: evil@example.net" {
		t.Errorf("subjectLine = %q", got)
	}
}

func TestMailbox(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Ada@Example.com":        "ada@example.com",
		"ada+news@example.com":   "ada@example.com",
		"a.da@example.com":       "a.da@example.com", // dots matter outside Gmail
		"A.d.a+x@googlemail.com": "ada@gmail.com",
		"+ada@example.com":       "+ada@example.com", // a leading + is the name, not a tag
		"not an address":         "not an address",
	} {
		if got := Mailbox(in); got != want {
			t.Errorf("Mailbox(%q) = %q, want %q", in, got, want)
		}
	}
}
